"""What a capture point saw, for people: a one-line summary of each packet and the hops of a
sequence diagram. Capture points themselves are the view's (``PreparedRun.capture``)."""

from __future__ import annotations

from typing import Any

from sim.net import packet as p
from sim.scenario.capture import Capture
from sim.scenario.view import prepared, view_of

__all__ = ["Capture", "attach_capture", "names_by_address", "sequence_hops", "summary"]


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
    if pkt.proto == p.UDP:
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


SEQUENCE_LIMIT = 60   # hops a sequence diagram draws; more would not be read


def sequence_hops(run: Any, client_name: str, records: list,
                  limit: int = SEQUENCE_LIMIT) -> tuple[list[tuple], int]:
    """The first ``limit`` packets a laptop's NIC saw, as sequence-diagram hops ``(time, from,
    to, label, dropped_by)``, and how many there were. ``dropped_by`` names the device that
    dropped a packet the laptop sent (from the trace, which must be on): the packet itself,
    or a translated copy that carries its payload, counted against the latest sending of
    that payload before the drop (a retransmission carries the same one). ``dasim explain``
    tells why."""
    view = view_of(run)
    client = view.client(client_name)
    names = view.names_by_address(client.site)
    sent: dict[int, int] = {}                  # id(packet) -> its record's index
    by_payload: dict[int, list[int]] = {}      # id(payload) -> the records that carried it
    for i, (_t, direction, pkt) in enumerate(records):
        if direction == "out":
            sent[id(pkt)] = i
            if pkt.payload is not None:
                by_payload.setdefault(id(pkt.payload), []).append(i)
    dropped: dict[int, str] = {}
    for rec in view.trace:
        if rec.kind != "drop":
            continue
        pkt = rec.fields["pkt"]
        i = sent.get(id(pkt))
        if i is None and pkt.payload is not None:
            earlier = [j for j in by_payload.get(id(pkt.payload), ()) if records[j][0] <= rec.t]
            i = earlier[-1] if earlier else None
        if i is not None:
            dropped.setdefault(i, rec.node)
    hops = []
    for i, (t, direction, pkt) in enumerate(records[:limit]):
        if direction == "out":
            hops.append((t, client.name, names.get(pkt.dst, str(pkt.dst)), summary(pkt),
                         dropped.get(i)))
        else:
            hops.append((t, names.get(pkt.src, str(pkt.src)), client.name, summary(pkt), None))
    return hops, len(records)
