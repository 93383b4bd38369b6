"""The story above the tunnel: what ``explain`` says of the IPsec layer — which tunnels are
up over which transition interface, what failed with which Windows code, and what to do.

Remedies follow the fact sheet: A9 (a computer certificate with Client Authentication from
the CA the server trusts), A1/A5 (the intranet tunnel needs a logged-on user), A4 (Windows
Firewall on), A7/A8 (Windows 7 and the simplified deployment), Kerberos clock skew.
"""

from __future__ import annotations

from typing import Any

from sim.directaccess.ipsec.opens import target as _target
from sim.net.errors import NAMES

REMEDIES = {
    "13806": "enrol a computer certificate (Client Authentication EKU) from the CA the "
             "DirectAccess server trusts, e.g. by Group Policy auto-enrolment of the "
             "Workstation Authentication template; an expired one must be renewed",
    "13801": "enrol a computer certificate from the CA the server trusts: the server's IPsec "
             "root (Set-DAServer -IPsecRootCertificate) must be the CA that issued it; "
             "a Windows 7 computer needs server.allow_windows7 and certificates",
    "13818": "issue the computer certificate from a template with the Client Authentication "
             "EKU",
    "13817": "publish the computer certificate's CRL where the server can fetch it",
    "13827": "check that a domain controller (over the infrastructure tunnel) or the KDC "
             "proxy (/KdcProxy/ on the IP-HTTPS listener) answers",
    "13805": "the DirectAccess server did not answer IKE: check that it is up and that "
             "nothing between drops UDP 500 inside the tunnel",
}
# a cause named in the failure's reason → a more precise remedy than the code's
CAUSE_REMEDIES = {
    "KRB_AP_ERR_SKEW": "set the clock right (w32tm /resync): Kerberos allows 5 minutes of "
                       "difference with the domain",
    "no KDC proxy client": "Windows 7 cannot use the simplified deployment: deploy "
                           "computer certificates and allow Windows 7, or upgrade",
    "does not allow Windows 7": "allow Windows 7 clients on the server (server.allow_windows7"
                                ", with computer certificates), or upgrade the client",
    "not now": "renew the computer certificate (auto-enrolment renews it before it expires)",
}
STATUS_REMEDIES = {
    "WindowsFirewallDisabled": "turn Windows Firewall on: DirectAccess's connection "
                               "security rules live in it",
    "CouldNotContactDirectAccessServer": "DirectAccess needs a working transition interface "
                                         "and a DirectAccess server that answers",
}
LAYERS = {"up": "up", "down": "not up", "failed": "failed"}


def above_lines(client: dict[str, Any]) -> list[str]:
    """The IPsec paragraph of one client's story (nothing without IPsec modelled)."""
    da = client.get("directaccess")
    if da is None or client.get("location") == "inside":
        return []
    method = client.get("method")
    layers = ", ".join(f"{name} tunnel {LAYERS.get(state, state)}"
                       for name, state in da["tunnels"].items())
    under = f"over {method}" if method else "with no transition interface up"
    lines = ["", f"Above the tunnel (IPsec {under}): {layers}; "
             f"Get-DAConnectionStatus: {da['status']}"
             + (f", IKE error {da['error']}" if da["error"] else "") + "."]
    reached = [n for n, ok in client.get("resources", {}).items() if ok]
    missed = [n for n, ok in client.get("resources", {}).items() if not ok]
    if reached or missed:
        lines.append("  reaches: " + (", ".join(reached) or "nothing")
                     + ("; does not reach: " + ", ".join(missed) if missed else ""))
    for opened in da.get("opens", []):
        lines.extend(_opened_lines(opened))
    reason = da.get("reason") or ""
    if reason:
        lines.append(f"  why: {reason}")
    remedy = next((text for key, text in CAUSE_REMEDIES.items() if key in reason), None) \
        or REMEDIES.get(da["error"] or "") or STATUS_REMEDIES.get(da["status"])
    if da["tunnels"].get("intranet") == "down" and da["status"] == "ConnectedRemotely":
        remedy = ("log on: the intranet tunnel needs the user's Kerberos ticket, and until "
                  "then only the infrastructure tunnel's hosts answer")
    if (remedy and da["status"] != "ConnectedRemotely") or (remedy and "log on" in remedy):
        lines.append(f"  remedy: {remedy}")
    return lines


def ending(client: dict[str, Any]) -> str | None:
    """The last line when the transition is up but DirectAccess is not (None otherwise)."""
    da = client.get("directaccess")
    if da is None or not client.get("connected") or da["status"] == "ConnectedRemotely":
        return None
    code = f" (IKE error {da['error']})" if da["error"] else ""
    return (f"At the end of the run {client['name']}'s {client['method']} interface is up, "
            f"but DirectAccess is not connected: {da['status']}{code}.")


def _opened_lines(opened: dict[str, Any]) -> list[str]:
    """What came of one thing the user opened, and the remedy when it failed (C1-C3)."""
    error = opened["error"]
    verdict = "answered" if opened["ok"] else \
        f"failed, {error} {NAMES.get(int(error, 16), '')}".rstrip()
    at = f" at {opened['address']}" if opened["address"] else ""
    lines = [f"  opens {opened['target']} (t={opened['t']:.1f} s): {verdict}{at}",
             f"    {opened['why']}"]
    if opened["ok"]:
        return lines
    host = opened_host(opened["target"])
    address = opened["address"] or ""
    if address == host and "." in address and ":" not in address:
        remedy = ("use a name, not an IPv4 address: only a name reaches an IPv4-only host, "
                  "through the server's DNS64 and NAT64")
    elif ("." in address and ":" not in address) or (not address and error == "0x2afc"):
        remedy = ("the name has no IPv6 address: turn on the server's DNS64/NAT64 "
                  "(server.dns64) or give the host an IPv6 address")
    elif error == "0x2af9":
        remedy = ("add an NRPT rule that sends the intranet's namespace to the DNS64 (the "
                  "wizard's rule for the internal suffix)")
    else:
        return lines
    return [*lines, f"    remedy: {remedy}"]


def opened_host(text: str) -> str:
    return _target(text)[0]
