"""``dasim plot``: the figures of a design document, drawn from a run."""

from __future__ import annotations

import click

from sim.cli.common import (
    SCENARIO,
    SCHEDULER,
    SEED,
    SETS,
    WORKERS,
    atomic_write,
    check_writable,
    fleet,
    run_fleet,
)
from sim.errors import InputError
from sim.fleet.prepare import prepare
from sim.report.capture import sequence_hops

PLOT_KINDS = ("timeline", "sequence", "outcomes", "ttc", "connected")


def event_label(event) -> str:
    """A scenario event as a figure marks it: "roam 15 % to corp for 8 h"."""
    text = event.action.replace("_", " ")
    if event.share is not None:
        text += f" {event.share:.0%}"
    if event.action == "roam":
        text += f" to {event.network}"
    if event.back_after is not None:
        text += f" for {event.back_after / 3600:g} h"
    return text


@click.command()
@SCENARIO
@click.option("--kind", type=click.Choice(PLOT_KINDS), default="timeline", show_default=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=str))
@click.option("--client", "client_name", default=None, help="For --kind sequence.")
@SEED
@SETS
@WORKERS
@SCHEDULER
def plot(scenario_file: str, kind: str, out: str, client_name: str | None,
         seed: int | None, sets: tuple[str, ...], workers: int | None,
         scheduler: str | None) -> None:
    """Draw a figure for a design document (PNG or SVG by the file's suffix)."""
    from sim.report import plots  # matplotlib: 1.1 s to import, only for a figure

    check_writable(out, "--out")
    if not out.lower().endswith((".png", ".svg")):
        raise InputError(f"--out {out}: the file must end in .png or .svg")
    runs = fleet(scenario_file, seed, sets)
    if kind == "sequence":   # one laptop's packets: its shard is enough
        _sequence(prepare(runs, client_name, trace=True), client_name, out)
        click.echo(f"wrote {out}")
        return
    result = run_fleet(runs.run, runs.shards, workers, scheduler,
                       series=kind == "connected").as_dict()
    if kind == "timeline":
        atomic_write(out, lambda tmp: plots.timeline(result, tmp))
    elif kind == "outcomes":
        atomic_write(out, lambda tmp: plots.outcome_by_network(result, tmp))
    elif kind == "ttc":
        atomic_write(out, lambda tmp: plots.ttc_cdf(result, tmp))
    else:
        events = [(e.at, event_label(e)) for e in runs.scenario.events]
        atomic_write(out, lambda tmp: plots.connected_share(
            runs.series or [], tmp, f"{result['scenario']}: clients reaching the intranet",
            events))
    click.echo(f"wrote {out}")


def _sequence(prepared, client_name: str | None, out: str) -> None:
    """The sequence diagram of one laptop (the first one by default)."""
    from sim.report import plots

    name = client_name or prepared.client_names[0]
    records = prepared.capture(f"client:{name}")
    result = prepared.run().as_dict()
    hops, total = sequence_hops(prepared.view(), name, records)
    title = f"{result['scenario']}: {name}"
    if total > len(hops):
        title += f" (its first {len(hops)} of {total} packets)"
    atomic_write(out, lambda tmp: plots.sequence(hops, tmp, title))
