"""The Windows text of the three netsh status commands, at any simulated time.

Field names and values follow the outputs quoted in the fact sheet (F1.15 for Teredo,
F1.25/F1.26 for IP-HTTPS). The 6to4 ``show state`` layout is not documented (F1.31): ours is an
assumption, marked as such in the output's docs, not in the text itself.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Any

from sim.errors import InputError

if TYPE_CHECKING:
    from sim.scenario.view import RunView

RULE = "-" * 60

# the commands shown, and which interface each shows
COMMANDS = {
    ("interface", "httpstunnel", "show", "interfaces"): "iphttps",
    ("interface", "teredo", "show", "state"): "teredo",
    ("interface", "6to4", "show", "state"): "6to4",
    ("advfirewall", "monitor", "show", "mmsa"): "mmsa",
    ("advfirewall", "monitor", "show", "qmsa"): "qmsa",
    ("namespace", "show", "policy"): "nrpt",
    ("namespace", "show", "effectivepolicy"): "nrpt-effective",
    ("dnsclient", "show", "state"): "dns-state",
    ("dns", "show", "state"): "dns-state",   # Windows 7's spelling
    ("winhttp", "show", "proxy"): "winhttp",
}


def command(words: tuple[str, ...]) -> tuple[str, ...]:
    """The command ``words`` name, taking each word's abbreviation as netsh does (``int
    httpstunnel sh int``; KB 2980667's ``interface http show interface``)."""
    typed = [w.lower() for w in words]
    for known in COMMANDS:
        if len(typed) == len(known) and all(
                full.startswith(w) and (len(w) >= 2 or w == full)
                for w, full in zip(typed, known, strict=True)):
            return known
    raise InputError(f"netsh: {' '.join(words)!r} is not a command this simulator shows; "
                     "it shows " + "; ".join(" ".join(k) for k in COMMANDS))


def show(view: RunView, client: str, at: float | None, words: tuple[str, ...]) -> str:
    """What ``netsh words`` prints on ``client`` at simulated time ``at`` (default: the end
    of the run)."""
    laptop = view.client(client)
    t = view.duration if at is None else at
    interface = COMMANDS[command(words)]
    if interface in ("mmsa", "qmsa"):
        return security_associations(view, laptop, t, interface)
    if interface == "winhttp":
        return winhttp_proxy(laptop.proxy_settings_at(t))
    if interface == "nrpt":
        return nrpt_policy(view.policy.nrpt, effective=False)
    if interface == "dns-state":
        return dns_state(location_at(laptop.timeline, t), bool(view.policy.nrpt))
    if interface == "nrpt-effective":   # in effect only outside (B1)
        outside = location_at(laptop.timeline, t) == "outside"
        return nrpt_policy(view.policy.nrpt if outside else (), effective=True)
    if interface == "iphttps":
        history = laptop.iphttps_history
        snap = at_time(history, t) if history is not None else None
        return httpstunnel_interfaces(snap, view.policy.iphttps_url)
    if interface == "teredo":
        history = laptop.teredo_history
        snap = at_time(history, t) if history is not None else None
        if snap is None:
            snap = {"type": laptop.teredo_type, "server_name": view.policy.teredo_server or "",
                    "state": "offline", "network": "managed" if laptop.managed else "unmanaged",
                    "nat": "unknown", "error": _teredo_refusal(laptop.attempts, t)}
        return teredo_state(snap, laptop.teredo_refresh)
    history6 = [(tt, {"state": s}) for tt, s in laptop.sixtofour_history]
    snap = at_time(history6, t)
    # before 6to4 ran (or when it never does: no public IPv4 address), its configured state
    return sixtofour_state(snap["state"] if snap else laptop.sixtofour_setting,
                           view.policy.relay)


def _teredo_refusal(attempts: Any, t: float) -> str:
    """Why Teredo did not start (disabled, not eligible), once that was decided by ``t``; a
    qualification still under way, or one that succeeded later, is no error now."""
    return next((a.reason for a in attempts if a.method == "teredo"
                 and a.result in ("not_eligible", "failed")
                 and a.end_s is not None and a.end_s <= t), "")


def security_associations(view: RunView, laptop: Any, t: float, which: str) -> str:
    """``advfirewall monitor show mmsa`` / ``qmsa``: the IPsec SAs up at ``t`` (A13)."""
    from sim.report import ipsec

    session = laptop.ipsec
    if session is None:
        raise InputError(f"netsh advfirewall monitor show {which}: the scenario does not "
                         "model IPsec (give it server.ipsec)")
    if which == "mmsa":
        return ipsec.mmsa(session.sa_log, t, view.start)
    return ipsec.qmsa(session.sa_log, t, view.start, session.deployment.qm_lifetime,
                      session.deployment.qm_lifetime_kb)


def at_time(history: list[tuple[float, dict[str, Any]]], t: float) -> dict[str, Any] | None:
    """The last snapshot taken at or before ``t``."""
    times = [h[0] for h in history]
    i = bisect_right(times, t)
    return history[i - 1][1] if i else None


def location_at(timeline: list[tuple[float, str]], t: float) -> str | None:
    """Where the laptop had found itself by ``t`` (inside, outside), from its own notes."""
    where = None
    for when, text in timeline:
        if when > t:
            break
        if text.startswith("network location: "):
            where = text.split(": ", 1)[1].split(" ", 1)[0]
    return where


def nrpt_policy(rules: Any, effective: bool) -> str:
    """``netsh namespace show policy`` / ``show effectivepolicy``: one block per rule with
    its DirectAccess settings (B5, B6; the layout beyond the field names is an assumption,
    N2 in docs/model.md). The effective table is empty inside the corporate network."""
    head = ("DNS Effective Name Resolution Policy Table Settings" if effective
            else "DNS Name Resolution Policy Table Settings")
    out = [head, ""]
    for rule in rules:
        servers = " ".join(map(str, rule.dns))
        out += ["", f"Settings for {rule.namespace}", "-" * 70,
                f"{'DirectAccess (Certification Authority)':<40}: ",
                f"{'DirectAccess (IPsec)':<40}: disabled",
                f"{'DirectAccess (DNS Servers)':<40}: {servers}",
                f"{'DirectAccess (Proxy Settings)':<40}: "
                f"{'Use default browser settings' if rule.dns else 'Bypass proxy'}"]
    return "\n".join(out) + "\n"


def dns_state(location: str | None, configured: bool) -> str:
    """``netsh dnsclient show state``: the NRPT's options and where the machine believes it
    is (B1, B11; the layout is an assumption, N2). Before the NLS check it is "Unknown"."""
    where = {"inside": "Inside corporate network",
             "outside": "Outside corporate network"}.get(location or "", "Unknown")
    pairs = [
        ("Query Failure Behavior", "Always fall back to LLMNR and NetBIOS\n"
         + " " * 40 + "if the name does not exist in DNS or\n" + " " * 40
         + "if the DNS servers are unreachable\n" + " " * 40 + "when on a private network"),
        ("Query Resolution Behavior", "Resolve only IPv6 addresses for names"),
        ("Network Location Behavior", "Let Network ID determine when Direct\n" + " " * 40
         + "Access settings are to be used"),
        ("Machine Location", where),
        ("Direct Access Settings", "Configured and Enabled" if configured
         else "Not Configured"),
        ("DNSSEC Settings", "Not Configured")]
    body = "\n\n".join(f"{k:<38}: {v}" for k, v in pairs)
    return f"\nName Resolution Policy Table Options\n{'-' * 68}\n\n{body}\n"
def winhttp_proxy(config: Any) -> str:
    """``netsh winhttp show proxy``: the static WinHTTP proxy and its bypass list, or direct
    access. A PAC URL or automatic detection are not WinHTTP's static settings and do not
    show here (the real command's layout)."""
    head = "\nCurrent WinHTTP proxy settings:\n\n"
    if config is None or config.winhttp is None:
        return head + "    Direct access (no proxy server).\n\n"
    bypass = ";".join(config.bypass) or "(none)"
    return (head + f"    Proxy Server(s) :  {config.winhttp}\n"
            f"    Bypass List     :  {bypass}\n\n")


def _lines(pairs: list[tuple[str, Any]], width: int) -> str:
    return "\n".join(f"{k:<{width}}: {v}" for k, v in pairs)


def teredo_state(snap: dict[str, Any] | None, refresh_interval: float = 30.0) -> str:
    """``netsh interface teredo show state`` (F1.15)."""
    snap = snap or {"type": "disabled", "server_name": "", "state": "offline",
                    "network": "unmanaged", "nat": "unknown", "error": ""}
    pairs: list[tuple[str, Any]] = [
        ("Type", snap["type"]),
        ("Server Name", snap.get("server_name") or "teredo.ipv6.microsoft.com."),
        ("Client Refresh Interval", f"{refresh_interval:g} seconds"),
        ("Client Port", "unspecified"),
        ("State", snap["state"]),
    ]
    if snap["type"] != "disabled":
        pairs += [("Client Type", "teredo client"), ("Network", snap.get("network", "unmanaged"))]
        if snap["state"] == "qualified":
            pairs += [("NAT", snap["nat"]),
                      ("NAT Special Behaviour", "UPNP: No, PortPreserving: " + (
                          "Yes" if _port_preserved(snap) else "No")),
                      ("Local Mapping", snap.get("local_mapping", "")),
                      ("External NAT Mapping", snap.get("external_mapping", ""))]
        else:
            if snap.get("nat", "unknown") != "unknown":   # found before it failed (Table 3.5)
                pairs.append(("NAT", snap["nat"]))
            if snap.get("error"):
                pairs.append(("Error", snap["error"]))
    return "Teredo Parameters\n" + "-" * 45 + "\n" + _lines(pairs, 24) + "\n"


def _port_preserved(snap: dict[str, Any]) -> bool:
    local, external = snap.get("local_mapping", ""), snap.get("external_mapping", "")
    return bool(local and external) and local.rsplit(":", 1)[-1] == external.rsplit(":", 1)[-1]


def httpstunnel_interfaces(snap: dict[str, Any] | None, url: str | None) -> str:
    """``netsh interface httpstunnel show interfaces`` (F1.25, F1.26)."""
    if snap is None:
        snap = {"last_error": "0x0", "interface_status": "IPHTTPS interface deactivated"}
    pairs = [("Role", "client"), ("URL", url or ""), ("Last Error Code", snap["last_error"]),
             ("Interface Status", snap["interface_status"])]
    return ("Interface IPHTTPSInterface (Group Policy) Parameters\n" + RULE + "\n"
            + _lines(pairs, 27) + "\n")


def sixtofour_state(state: str | None, relay: str | None) -> str:
    """``netsh interface 6to4 show state`` — layout assumed (F1.31 could not confirm it)."""
    pairs = [("6to4 Service State", state or "disabled"),
             ("Relay Name", relay or "6to4.ipv6.microsoft.com."),
             ("Resolution Interval", "1440 minutes")]
    return "6to4 Configuration Parameters\n" + RULE + "\n" + _lines(pairs, 27) + "\n"
