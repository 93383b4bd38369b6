"""What a student may see of the broken world: the user's view, netsh and PowerShell views
at the times asked for, and the capture the exercise allows; never the cause.

Every view is read from the run (``sim.scenario.view``), as an administrator reads the real
laptop; nothing here reads the exercise's fault. The user's view is the network flyout's
DirectAccess entry: "Connecting" while IP-HTTPS retries (KB 3017472, F1.28), "Connected"
once a tunnel carries the traffic (D1), and with the IPsec layer modelled only once
Get-DAConnectionStatus says ConnectedRemotely (A14). ``Get-NetIPHttpsState`` shows netsh's
two fields under the cmdlet's property names; its layout is an assumption (docs/model.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.directaccess.ipsec.session import CONNECTED
from sim.report import ipsec as ipsec_text
from sim.report import netsh

if TYPE_CHECKING:
    from sim.exercise.check import Run
    from sim.exercise.model import Exercise
    from sim.scenario.view import RunView

NETSH = "netsh "


def _clock(t: float) -> str:
    """A simulated time as a trainer says it: 30 s, 5 min, 10 min 30 s."""
    minutes, seconds = divmod(round(t, 1), 60)
    if not minutes:
        return f"{seconds:g} s"
    return f"{minutes:g} min" + (f" {seconds:g} s" if seconds else "")


def user_view(network: str, method: str | None, location: str | None,
              status: str | None = None) -> str:
    """The network flyout's DirectAccess entry, as the user reads it, on ``network``: with
    the IPsec layer modelled (``status``: Get-DAConnectionStatus), Connected only once
    DirectAccess is connected above the tunnel; a tunnel alone says Connecting."""
    if method is not None and status in (None, CONNECTED):
        state = "Connected"
    elif location == "inside":
        state = "(no entry: the laptop believes it is on the corporate network)"
    else:
        state = "Connecting"
    return (f"Network: {network}\n"
            f"Workplace connection (DirectAccess): {state}\n")


def ipHttps_state(view: RunView, client: str, at: float) -> str:
    """``Get-NetIPHttpsState`` (Windows 8+): the IP-HTTPS interface's state at ``at``."""
    history = view.client(client).iphttps_history
    snap = netsh.at_time(history, at) if history is not None else None
    snap = snap or {"last_error": "0x0", "interface_status": "IPHTTPS interface deactivated"}
    return (f"InterfaceName   : IPHTTPSInterface\n"
            f"LastErrorCode   : {snap['last_error']}\n"
            f"InterfaceStatus : {snap['interface_status']}\n")


def show(run: Run, exercise: Exercise, name: str, at: float) -> str:
    """One view ``name`` of the exercise's laptop at simulated time ``at``."""
    client, view = exercise.client, run.view
    if name == "user":
        state = run.state_at(at)
        return user_view(state.network, state.method, state.location, state.status)
    if name == "Get-NetIPHttpsState":
        return ipHttps_state(view, client, at)
    if name == "Get-DAConnectionStatus":
        laptop = view.client(client)
        status = "ConnectedLocally" if run.state_at(at).location == "inside" else \
            ipsec_text.status_at(laptop.ipsec.history, at)[0]
        return ipsec_text.da_connection_status(status, laptop.profile)
    return netsh.show(view, client, at, tuple(name.removeprefix(NETSH).split()))


def title(name: str, at: float) -> str:
    prompt = "PS> " if name.startswith("Get-") else "C:\\> " if name.startswith(NETSH) else ""
    what = "the user's view" if name == "user" else f"{prompt}{name}"
    return f"== {what}   (at {_clock(at)})"


def symptoms(run: Run, exercise: Exercise, times: list[float], views: list[str]) -> str:
    """The student's page: the exercise's title (not its name, which may say the fault),
    the user's words, then each view at each time."""
    lines = [f"Exercise: {exercise.title}", "",
             f"The user says: {exercise.ticket.strip()}", ""]
    for at in times:
        for name in views:
            lines += [title(name, at), show(run, exercise, name, at)]
    return "\n".join(lines)
