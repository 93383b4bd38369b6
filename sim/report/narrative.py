"""The story of one client, told in plain sentences with simulated times — what a trainer
reads aloud in a break/fix session. Each failure gets its cause (from the packets the trace saw
dropped) and the remedy from the fact sheet's sources."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sim.directaccess.result import DEGRADED_LOSS
from sim.report import above, flapping
from sim.report.causes import Cause, TraceIndex
from sim.scenario.view import ClientView, host_addresses

# Remedies by error code, with their sources (domain facts §6, §7).
REMEDIES: dict[str, str] = {
    "0x800b0109": (
        "The IP-HTTPS certificate chains to a root that is not in the client's Trusted Root "
        "Certification Authorities store (KB 2980667). If the chain presented is your "
        "DirectAccess server's, import the issuing root CA certificate into Trusted Root "
        "Certification Authorities (and any intermediate into Intermediate Certification "
        "Authorities) and deploy it to all clients by Group Policy; then restart the IP Helper "
        "service or wait for the next IP-HTTPS retry. If it ends at another organisation's CA, "
        "a device on the path answered for the server: a TLS-inspecting proxy (exempt the "
        "IP-HTTPS URL from SSL inspection; DirectAccess test lab guide) or a captive portal "
        "(log in first); do not trust its CA."),
    "0x800b010a": (
        "The chain is incomplete: an intermediate CA is neither sent by the server nor in the "
        "client's Intermediate store, and no AIA URL supplied it. Send the whole chain from "
        "the server or deploy the intermediate by Group Policy."),
    "0x800b0101": (
        "A certificate in the chain is outside its validity period. Renew the IP-HTTPS "
        "certificate on the server (Hicks, 2016-11-15)."),
    "0x800b010f": (
        "The certificate's subject does not match the IP-HTTPS URL. Issue a certificate whose "
        "subject (or SAN) is the URL's name (DA-PLAN)."),
    "0x103": (
        "No usable certificate found (KB 2980635): the IP-HTTPS certificate's names do not "
        "match the IP-HTTPS URL: its subject is another name, the subject carries extra "
        "data, or the subject is right and a subject alternative name (SAN) is wrong. Issue "
        "a certificate whose subject is the URL's name, the ConnectTo name (DA-PLAN), with "
        "that name among its SANs if it has any, or change the IP-HTTPS URL to the name on "
        "the certificate; then restart the IP Helper service or wait for the next retry."),
    "0x800b0110": ("The certificate lacks the Server Authentication EKU (DA-PLAN)."),
    "0x800b010c": ("The certificate has been revoked by its issuer: issue a new one."),
    "0x80092013": (
        "The client could not fetch the CRL of the IP-HTTPS certificate. Publish the CRL "
        "distribution point on the Internet with a public DNS name (KB 2980672); Windows 7 "
        "always enforces this check."),
    "0x80092012": ("The certificate has no usable CRL distribution point (KB 2980672)."),
    "0x80096004": ("A certificate's signature does not verify: the chain was tampered with or "
                   "mis-issued."),
    "0x274c": (
        "TCP to the IP-HTTPS server timed out after the SYN retransmissions: something "
        "silently drops TCP to the IP-HTTPS port (443 unless the URL names another): a "
        "firewall, no route, or the server is down."),
    "0x274d": ("The connection was refused (RST): nothing listens on the IP-HTTPS port, or a "
               "middlebox rejects it."),
    "0x2af9": (
        "The IP-HTTPS server's name does not resolve from this network. Publish it in public "
        "DNS and exempt it from the NRPT (KB 3056560)."),
    "0x2afc": ("The name exists but has no address record of the type asked for (KB 3056560)."),
    "0x2afa": ("DNS did not answer: the network blocks or loses DNS."),
    "0x80190197": (
        "The proxy demands authentication, which the IP Helper service cannot provide "
        "(MS-IPHTTPS note <1>). Exempt the IP-HTTPS URL from proxy authentication."),
    "0x80090326": (
        "The TLS handshake was broken off by the other side (SEC_E_ILLEGAL_MESSAGE). In front "
        "of IP-HTTPS this is usually a load balancer or application delivery controller that "
        "terminates TLS itself (Hicks, \"Troubleshooting IP-HTTPS Error 0x80090326\"): right "
        "after ClientHello, it lacks the NULL-encryption suites that Windows 8 and later offer "
        "alone to a DirectAccess server (enable them on it); right after ServerHello, it "
        "demands a client certificate the laptop lacks or whose root it does not trust. "
        "Microsoft supports IP-HTTPS only when TLS ends on the DirectAccess server: set the "
        "device to pass-through."),
}

TEREDO_REMEDIES = {
    "cannot be reached over UDP": (
        "This network does not let UDP 3544 through to the Teredo server; IP-HTTPS is the "
        "fallback (KB 2980667)."),
    "symmetric NAT": (
        "The NAT gives a new external port for each destination (symmetric), so Teredo "
        "cannot work through it (RFC 4380 §5.2.1)."),
    "managed network": (
        "Teredo type 'client' stays off where a domain controller is reachable; set "
        "'enterpriseclient' to keep it (ADMX Set Teredo State)."),
    "disabled": (
        "Teredo is disabled (the default from Windows 10 1803 on, KB 4510763); enable it as "
        "enterpriseclient if Teredo should be used."),
}

PORTAL_REMEDY = (
    "A captive portal holds the traffic until the guest logs in (it passes nothing else, "
    "and answers HTTP with its login page). Log in: each method comes up at its next try, "
    "IP-HTTPS after its back-off.")

# What the network's own drops say, before the error code: the device that held the packets
# knows better than the symptom which remedy applies.
DROP_REMEDIES = {
    "captive portal": PORTAL_REMEDY,
    "is not global": (
        "The Teredo server ignores solicitations from addresses that are not global (RFC 4380 "
        "§5.3.1): this network reaches the server from private addresses without a NAT, as a "
        "routed private network does. IP-HTTPS is the fallback; Teredo would need a NAT on "
        "the way out."),
}

NAT_EXPIRY_REMEDY = (
    "The NAT {nat} forgets an idle UDP binding before the traffic is done with it. Raise its "
    "UDP timeout (RFC 4787 REQ-5: at least 2 minutes, 5 recommended); for Teredo, a refresh "
    "interval shorter than the timeout keeps the binding (Group Policy \"Set Teredo Refresh "
    "Rate\", RFC 4380 §5.2.5).")

SYMMETRIC_REMEDY = (
    "The NAT {nat} gives a new external port for each destination (symmetric), so Teredo "
    "cannot work through it (RFC 4380 §5.2.1); IP-HTTPS is the fallback. Where it is your "
    "own NAT, endpoint-independent mapping (RFC 4787 REQ-1) lets Teredo through.")

SIXTOFOUR_REMEDY = (
    "6to4 fails silently: protocol 41 is blocked on the path, or the replies go to an address "
    "that only looks public (a carrier NAT's pseudo-public space, KB 2980667). Consider "
    "disabling 6to4 on DirectAccess clients (Hicks, 2015-02-02).")


def _client_addresses(host: Any) -> set:
    """The addresses of a client: a :class:`ClientView`'s, or those of its host."""
    return set(host.addresses if isinstance(host, ClientView) else host_addresses(host))


def portal_logins(trace: list, host: Any, site: str) -> list[tuple[float, str]]:
    """When the captive portal of ``site`` let this client through: the whole site's login,
    or its own as a guest."""
    mine = {str(a) for a in _client_addresses(host)}
    logins = []
    for rec in trace:
        if rec.kind == "portal-login" and rec.node == f"{site}-portal":
            guest = rec.fields.get("guest")
            if guest is None:
                logins.append((rec.t, "scenario: the guests log in to the captive portal"))
            elif guest in mine:
                logins.append((rec.t, "scenario: the guest logs in to the captive portal"))
    return logins


def _other_method(pkt: Any, method: str | None) -> bool:
    """Whether ``pkt`` is Teredo's (UDP 3544) or 6to4's (protocol 41) traffic while the
    attempt told is another method's: Teredo and IP-HTTPS qualify at the same time (F1.6)."""
    if method is None:
        return False
    teredo = pkt.proto == 17 and 3544 in (pkt.sport, pkt.dport)
    return (teredo and method != "teredo") or (pkt.proto == 41 and method != "6to4")


def drops_seen(trace: Any, host: Any, start: float, end: float | None,
               network: str | None = None, site: str | None = None,
               method: str | None = None) -> list[Cause]:
    """Which devices dropped this client's packets between ``start`` and ``end``, and how:
    the distinct causes, in order of first appearance (``trace``: the records, or their
    :class:`TraceIndex`). The sites of a network share its private prefix, so another
    hotel's guest may have this client's address: a drop at a device of ``network`` counts
    only at the client's own ``site``."""
    index = trace if isinstance(trace, TraceIndex) else TraceIndex(trace)
    others = (f"{network}-", f"{network}#") if network and site else ()

    def keep(rec: Any) -> bool:
        if others and rec.node.startswith(others) and not rec.node.startswith(f"{site}-"):
            return False
        pkt = rec.fields.get("pkt")
        return pkt is None or not _other_method(pkt, method)

    return index.causes(host, start, end, keep)


NRPT_REMEDY = (
    "The NRPT sends {name} to the DNS64 on the DirectAccess server, which only a tunnel "
    "reaches, and the tunnel is what the name is needed for (KB 3052855, KB 3056560). Add an "
    "NRPT exemption for {name}: in the Remote Access setup's DNS page (Infrastructure Server "
    "Setup), the name with no DNS server; check with netsh namespace show effectivepolicy.")


# The client's proxy settings (sim.directaccess.proxysettings; facts E2, E3): what the
# failure's reason says decides, before its code.
STATIC_PROXY_REMEDY = (
    "The IP Helper service of Windows 8 and later cancels the connection to the DirectAccess "
    "server once it detects a static proxy. Remove the static proxy or add a bypass for "
    "{name} (KB 3017472): netsh winhttp reset proxy (or the Group Policy that sets it), or "
    "netsh winhttp set proxy <proxy> bypass-list=\"<local>;{name}\"; WPAD on the intranet "
    "instead of a static proxy avoids it too. Check with netsh winhttp show proxy.")
STATIC_PAC_REMEDY = (
    "The IP Helper service of Windows 8 and later cancels the connection to the DirectAccess "
    "server once it detects a static proxy, and a static .pac path counts as one (KB 3017472)"
    ": have the PAC file return DIRECT for {name}, or find it by WPAD (automatic detection) "
    "instead of a static path.")
PROXYMGR_REMEDY = (
    "The IP Helper keeps using the proxy in its ProxyMgr cache, from a network the laptop has "
    "left, which does not exist here. Clear the ProxyMgr cache and restart the IP Helper "
    "(KB 2980635): export and delete the subkeys of HKLM\\SYSTEM\\CurrentControlSet\\"
    "Services\\iphlpsvc\\Parameters\\ProxyMgr, then restart the IP Helper service.")
PROXY_NAME_REMEDY = (
    "The proxy in the machine's proxy settings does not resolve on this network (KB 2980635): "
    "check netsh winhttp show proxy (and Internet Explorer's settings as LocalSystem), and "
    "reset it with netsh winhttp reset proxy where it does not belong.")
PROXY_UPSTREAM_REMEDY = (
    "The proxy could not resolve or reach the IP-HTTPS server (it answered CONNECT with an "
    "error), although the laptop itself may resolve it and reach TCP 443 (KB 2980635): let "
    "the proxy resolve and reach the IP-HTTPS name, or bypass the proxy for it.")
REASON_REMEDIES = (("from a static .pac", STATIC_PAC_REMEDY),
                   ("KB 3017472", STATIC_PROXY_REMEDY), ("from the ProxyMgr cache",
                   PROXYMGR_REMEDY), ("does not resolve (", PROXY_NAME_REMEDY),
                   ("answered CONNECT with 50", PROXY_UPSTREAM_REMEDY))


def remedy_for(attempt: dict[str, Any]) -> str | None:
    reason = attempt.get("reason") or ""
    sent = re.search(r"([\w.-]+): the NRPT rule for ", reason)
    if sent:   # a name sent into a tunnel that is not up (B7; a CRL's, B4)
        text = NRPT_REMEDY.format(name=sent.group(1))
        return text if attempt.get("error") != "0x80092013" else text.replace(
            "(KB 3052855, KB 3056560)", "(a CRL distribution point in the internal "
            "namespace needs its exemption, KB 3052855)")
    for key, text in REASON_REMEDIES:
        if key in reason and reason.startswith("the "):
            name = reason.split("connection to ", 1)[-1].split(":", 1)[0]
            return text.format(name=name) if "{name}" in text else text
    error = attempt.get("error")
    if error in REMEDIES:
        return REMEDIES[error]
    if attempt["method"] == "teredo":
        for key, text in TEREDO_REMEDIES.items():
            if key in attempt["reason"]:
                return text
    if attempt["method"] == "6to4" and attempt["result"] == "failed":
        return SIXTOFOUR_REMEDY
    return None


NLS_OUTAGE = (
    "{name} is on a corporate network but concluded it is outside: the network location "
    "server did not answer. It applies the DirectAccess name resolution policy (NRPT) and "
    "sends internal names to the DirectAccess server instead of the office's DNS: the "
    "classic NLS outage, in which laptops inside lose internal name resolution (Hicks, "
    "2015-02-09). Remedy: bring the NLS back, and make it highly available (at least two "
    "servers behind a load balancer).")


def narrate(client_result: dict[str, Any], events: list[tuple[float, str]],
            trace: list | None = None, host: Any = None, site: str | None = None,
            corporate: bool = False) -> str:
    """The client's timeline: its own events, then each failed attempt's cause and remedy.
    ``host``: the client (a :class:`ClientView`, or its host), whose packets the trace's
    drops are matched against; ``site``: which instance of the network (``home#14``), named
    when it has several; ``corporate``: whether that network is the organisation's own (an
    office)."""
    name = client_result["name"]
    network = client_result["network"]
    where = f"{network} (site {site})" if site and site != network else network
    lines = [f"Client {name} on network {where}:"]
    index = None
    if trace is not None and host is not None:
        index = trace if isinstance(trace, TraceIndex) else TraceIndex(trace)
        events = sorted([*events, *portal_logins(index.records, host, site or network)],
                        key=lambda e: e[0])
    for t, text in flapping.fold(events):
        lines.append(f"  t={t:.1f} s  {text}")
    nls_remedy = flapping.remedy(events)
    if nls_remedy:
        lines += ["", "Why it keeps switching between inside and outside:",
                  f"  remedy: {nls_remedy}"]
    failures = [a for a in client_result["attempts"] if a["result"] == "failed"]
    if failures:
        lines.append("")
        lines.append("Why it failed and what to do:")
    for group in _failure_groups(failures):
        lines += _failure_lines(group, index, host, network, site)
    lines += _check_lines(client_result, index, host, network, site)
    lines += above.above_lines(client_result)
    lines.append("")
    lines += _ending(client_result, corporate)
    return "\n".join(lines) + "\n"


def _failure_groups(failures: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Repeated failures of one method with one error, told once with all their times."""
    groups: list[list[dict[str, Any]]] = []
    for a in failures:
        if groups and (groups[-1][0]["method"], groups[-1][0].get("error"),
                       groups[-1][0]["reason"]) == (a["method"], a.get("error"), a["reason"]):
            groups[-1].append(a)
        else:
            groups.append([a])
    return groups


def _failure_lines(group: list[dict[str, Any]], index: TraceIndex | None, host: Any,
                   network: str, site: str | None) -> list[str]:
    """One group of failures: when, why, what the network dropped, and the remedy."""
    a = group[0]
    code = f" ({a['error']})" if a.get("error") else ""
    if len(group) == 1:
        when = f"at t={a['start_s']:.1f}–{a['end_s']:.1f} s"
    else:
        times = ", ".join(f"{g['end_s']:.1f}" for g in group)
        when = f"{len(group)} times, at t={times} s"
    lines = [f"  - {a['method']} failed {when}{code}: {a['reason']}"]
    seen: list[Cause] = []
    if index is not None:
        for g in group:
            seen += [c for c in drops_seen(index, host, g["start_s"], g["end_s"],
                                           network, site, a["method"]) if c not in seen]
        lines += [f"      the network dropped its packets {line}" for line in _grouped(seen)]
    symmetric: list[tuple[str, str]] = []
    if index is not None and "symmetric NAT" in a["reason"]:
        symmetric = index.per_destination(host, a["start_s"], a["end_s"])
        lines += [f"      the NAT that maps per destination: {text}" for _, text in symmetric]
    lines += _remedy_lines(seen, a, [nat for nat, _ in symmetric])
    return lines


def _grouped(causes: list[Cause], most: int = 3) -> list[str]:
    """The causes by device and mechanism: the first of each, and how many more like it."""
    groups: dict[tuple[str, str], list[Cause]] = {}
    for c in causes:
        groups.setdefault((c.device, c.mechanism), []).append(c)
    return [str(group[0]) + (f" (and {len(group) - 1} more like it)" if len(group) > 1
                             else "") for group in list(groups.values())[:most]]


def _remedy_lines(seen: list[Cause], attempt: dict[str, Any],
                  symmetric: Sequence[str] = ()) -> list[str]:
    """The remedy: the one the devices' drops point at, else the error code's."""
    remedy = next((text for key, text in DROP_REMEDIES.items()
                   if any(key in c.text for c in seen)), None)
    expired = next((c for c in seen if c.mechanism == "binding expiry"), None)
    if remedy is None and expired is not None:
        remedy = NAT_EXPIRY_REMEDY.format(nat=expired.device)
    if remedy is None and symmetric:
        remedy = SYMMETRIC_REMEDY.format(nat=" and ".join(symmetric))
    remedy = remedy or remedy_for(attempt)
    return [f"      remedy: {remedy}"] if remedy else []


def _check_lines(client_result: dict[str, Any], index: TraceIndex | None, host: Any,
                 network: str, site: str | None) -> list[str]:
    """The connectivity checks: how many were lost, whether the tunnel is degraded, and the
    device and mechanism that lost them."""
    probes = client_result.get("probes")
    if not probes or not probes["unanswered"]:
        return []
    sent = probes["answered"] + probes["unanswered"]
    state = (f"degraded (more than {DEGRADED_LOSS:.0%} lost)" if probes["degraded"]
             else "not degraded")
    lines = ["", f"Connectivity checks: {probes['answered']} of {sent} answered, "
             f"{probes['unanswered']} lost: {state}."]
    if index is None:
        return lines
    counts: dict[tuple[str, str], list] = {}
    for rec in index.lost_checks:
        if rec.node != client_result["name"]:
            continue
        causes = drops_seen(index, host, rec.fields["sent"], rec.t, network, site)
        cause = causes[0] if causes else Cause(   # the first device that lost it
            "no device", "no drop seen", "no device on the path reported dropping it")
        counts.setdefault((cause.device, cause.mechanism), [0, cause])[0] += 1
    for (device, mechanism), (n, cause) in sorted(counts.items(), key=lambda kv: -kv[1][0]):
        first = f"; the first: {cause.text}" if n > 1 else f": {cause.text}"
        lines.append(f"  - {n} lost at {device} ({mechanism}){first}")
    expired = [c for _, c in counts.values() if c.mechanism == "binding expiry"]
    if expired:
        lines.append("      remedy: " + NAT_EXPIRY_REMEDY.format(nat=expired[0].device))
    return lines


def _ending(client_result: dict[str, Any], corporate: bool) -> list[str]:
    """Where the client stands at the end of the run (and the NLS outage, when it thinks
    itself outside on a corporate network)."""
    name = client_result["name"]
    lines = []
    inside = client_result.get("location") == "inside"
    if corporate and client_result.get("location") == "outside":
        lines += [NLS_OUTAGE.format(name=name), ""]
    if inside:
        lines.append(f"At the end of the run {name} is inside the corporate network (the NLS "
                     "answered): it needs no DirectAccess tunnel.")
    elif above.ending(client_result):
        lines.append(above.ending(client_result))
    elif client_result["connected"]:
        probes = client_result.get("probes")
        degraded = (f", but degraded: {probes['unanswered']} of "
                    f"{probes['answered'] + probes['unanswered']} connectivity checks lost"
                    if probes and probes["degraded"] else "")
        ttc = client_result["time_to_connect_s"]
        first = next((u["t"] for u in client_result.get("uses", ()) if u["method"]), ttc)
        # a laptop that started late: the run's time, and how long after its own start
        when = f"t={first:.1f} s" if abs(first - ttc) < 0.05 else \
            f"t={first:.1f} s, {ttc:.1f} s after it started"
        lines.append(f"At the end of the run {name} reaches the corporate network over "
                     f"{client_result['method']} (first usable at {when}){degraded}.")
    else:
        err = client_result["last_error"]
        lines.append(f"At the end of the run {name} has no DirectAccess connectivity"
                     + (f"; last error {err}." if err else "."))
    return lines
