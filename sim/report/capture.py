"""What a capture point saw, for people: a one-line summary of each packet, and who owns an
address. Capture points themselves are the view's (``PreparedRun.capture``); the sequence
diagram follows packets across devices (``sim.report.journeys``)."""

from __future__ import annotations

from typing import Any

from sim.directaccess.ipsec.wire import ESP, IKE_PORT
from sim.net import packet as p
from sim.scenario.capture import Capture
from sim.scenario.view import prepared, view_of

__all__ = ["Capture", "attach_capture", "names_by_address", "summary"]


def attach_capture(run: Any, point: str | None) -> Capture:
    """Start recording at ``point`` of a prepared run (or a Simulation): ``client:NAME`` (the
    laptop's NIC, the default is the first client), ``nat:NETWORK`` (the network edge's
    outside), or ``server``."""
    return prepared(run).capture(point)


def summary(pkt: p.Packet) -> str:
    """``Teredo RS``, ``TLS Certificate``, ``TCP SYN`` … for diagrams."""
    inner = pkt.inner
    payload = pkt.payload
    if pkt.proto == p.IPV6_IN_IPV4 and inner is not None:
        return "6to4 " + summary(inner)
    if pkt.proto == ESP:
        return "ESP"   # encrypted: what it carries is not shown, as in a capture
    if pkt.proto == p.UDP:
        if IKE_PORT in (pkt.sport, pkt.dport):
            return "IKE"
        if inner is not None and (pkt.sport == 3544 or pkt.dport == 3544):
            return "Teredo " + summary(inner)
        if hasattr(payload, "qname"):
            return f"DNS {'answer' if payload.response else 'query'} {payload.qname}"
        return f"UDP {pkt.dport}"
    if pkt.proto == p.TCP:
        if payload is None:
            return "TCP " + p.tcp_flags_text(pkt.flags)
        name = getattr(payload, "name", None)
        if name:
            return f"TLS {name}"
        if hasattr(payload, "method"):
            return f"HTTP {payload.method} {payload.target[:32]}"
        if hasattr(payload, "status"):
            return f"HTTP {payload.status}"
        if isinstance(payload, p.Packet):
            return "IP-HTTPS " + summary(payload)
        return "TCP data"
    kind = getattr(payload, "kind", None)
    if kind:
        return {"router-solicitation": "RS", "router-advertisement": "RA",
                "echo-request": "echo request", "echo-reply": "echo reply"}.get(kind, kind)
    return p.PROTO_NAMES.get(pkt.proto, str(pkt.proto))


def names_by_address(run: Any, site: str | None = None) -> dict[Any, str]:
    """Every address in the run's topology → the name of the device that owns it, the
    devices of ``site`` first (``RunView.names_by_address``)."""
    return view_of(run).names_by_address(site)
