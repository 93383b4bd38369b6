from pathlib import Path

import pytest

from sim.scenario import load_scenario, parse_scenario
from sim.scenario.build import Simulation

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def run_file(name: str, **kw):
    sim = Simulation(load_scenario(SCENARIOS / f"{name}.yaml"), **kw)
    return sim, sim.run().as_dict()


def run_text(text: str, **kw):
    sim = Simulation(parse_scenario(text, "test.yaml", base_dir=ROOT), **kw)
    return sim, sim.run().as_dict()


def by_name(result: dict) -> dict:
    return {c["name"]: c for c in result["clients"]}


@pytest.fixture
def library():
    return run_file
