"""dasim: a discrete-event simulator of how Windows DirectAccess clients reach their server.

The public API for notebooks and scripts::

    from sim import simulate
    sim = simulate("scenarios/kb2980667-untrusted-root.yaml")
    result = sim.run()            # RunResult; result.as_dict() is the dasim.result/1 JSON

A fleet bigger than its ``shard_size`` comes back as a :class:`sim.fleet.shards.Fleet`, whose
``run(workers=N)`` runs the shards side by side and returns the same ``RunResult``; its
``simulation(client)`` is the live shard of one laptop.

Heavy modules load only when used, so ``import sim`` stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.fleet.shards import Fleet
    from sim.scenario.build import Simulation

__all__ = ["simulate"]


def simulate(scenario: str | Path | Any, seed: int | None = None,
             overrides: dict[str, Any] | None = None,
             trace: bool = False) -> Simulation | Fleet:
    """A ready-to-run simulation of a scenario file (or an already loaded Scenario): one
    :class:`Simulation`, or a :class:`Fleet` of shards when the fleet needs more than one."""
    from sim.fleet.shards import Fleet
    from sim.scenario import load_scenario

    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario, overrides)
    fleet = Fleet(scenario, seed=seed)
    return fleet.simulation(trace=trace) if fleet.shards == 1 else fleet
