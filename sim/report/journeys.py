"""Journeys: each packet of a laptop followed from device to device, for the sequence diagram
and the per-hop trace.

The input is what the taps saw (``RunView``/``PreparedRun.tap_path``: every crossing of the
laptop's NIC and of the devices on its path, in order) and the trace: a NAT's ``translate``
record ties the packet it received to the copy it sent on, so a packet and its translations
are one *family*; a ``drop`` names the device (or stage) that dropped a member. A journey is a
family's legs, lifeline to lifeline, each with the packet as it crossed that leg (both sides
of every translation), and where it ended: delivered, or dropped by whom and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.net import packet as p
from sim.report.capture import summary


@dataclass(frozen=True)
class Leg:
    """One hop of a journey: from one lifeline to the next, at ``t``, as ``pkt``."""

    src: str
    dst: str
    t: float
    pkt: Any


@dataclass(frozen=True)
class Journey:
    """One packet's way: its legs, what it was (``TLS ServerHello``), who dropped it (a
    lifeline) and why, and whether it was translated on the way."""

    legs: tuple[Leg, ...]
    label: str
    dropped_by: str | None = None
    reason: str | None = None

    @property
    def t(self) -> float:
        return self.legs[0].t

    @property
    def translated(self) -> bool:
        ends = {(leg.pkt.src, leg.pkt.sport, leg.pkt.dst, leg.pkt.dport) for leg in self.legs}
        return len(ends) > 1


def endpoints(pkt: Any) -> str:
    """``10.3.0.10:49876 → 131.107.0.1:443`` (addresses only, for ICMP and protocol 41)."""
    if pkt.proto in (p.TCP, p.UDP):
        return f"{_ep(pkt.src, pkt.sport)} → {_ep(pkt.dst, pkt.dport)}"
    return f"{pkt.src} → {pkt.dst}"


def _ep(addr: Any, port: int) -> str:
    return f"[{addr}]:{port}" if addr.version == 6 else f"{addr}:{port}"


class Families:
    """Packets grouped by translation: a family is a packet and the copies NATs made of it."""

    def __init__(self, trace: list) -> None:
        self._pred: dict[int, Any] = {}
        self.drops: dict[int, tuple[str, str]] = {}
        self.answers: dict[int, Any] = {}   # id(rejected packet) -> the firewall's answer
        for rec in trace:
            if rec.kind == "translate":
                self._pred[id(rec.fields["after"])] = rec.fields["before"]
            elif rec.kind == "drop":
                self.drops.setdefault(id(rec.fields["pkt"]), (rec.node, rec.fields["reason"]))
            elif rec.kind == "reject":
                self.answers[id(rec.fields["pkt"])] = rec.fields["answer"]

    def root(self, pkt: Any) -> Any:
        """The packet as first sent, before any NAT translated it."""
        seen = 0
        while id(pkt) in self._pred and seen < 16:   # a packet crosses a few NATs at most
            pkt = self._pred[id(pkt)]
            seen += 1
        return pkt


def group(crossings: list, families: Families) -> dict[int, list]:
    """The crossings of each family, by the id of its root, in the order they happened."""
    out: dict[int, list] = {}
    for c in crossings:
        out.setdefault(id(families.root(c.pkt)), []).append(c)
    return out


def journey(crossings: list, families: Families, names: dict, owner: dict[str, str]
            ) -> Journey:
    """One family's journey: a leg into each device that received it; from the last device
    that sent it on, a leg to the owner of its destination address; ending at the device
    that dropped it, if one did (``owner`` maps a stage to its gateway: a NAT's drop is drawn
    on its gateway's lifeline)."""
    first = crossings[0]
    here = first.device if first.direction == "out" else names.get(first.pkt.src,
                                                                    str(first.pkt.src))
    legs: list[Leg] = []
    last = first.pkt
    dropped = reason = None
    for c in crossings:
        last = c.pkt
        if c.direction == "in" and c.device != here:
            legs.append(Leg(here, c.device, c.t, c.pkt))
            here = c.device
        drop = _drop_of(c.pkt, families)
        if drop is not None and owner.get(drop[0], drop[0]) == here:
            dropped, reason = here, drop[1]
            break
    if dropped is None and crossings[-1].direction == "out":
        dst = names.get(last.dst, str(last.dst))
        drop = _drop_of(last, families)
        legs.append(Leg(here, owner.get(drop[0], drop[0]) if drop else dst,
                        crossings[-1].t, last))
        if drop is not None:
            dropped, reason = legs[-1].dst, drop[1]
    if not legs:   # seen only where it was sent, and dropped there (no route)
        drop = _drop_of(last, families)
        legs.append(Leg(here, names.get(last.dst, str(last.dst)), first.t, last))
        if drop is not None:
            dropped, reason = here, drop[1]
    return Journey(tuple(legs), summary(first.pkt), dropped, reason)


def _drop_of(pkt: Any, families: Families) -> tuple[str, str] | None:
    return families.drops.get(id(pkt))


def laptop_journeys(crossings: list, trace: list, laptop: str, names: dict,
                    owner: dict[str, str], limit: int | None = None,
                    origins: frozenset[str] = frozenset()) -> list[Journey]:
    """The journeys of laptop ``laptop``'s packets: every family that crossed its NIC, and
    those that never reached it although addressed to it, at its address or at a NAT's
    mapping of one of its ports (a NAT's drop of the cone test's answers, a firewall's
    answer dropped on its way back); and every family sent by a device of ``origins`` (its
    proxy's own connections, when the proxy serves it alone) with their answers."""
    families = Families(trace)
    grouped = group(crossings, families)
    mine, ends = [], set()
    for key, cs in grouped.items():
        if any(c.device == laptop for c in cs) or (cs[0].device in origins
                                                   and cs[0].direction == "out"):
            mine.append(key)
            for c in cs:   # the laptop's end of its flows, before and after each NAT
                out = c.pkt.src if _outbound(cs) else c.pkt.dst
                port = c.pkt.sport if _outbound(cs) else c.pkt.dport
                ends.add((out, port if c.pkt.proto in (p.TCP, p.UDP) else None))
    chosen = set(mine)
    for key, cs in grouped.items():
        if key in chosen:
            continue
        pkt = cs[0].pkt
        port = pkt.dport if pkt.proto in (p.TCP, p.UDP) else None
        if (pkt.dst, port) in ends or (pkt.dst, None) in ends:
            chosen.add(key)
    out = [journey(cs, families, names, owner) for key, cs in grouped.items() if key in chosen]
    return out[:limit] if limit is not None else out


def _outbound(crossings: list) -> bool:
    return crossings[0].direction == "out"
