"""What Windows shows of the IPsec layer at a simulated time: ``netsh advfirewall monitor
show mmsa`` / ``show qmsa`` (A13) and ``Get-DAConnectionStatus`` (A14, A15).

The field names are Windows'; the exact column layout is UNCONFIRMED (A13), and so are the
statuses the fact sheet could not confirm (ConnectedRemotely, ConnectedLocally, Connecting,
WindowsFirewallDisabled: docs/model.md).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from typing import Any

RULE = "-" * 70
NO_SAS = "No SAs match the specified criteria.\n"
# what the quick-mode offer shows (A12: 60 min / 100,000 KB; ESP with SHA-1 and AES-128 is the
# DirectAccess wizard's default proposal, an assumption)
QM_OFFER = "ESP:SHA1-AES128+{minutes:g}min/{kb}kb"
MM_OFFER = "AES128-SHA1 DH Group 2"
STATUS_TEXT = {"ConnectedRemotely", "ConnectedLocally", "Connecting"}


def active_sas(sa_log: list[tuple], t: float) -> list[tuple]:
    """The SAs up at ``t``: the last add, rekey or update of each tunnel not deleted since."""
    up: dict[str, tuple] = {}
    for rec in sa_log:
        if rec[0] > t:
            break
        if rec[1] == "del":
            up.pop(rec[2], None)
        else:
            up[rec[2]] = rec
    return [up[k] for k in sorted(up)]


def _when(start: dt.datetime, t: float) -> str:
    at = start + dt.timedelta(seconds=t)
    return f"{at.month}/{at.day}/{at.year} {at.strftime('%I:%M:%S %p').lstrip('0')}"


def _block(title: str, pairs: list[tuple[str, Any]]) -> str:
    return title + "\n" + RULE + "\n" + "\n".join(f"{k + ':':<38}{v}" for k, v in pairs) + "\n"


def mmsa(sa_log: list[tuple], t: float, start: dt.datetime) -> str:
    """``netsh advfirewall monitor show mmsa``."""
    sas = active_sas(sa_log, t)
    if not sas:
        return NO_SAS
    out = []
    for at, _action, tunnel, local, remote, auth1, auth2, _spi in sas:
        out.append(_block(f"Main Mode SA at {_when(start, at)}", [
            ("Local IP Address", local), ("Local Port", 500),
            ("Remote IP Address", remote), ("Remote Port", 500),
            ("Auth1", auth1), ("Auth2", auth2), ("MM Offer", MM_OFFER),
            ("Cookie Pair", f"{hash_cookie(tunnel, at)}"), ("Health Cert", "No")]))
    return "\n".join(out) + "\nOk.\n"


def hash_cookie(tunnel: str, at: float) -> str:
    """A stable stand-in for the SA's cookie pair (the model derives no keys)."""
    n = sum(map(ord, tunnel)) * 7919 + int(at * 1000)
    return f"{n & 0xFFFFFFFFFFFFFFFF:016x}:{(n * 2654435761) & 0xFFFFFFFFFFFFFFFF:016x}"


def qmsa(sa_log: list[tuple], t: float, start: dt.datetime, lifetime: float,
         lifetime_kb: int) -> str:
    """``netsh advfirewall monitor show qmsa``."""
    sas = active_sas(sa_log, t)
    if not sas:
        return NO_SAS
    out = []
    for at, _action, _tunnel, local, remote, _a1, _a2, spi in sas:
        out.append(_block(f"Quick Mode SA at {_when(start, at)}", [
            ("Local IP Address", local), ("Remote IP Address", remote),
            ("Local Tunnel Endpoint", local), ("Remote Tunnel Endpoint", remote),
            ("Local Port", "Any"), ("Remote Port", "Any"), ("Protocol", "Any"),
            ("Direction", "Both"), ("Outbound SPI", f"0x{spi:08x}"),
            ("QM Offer", QM_OFFER.format(minutes=lifetime / 60, kb=lifetime_kb)),
            ("PFS", "None")]))
    return "\n".join(out) + "\nOk.\n"


def status_at(history: list[tuple], t: float) -> tuple[str, int | None, dict[str, str]]:
    """The status, error and tunnels at ``t``."""
    i = bisect_right([h[0] for h in history], t)
    if not i:
        return "CouldNotContactDirectAccessServer", None, {}
    _t, status, error, tunnels = history[i - 1]
    return status, error, dict(tunnels)


def da_connection_status(status: str, profile: str) -> str:
    """``Get-DAConnectionStatus`` (Windows 8 and later, G3): Status and Substatus (A14); a
    failure shows Status Error with the cause as Substatus (A15)."""
    if profile == "windows7":
        return ("Get-DAConnectionStatus : The term 'Get-DAConnectionStatus' is not recognized "
                "(MSFT_DAConnectionStatus needs Windows 8 or later, G3); on Windows 7 the "
                f"DirectAccess Connectivity Assistant shows: {dca_state(status)}\n")
    if status in STATUS_TEXT:
        pairs = [("Status", status), ("Substatus", "None")]
    else:
        pairs = [("Status", "Error"), ("Substatus", status)]
    return "\n" + "\n".join(f"{k:<10}: {v}" for k, v in pairs) + "\n\n"


def dca_state(status: str) -> str:
    """DCA 1.5's tray states (D3): working, not working (red X), user action needed."""
    if status in ("ConnectedRemotely", "ConnectedLocally"):
        return "DirectAccess is working"
    return "DirectAccess is not working (red X)"
