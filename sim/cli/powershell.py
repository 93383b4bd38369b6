"""``dasim powershell``: what a PowerShell cmdlet would show on a client at a simulated
time (Get-DAConnectionStatus, A14; Get-NetIPsecMainModeSA / QuickModeSA as netsh's
``show mmsa`` / ``show qmsa``, A13; Get-NetIPHttpsState, as the exercises show it)."""

from __future__ import annotations

import click

from sim.cli.common import SCENARIO, SEED, SETS, fleet
from sim.errors import InputError
from sim.exercise.symptoms import ipHttps_state
from sim.fleet.prepare import prepare
from sim.report import ipsec as text
from sim.report.netsh import security_associations
from sim.scenario import parse_duration

CMDLETS = {"get-daconnectionstatus": "status", "get-netipsecmainmodesa": "mmsa",
           "get-netipsecquickmodesa": "qmsa", "get-netiphttpsstate": "iphttps"}
SHOWN = "Get-DAConnectionStatus, Get-NetIPsecMainModeSA, Get-NetIPsecQuickModeSA, " \
    "Get-NetIPHttpsState"


@click.command()
@SCENARIO
@click.option("--client", "client_name", required=True, help="The client to look at.")
@click.option("--at", "at_s", type=str, default=None,
              help="Simulated time (seconds or 5m); default: the end of the run.")
@SEED
@SETS
@click.argument("cmdlet")
def powershell(scenario_file: str, client_name: str, at_s: str | None, seed: int | None,
               sets: tuple[str, ...], cmdlet: str) -> None:
    """Print what a cmdlet would show on a client at a simulated time, e.g.

    dasim powershell FILE --client laptop --at 5m Get-DAConnectionStatus

    \b
    Cmdlets (the first three need server.ipsec):
      Get-DAConnectionStatus    Status and Substatus (Windows 8 and later)
      Get-NetIPsecMainModeSA    the main mode SAs (as netsh advfirewall monitor show mmsa)
      Get-NetIPsecQuickModeSA   the quick mode SAs (as ... show qmsa)
      Get-NetIPHttpsState       the IP-HTTPS interface's last error and status
    """
    which = CMDLETS.get(cmdlet.lower())
    if which is None:
        raise InputError(f"powershell: {cmdlet!r} is not a cmdlet this simulator shows; it "
                         f"shows {SHOWN}")
    try:
        at = parse_duration(at_s) if at_s is not None else None
    except ValueError as exc:
        raise InputError(f"--at: {exc}") from None
    prepared = prepare(fleet(scenario_file, seed, sets), client_name)
    prepared.require(client_name)
    if at is not None and at > prepared.duration:
        raise InputError(f"--at {at_s}: after the run's end ({prepared.duration:g} s)")
    prepared.run()
    view = prepared.view()
    laptop = view.client(client_name)
    t = view.duration if at is None else at
    if which == "iphttps":
        click.echo(ipHttps_state(view, client_name, t), nl=False)
        return
    if laptop.ipsec is None:
        raise InputError(f"{cmdlet}: the scenario does not model IPsec (give it server.ipsec)")
    if which != "status":
        click.echo(security_associations(view, laptop, t, which), nl=False)
        return
    status = "ConnectedLocally" if laptop.location == "inside" else \
        text.status_at(laptop.ipsec.history, t)[0]
    click.echo(text.da_connection_status(status, laptop.profile), nl=False)
