"""What the commands share: the scenario, seed, ``--set`` and executor options, loading a
fleet, running it, and writing files whole or not at all."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any

import click

from sim.errors import InputError
from sim.fleet.shards import Fleet
from sim.fleet.sweep import dask_executor, parse_set
from sim.pki.errors import PkiInputError
from sim.report.saved import is_saved_run, rerun_message
from sim.scenario import load_scenario

# the errors that are the input's fault: one message, exit status 2
INPUT_ERRORS: tuple[type[BaseException], ...] = (InputError, PkiInputError)

SCENARIO = click.argument("scenario_file", metavar="FILE",
                          type=click.Path(dir_okay=False, path_type=str))
SEED = click.option("--seed", type=int, default=None, help="Override the scenario's seed.")
SETS = click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
                    help="Change one value of the scenario: a dotted path, list items by "
                         "index (clients.0.count=20000). Repeatable.")
WORKERS = click.option("--workers", type=click.IntRange(min=1), default=None,
                       help="Processes for a fleet's shards (default: one per core).")
SCHEDULER = click.option("--scheduler", default=None,
                         help="Run a fleet's shards on a Dask cluster (tcp://HOST:8786).")
POINT_HELP = ("client:NAME (default the first client); nat:NETWORK, the edge's outside, after "
              "translation (or a site: nat:home#2, nat:shard3/home#2), nat:NETWORK:inside its "
              "LAN side (firewall:NETWORK[:SIDE] and edge:NETWORK[:SIDE] name the same "
              "gateway); proxy:NETWORK; or server.")


def overrides(sets: tuple[str, ...]) -> dict[str, object]:
    """``--set`` options as scenario overrides: one value each (a sweep takes several)."""
    out = {}
    for option in sets:
        path, values = parse_set(option)
        if len(values) != 1:
            raise InputError(f"--set {option}: one value here; dasim sweep runs several "
                             "(or write a list in brackets: [a, b])")
        out[path] = values[0]
    return out


def fleet(path: str, seed: int | None, sets: tuple[str, ...] = ()) -> Fleet:
    """The scenario's fleet (one shard, or several), with a note for each event that a
    shortened run leaves out."""
    if is_saved_run(path):
        raise InputError(rerun_message(path))
    scenario = load_scenario(path, overrides(sets) or None)
    for i, event in enumerate(scenario.events):
        if event.at >= scenario.duration:
            click.echo(f"dasim: note: {path}: events.{i} ({event.action} at {event.at:g} s) "
                       f"comes after the run's end ({scenario.duration:g} s): it does not "
                       "happen", err=True)
    return Fleet(scenario, seed=seed)


def shard_bar(total: int) -> Any:
    """A progress bar over a fleet's shards (shown only on a terminal)."""
    from tqdm import tqdm  # 20-40 ms: loaded only when a fleet has shards to count

    return tqdm(total=total, unit="shard", desc="fleet", file=sys.stderr, disable=None,
                leave=False)


def run_fleet(runner: Callable[..., Any], shards: int, workers: int | None,
              scheduler: str | None, **kwargs: Any) -> Any:
    """``runner(**options)``'s result (``Fleet.run`` or ``PreparedRun.run_fleet``), its
    shards on a local pool or on the Dask cluster named."""
    if scheduler is None or shards == 1:
        return runner(workers=workers, progress=shard_bar, **kwargs)
    executor, client = dask_executor(scheduler)
    try:
        return runner(executor=executor, progress=shard_bar, **kwargs)
    finally:
        executor.shutdown()
        client.close()


def atomic_write(path: str, writer: Callable[[str], Any]) -> None:
    """Write through a temporary file so that a failure leaves nothing half-written."""
    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=suffix, prefix=".dasim-")
    os.close(fd)
    # mkstemp makes the file private (0600); the result gets the mode any new file would
    # (or the one it replaces keeps its own)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    with contextlib.suppress(OSError):   # a file system without modes: still written
        os.chmod(tmp, mode)
    try:
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


FIGURE_FORMATS = (".png", ".svg", ".pdf")


def check_figure(path: str | None, option: str) -> None:
    """A figure's file: writable, and in a format a figure is drawn in."""
    check_writable(path, option)
    if path is not None and not path.lower().endswith(FIGURE_FORMATS):
        raise InputError(f"{option} {path}: the file must end in .png, .svg or .pdf")


def check_writable(path: str | None, option: str) -> None:
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"{option} {path}: folder {folder} does not exist")
