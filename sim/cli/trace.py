"""``dasim trace``: one probe from a laptop at a simulated time, device by device — each
device's verdict and translation, read from the packets that crossed it."""

from __future__ import annotations

import click

from sim.cli.common import SCENARIO, SEED, SETS, fleet
from sim.errors import InputError
from sim.fleet.prepare import prepare
from sim.report.hoptrace import render
from sim.scenario import parse_duration
from sim.scenario.probe import PROBE_HELP, ProbeKind


@click.command()
@SCENARIO
@click.option("--client", "client_name", required=True, help="The laptop that sends it.")
@click.option("--at", "at_s", required=True, help="Simulated time (seconds or 5m).")
@click.option("--to", "to", required=True,
              help="Where to: an address, a device (da-server) or a DNS name "
                   "(da.contoso.com).")
@click.option("--probe", "probe", default="tcp/443", show_default=True,
              help=f"What is sent: {PROBE_HELP}.")
@SEED
@SETS
def trace(scenario_file: str, client_name: str, at_s: str, to: str, probe: str,
          seed: int | None, sets: tuple[str, ...]) -> None:
    """The hop-by-hop path of one probe sent by a laptop at a simulated time, and of its
    answer: each device it crossed, and what that device did (routed, passed its firewall,
    translated by its NAT, dropped and why).

    dasim trace FILE --client laptop --at 30 --to da.contoso.com --probe udp/3544
    """
    kind = ProbeKind.parse(probe)
    try:
        at = parse_duration(at_s)
    except ValueError as exc:
        raise InputError(f"--at: {exc}") from None
    prepared = prepare(fleet(scenario_file, seed, sets), client_name)
    prepared.require(client_name)
    recording = prepared.probe(client_name, at, to, kind)
    prepared.run()
    click.echo(render(recording, prepared.view(), client_name, to), nl=False)
