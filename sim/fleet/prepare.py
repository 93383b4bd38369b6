"""The way in to a finished run for report/, the command line and notebooks: the shard of a
scenario (or fleet) that carries a laptop or a capture point, ready to run and then read
through :mod:`sim.scenario.view`. It lives above the fleet, which it builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.scenario.capture import point_client, point_shard
from sim.scenario.view import PreparedRun


def prepare(source: Any, client: str | None = None, *, trace: bool = False,
            shard: int | None = None, point: str | None = None, seed: int | None = None,
            overrides: dict[str, Any] | None = None) -> PreparedRun:
    """The run of ``source`` (a scenario file, a loaded Scenario or a :class:`Fleet`) that
    carries ``client``, or shard number ``shard`` (default the first); ``point``, a capture
    point, chooses both as the point needs. ``trace``: record the trace (for stories and
    the sequence diagram's drops)."""
    # loaded on first use, so that the commands that need no run (check-cert, list, --help)
    # start without the simulator
    from sim.fleet.shards import Fleet
    from sim.scenario import load_scenario

    if isinstance(source, str | Path):
        source = load_scenario(source, overrides)
    fleet = source if isinstance(source, Fleet) else Fleet(source, seed=seed)
    if point is not None:
        client = client or point_client(point)
        shard = point_shard(point) if shard is None else shard
    return PreparedRun(fleet.simulation(client, trace, shard), fleet)
