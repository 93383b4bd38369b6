"""``dasim plot``: the figures of a design document, drawn from a run of a scenario or from
a saved run (``dasim run FILE --save RUN.json``), several in one call."""

from __future__ import annotations

import re
from typing import Any

import click

from sim.cli.common import (
    SCENARIO,
    SCHEDULER,
    SEED,
    SETS,
    WORKERS,
    atomic_write,
    check_figure,
    fleet,
    run_fleet,
)
from sim.errors import InputError
from sim.fleet.prepare import prepare
from sim.report.saved import RERUN, is_saved_run, load_saved, set_note

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


def parse_size(text: str | None) -> tuple[float, float] | None:
    """``--size 8x4.5``: width and height in inches."""
    if text is None:
        return None
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[x×]\s*(\d+(?:\.\d+)?)\s*", text)
    if not found or not all(0.5 <= float(v) <= 100 for v in found.groups()):
        raise InputError(f"--size {text}: expected WIDTHxHEIGHT in inches, each from 0.5 "
                         "to 100 (--size 8x4.5)")
    return float(found.group(1)), float(found.group(2))


def plan(kinds: tuple[str, ...], outs: tuple[str, ...],
         known: tuple[str, ...] = PLOT_KINDS) -> list[tuple[str, str]]:
    """Each figure to draw, ``(kind, file)``: kinds and files in pairs, or one file with
    ``{kind}`` in its name for them all. Every file is checked before anything runs."""
    kinds = tuple(dict.fromkeys(k for option in kinds for k in option.split(",") if k))
    for kind in kinds:
        if kind not in known:
            raise InputError(f"--kind {kind}: expected one of {', '.join(known)}")
    kinds = kinds or known[:1]
    if len(outs) == 1 and "{kind}" in outs[0]:
        pairs = [(k, outs[0].replace("{kind}", k)) for k in kinds]
    elif len(outs) == len(kinds):
        pairs = list(zip(kinds, outs, strict=True))
    else:
        raise InputError(f"{len(kinds)} --kind for {len(outs)} --out: give one --out per "
                         "kind, in the same order, or one with {kind} in its name")
    for _kind, out in pairs:
        check_figure(out, "--out")
    return pairs


@click.command()
@SCENARIO
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help=f"{'|'.join(PLOT_KINDS)} (default timeline); repeatable, or several "
                   "separated by commas: one run draws them all.")
@click.option("--out", "outs", required=True, multiple=True,
              type=click.Path(dir_okay=False, path_type=str),
              help="The figure's file (.png, .svg or .pdf): one per --kind, or one with "
                   "{kind} in its name (--out figs/{kind}.svg).")
@click.option("--title", default=None, help="The figure's title instead of its own.")
@click.option("--size", default=None, metavar="WxH", help="Width x height in inches (8x4.5).")
@click.option("--client", "client_name", default=None, help="For --kind sequence.")
@click.option("--packets", type=click.IntRange(min=1), default=60, show_default=True,
              help="For --kind sequence: how many of the laptop's packets it draws.")
@SEED
@SETS
@WORKERS
@SCHEDULER
def plot(scenario_file: str, kinds: tuple[str, ...], outs: tuple[str, ...],
         title: str | None, size: str | None, client_name: str | None, packets: int,
         seed: int | None,
         sets: tuple[str, ...], workers: int | None, scheduler: str | None) -> None:
    """Draw figures for a design document from a scenario (FILE.yaml: it runs once for all
    of them) or a saved run (RUN.json, from dasim run FILE --save: nothing runs)."""
    from sim.report import plots  # matplotlib: 1.1 s to import, only for a figure
    from sim.report.figstyle import Look

    pairs = plan(kinds, outs)
    dims = parse_size(size)
    wanted = {k for k, _ in pairs}
    if is_saved_run(scenario_file):
        if seed is not None or sets:
            raise InputError(f"{scenario_file}: a saved run is drawn as it was run; --seed "
                             "and --set belong to dasim run FILE --save")
        if "sequence" in wanted:
            raise InputError(f"{scenario_file}: --kind sequence: {RERUN}")
        saved = load_saved(scenario_file)
        result, series, events, note = saved.result, saved.series, saved.events, saved.note()
    else:
        runs = fleet(scenario_file, seed, sets)
        note = set_note(sets)
        result = series = events = None
        if wanted - {"sequence"}:
            result = run_fleet(runs.run, runs.shards, workers, scheduler,
                               series="connected" in wanted).as_dict()
            series = runs.series or []
            events = [(e.at, event_label(e)) for e in runs.scenario.events]
    look = Look(title, note, dims)
    for kind, out in pairs:
        if kind == "sequence":   # one laptop's packets: its shard is enough
            _sequence(prepare(runs, client_name, trace=True), client_name, out, look,
                      packets)
        else:
            _draw(plots, kind, result, series, events, out, look)
        click.echo(f"wrote {out}")


def _draw(plots: Any, kind: str, result: dict, series: list, events: list, out: str,
          look: Any) -> None:
    """One figure of a run's result (or its series, for ``connected``)."""
    try:
        _draw_kind(plots, kind, result, series, events, out, look)
    except ValueError as exc:   # matplotlib cannot lay the figure out in the size asked
        if look.size is None:
            raise
        w, h = look.size
        raise InputError(f"--size {w:g}x{h:g}: too small for the {kind} figure "
                         f"({exc}); try a larger size") from None


def _draw_kind(plots: Any, kind: str, result: dict, series: list, events: list, out: str,
               look: Any) -> None:
    if kind == "timeline":
        atomic_write(out, lambda tmp: plots.timeline(result, tmp, look=look))
    elif kind == "outcomes":
        atomic_write(out, lambda tmp: plots.outcome_by_network(result, tmp, look=look))
    elif kind == "ttc":
        atomic_write(out, lambda tmp: plots.ttc_cdf(result, tmp, look=look))
    else:
        atomic_write(out, lambda tmp: plots.connected_share(
            series, tmp, f"{result['scenario']}: clients reaching the intranet", events,
            look=look))


def _sequence(prepared, client_name: str | None, out: str, look: Any, packets: int) -> None:
    """The sequence diagram of one laptop (the first one by default): a lifeline for each
    device on its path, its packets followed across them."""
    from sim.report import sequence

    name = client_name or prepared.client_names[0]
    prepared.require(name)
    crossings = prepared.tap_path(name)
    result = prepared.run().as_dict()
    journeys, total, lanes, labels = sequence.laptop_sequence(prepared.view(), crossings,
                                                              name, packets)
    title = f"{result['scenario']}: {name}"
    if total > len(journeys):
        title += f" (its first {len(journeys)} of {total} packets)"
    atomic_write(out, lambda tmp: sequence.draw(journeys, lanes, labels, tmp, title, look))
