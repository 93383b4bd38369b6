"""dasim: a discrete-event simulator of how Windows DirectAccess clients reach their server.

The public API for notebooks and scripts::

    from sim import simulate
    sim = simulate("scenarios/kb2980667-untrusted-root.yaml")
    result = sim.run()            # RunResult; result.as_dict() is the dasim.result/1 JSON

Heavy modules load only when used, so ``import sim`` stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.scenario.build import Simulation

__all__ = ["simulate"]


def simulate(scenario: str | Path | Any, seed: int | None = None,
             overrides: dict[str, Any] | None = None, trace: bool = False) -> Simulation:
    """A ready-to-run simulation of a scenario file (or an already loaded Scenario)."""
    from sim.scenario import load_scenario
    from sim.scenario.build import Simulation

    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario, overrides)
    return Simulation(scenario, seed=seed, trace=trace)
