"""``dasim netsh``: what netsh would show on a client at a simulated time."""

from __future__ import annotations

import click

from sim.cli.common import SCENARIO, SEED, SETS, fleet
from sim.errors import InputError
from sim.fleet.prepare import prepare
from sim.report import netsh as text
from sim.scenario import parse_duration


@click.command(context_settings={"ignore_unknown_options": True})
@SCENARIO
@click.option("--client", "client_name", required=True, help="The client to look at.")
@click.option("--at", "at_s", type=str, default=None,
              help="Simulated time (seconds or 5m); default: the end of the run.")
@SEED
@SETS
@click.argument("words", nargs=-1, required=True)
def netsh(scenario_file: str, client_name: str, at_s: str | None, seed: int | None,
          sets: tuple[str, ...], words: tuple[str, ...]) -> None:
    """Print what netsh would show on a client at a simulated time, e.g.

    dasim netsh FILE --client laptop --at 120 interface httpstunnel show interfaces

    \b
    Commands (words may be abbreviated, as netsh allows):
      interface httpstunnel show interfaces   (KB 2980667: interface http show interface)
      interface teredo show state
      interface 6to4 show state
      advfirewall monitor show mmsa           (IPsec main mode SAs, with server.ipsec)
      advfirewall monitor show qmsa           (IPsec quick mode SAs)
      namespace show policy | effectivepolicy (the NRPT, with server.nrpt)
      dnsclient show state                    (Machine Location: inside or outside)
      winhttp show proxy                      (the static WinHTTP proxy, clients[].proxy)
    """
    text.command(words)   # a command netsh does not have is said before anything runs
    try:
        at = parse_duration(at_s) if at_s is not None else None
    except ValueError as exc:
        raise InputError(f"--at: {exc}") from None
    prepared = prepare(fleet(scenario_file, seed, sets), client_name)
    prepared.require(client_name)
    if at is not None and at > prepared.duration:
        raise InputError(f"--at {at_s}: after the run's end ({prepared.duration:g} s)")
    prepared.run()
    click.echo(text.show(prepared.view(), client_name, at, words), nl=False)
