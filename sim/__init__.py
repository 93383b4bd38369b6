"""dasim: a discrete-event simulator of how Windows DirectAccess clients reach their server.

The public API for notebooks and scripts::

    from sim import simulate
    sim = simulate("scenarios/kb2980667-untrusted-root.yaml")
    result = sim.run()            # RunResult; result.as_dict() is the dasim.result/1 JSON

A fleet bigger than its ``shard_size`` comes back as a :class:`sim.fleet.shards.Fleet`, whose
``run(workers=N)`` runs the shards side by side and returns the same ``RunResult``; its
``simulation(client)`` is the live shard of one laptop.

To read what happened, prepare the run and read its view (``sim.scenario.view``)::

    from sim import prepare
    run = prepare("scenarios/kb2980667-untrusted-root.yaml")
    run.run()
    laptop = run.view().client("laptop")   # its timeline, what netsh shows, its addresses

A sweep (``dasim sweep``) from a notebook::

    from sim import sweep
    df = sweep("scenarios/home-nat.yaml", {"networks.home.nat.udp_timeout": [20, 120]},
               replications=5)   # one row per client per run (pandas)

What netsh shows, the story ``dasim explain`` tells, and figures drawn inline in a notebook
(each kind of ``dasim plot``; ``.save(path)`` writes the SVG)::

    from sim import draw, explain, netsh
    print(netsh(run.view(), "laptop", "interface httpstunnel show interfaces", at=300))
    print(explain(run.view(), "laptop"))
    draw("timeline", result)         # shown inline by Jupyter

A fleet of shards even when it has one (for its series over time), and an exercise::

    from sim import exercise, fleet
    rollout = fleet("scenarios/fleet-rollout.yaml", overrides={"clients.0.count": 40})
    rollout.run(workers=2, series=True); rollout.series
    lesson = exercise("exercises/kb2980667-root.yaml")
    print(lesson.symptoms()); lesson.attempt("import_root contoso-root").kind   # 'remedy'

Heavy modules load only when used, so ``import sim`` stays cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.exercise.session import Session
    from sim.fleet.shards import Fleet
    from sim.report.inline import Svg
    from sim.scenario.build import Simulation
    from sim.scenario.view import PreparedRun

__all__ = ["draw", "exercise", "explain", "fleet", "netsh", "prepare", "simulate", "sweep"]


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


def prepare(scenario: str | Path | Any, client: str | None = None, *, trace: bool = False,
            seed: int | None = None, overrides: dict[str, Any] | None = None) -> PreparedRun:
    """The run of a scenario file (or a loaded Scenario, or a Fleet) that carries ``client``
    (for a fleet in shards, that laptop's shard), ready to capture and run; its ``view()`` is
    what the report reads. ``trace``: keep the trace (for stories)."""
    from sim.fleet.prepare import prepare as prepare_run

    return prepare_run(scenario, client, trace=trace, seed=seed, overrides=overrides)


def sweep(scenario: str | Path, sets: dict[str, list[Any]], replications: int = 1,
          seed: int = 1, workers: int | None = None, executor: Any = None) -> Any:
    """The table (pandas) of a parameter sweep: every combination of ``sets`` (a dotted
    path into the scenario → its values) × ``replications``, each run with its own seed
    from ``seed``, on a local process pool (``workers``) or any ``concurrent.futures``
    executor (a Dask client's ``get_executor()``). The same table as ``dasim sweep``."""
    from sim.fleet.sweep import sweep as run

    return run(scenario, sets, replications, seed, workers, executor)


def fleet(scenario: str | Path | Any, seed: int | None = None,
          overrides: dict[str, Any] | None = None) -> Fleet:
    """The scenario as a :class:`Fleet` of shards, even of one: ``run(workers=N,
    series=True)`` also keeps the shares over time in ``series`` (for ``draw("connected")``),
    and ``scenario`` is the loaded scenario (its events)."""
    from sim.fleet.shards import Fleet
    from sim.scenario import load_scenario

    if isinstance(scenario, str | Path):
        scenario = load_scenario(scenario, overrides)
    return Fleet(scenario, seed=seed)


def netsh(view: Any, client: str, command: str, at: float | None = None) -> str:
    """What ``netsh COMMAND`` prints on ``client`` of a finished run's view at simulated time
    ``at`` (default: the end): ``interface httpstunnel show interfaces``, ``interface teredo
    show state``, ``interface 6to4 show state``."""
    from sim.report.netsh import show

    return show(view, client, at, tuple(command.split()))


def explain(view: Any, client: str | None = None) -> str:
    """The story ``dasim explain`` tells of a run's view (prepared with ``trace=True`` to
    name the devices that dropped packets)."""
    from sim.report.stories import explain as stories

    return stories(view, client)


def draw(kind: str, data: Any, **options: Any) -> Svg:
    """A figure as SVG, shown inline by Jupyter: ``timeline``, ``outcomes``, ``ttc`` of a
    result dict; ``connected`` of a fleet's series; ``sweep`` of a sweep's table
    (``params=[...]``)."""
    from sim.report.inline import draw as figure

    return figure(kind, data, **options)


def exercise(path: str | Path) -> Session:
    """A break/fix exercise: ``symptoms()``, ``hint(n)``, ``attempt(events, values)`` (the
    checker's verdict), ``solution()``, ``page(trainer)``."""
    from sim.exercise.session import Session

    return Session(path)
