"""Group Policy "Set Teredo Refresh Rate" (F2.1): a refresh interval longer than the NAT's UDP
timeout lets the mapping expire between refreshes, and traffic through the tunnel is lost
(here with a NAT that picks a random port for each new mapping)."""

from pathlib import Path

from sim.scenario import load_scenario
from sim.scenario.build import Simulation

HOME = Path(__file__).resolve().parents[2] / "scenarios" / "home-nat.yaml"


def checks(refresh: str) -> dict:
    sim = Simulation(load_scenario(HOME, {
        "duration": 1200, "clients.0.teredo_refresh": refresh,
        "clients.0.connectivity_probe": "90s", "networks.home.nat.udp_timeout": 60,
        "networks.home.nat.port_allocation": "random"}))
    client = sim.run().as_dict()["clients"][0]
    assert client["method"] == "teredo"
    return client["probes"]


def test_a_refresh_within_the_nat_timeout_keeps_every_check():
    assert checks("30s")["unanswered"] == 0


def test_a_refresh_longer_than_the_nat_timeout_loses_checks():
    lost = checks("200s")
    assert lost["unanswered"] > lost["answered"] > 0
