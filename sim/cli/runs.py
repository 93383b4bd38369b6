"""``dasim run``, ``dasim list`` and ``dasim pcap``: a scenario run, its summary or JSON, what
a capture point saw, and the scenario library."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from sim.cli.common import (
    INPUT_ERRORS,
    POINT_HELP,
    SCENARIO,
    SCHEDULER,
    SEED,
    SETS,
    WORKERS,
    atomic_write,
    check_figure,
    check_writable,
    fleet,
    run_fleet,
)
from sim.errors import InputError
from sim.fleet.prepare import prepare
from sim.report.text import summary_table
from sim.scenario import load_scenario


@click.command()
@SCENARIO
@SEED
@SETS
@click.option("--json", "as_json", is_flag=True, help="Print the dasim.result/1 JSON.")
@click.option("--pcap", type=click.Path(dir_okay=False, path_type=str),
              help="Write the packets seen at --point to this pcap file.")
@click.option("--point", default=None, help="Capture point for --pcap: " + POINT_HELP)
@click.option("--plot", type=click.Path(dir_okay=False, path_type=str),
              help="Write a figure (PNG, SVG or PDF): the attempts timeline, or outcomes by "
                   "network for fleets.")
@click.option("--interfaces", is_flag=True, help="Include interface-state histories in JSON.")
@click.option("--all-clients", "all_clients", is_flag=True,
              help="List every client in the table (a fleet is summarised by network).")
@click.option("--save", type=click.Path(dir_okay=False, path_type=str),
              help="Keep the run for figures (RUN.json): dasim plot RUN.json --kind K "
                   "--out F draws from it without running again.")
@WORKERS
@SCHEDULER
def run(scenario_file: str, seed: int | None, sets: tuple[str, ...], as_json: bool,
        pcap: str | None, point: str | None, plot: str | None, interfaces: bool,
        all_clients: bool, save: str | None, workers: int | None,
        scheduler: str | None) -> None:
    """Run a scenario and report how each client connected (exit 0 whatever the outcome).
    A fleet bigger than its shard_size runs as shards on WORKERS processes."""
    check_writable(pcap, "--pcap")
    check_figure(plot, "--plot")
    check_writable(save, "--save")
    if save is not None and not save.lower().endswith(".json"):
        raise InputError(f"--save {save}: a saved run is JSON; name it RUN.json")
    runs = fleet(scenario_file, seed, sets)
    prepared = prepare(runs, point=point)
    records = prepared.capture(point) if pcap else None
    result = run_fleet(prepared.run_fleet, prepared.shards, workers, scheduler,
                       series=save is not None).as_dict(with_interfaces=interfaces)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        limit = len(result["clients"]) if all_clients else None
        click.echo(summary_table(result, limit), nl=False)
    if pcap:
        _write_pcap(pcap, records, prepared.start)
        if not as_json:
            click.echo(f"wrote {len(records)} packets to {pcap}")
    if save:
        _save_run(save, result, runs, scenario_file, sets)
        if not as_json:
            click.echo(f"wrote {save}: dasim plot {save} --kind K --out F draws from it")
    if plot:
        from sim.report import plots  # matplotlib: only for a figure

        draw = plots.outcome_by_network if len(result["clients"]) > 12 else plots.timeline
        atomic_write(plot, lambda tmp: draw(result, tmp))
        if not as_json:
            click.echo(f"wrote {plot}")


def _save_run(path: str, result: dict, runs, scenario_file: str,
              sets: tuple[str, ...]) -> None:
    """Write the saved run (result, series, events) whole or not at all."""
    from sim.cli.figures import event_label
    from sim.report.saved import saved_run, write_saved

    events = [(e.at, event_label(e)) for e in runs.scenario.events]
    saved = saved_run(result, runs.series, events, scenario_file, sets)
    atomic_write(path, lambda tmp: write_saved(tmp, saved))


def _write_pcap(path: str, records: list, start: dt.datetime) -> None:
    from sim.report.pcap import write_pcap  # scapy: 1.4 s to import, only for a pcap

    atomic_write(path, lambda tmp: write_pcap(tmp, records, start))


@click.command("list")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=str))
def list_scenarios(folder: str | None) -> None:
    """The scenario library, one line each; a file that does not load is listed with its
    error, and the exit status is 2 (a folder of exercises is still listed whole)."""
    base = Path(folder) if folder else Path("scenarios")
    if not base.is_dir():
        raise InputError(f"{base}: no scenario folder here (give one: dasim list FOLDER)")
    files = sorted(base.glob("*.yaml"))
    width = max((len(f.stem) for f in files), default=10)
    broken = 0
    for f in files:
        try:
            description = load_scenario(f).description
        except INPUT_ERRORS as exc:
            broken += 1
            description = f"(does not load: {exc})"
        click.echo(f"{f.stem:<{width}}  {description}")
    if broken:
        raise InputError(f"{base}: {broken} of {len(files)} scenario files do not load")


@click.command()
@SCENARIO
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=str))
@click.option("--point", default=None, help=POINT_HELP)
@SEED
@SETS
def pcap(scenario_file: str, out: str, point: str | None, seed: int | None,
         sets: tuple[str, ...]) -> None:
    """Write the packets a capture point saw to a pcap file that Wireshark opens."""
    check_writable(out, "--out")
    prepared = prepare(fleet(scenario_file, seed, sets), point=point)
    records = prepared.capture(point)
    prepared.run()
    _write_pcap(out, records, prepared.start)
    click.echo(f"wrote {len(records)} packets to {out}")
