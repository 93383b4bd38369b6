"""Which device lost a client's packets, and by which mechanism: the trace's drops, read with
the NAT bindings the trace saw made and expired.

A NAT drops an inbound packet for its *external* address, which is not the client's, so the
bindings are what ties such a drop to the client (through every NAT of a chain, NAT444). The
mechanisms named: a NAT binding that expired before the reply came back, or before the next
packet left (which then left by a new port), filtering by a NAT or a firewall, loss on a link,
and a NAT that maps per destination (symmetric). Nothing here decides an outcome: it reads
what the devices did.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from sim.scenario.view import ClientView, host_addresses

__all__ = ["Cause", "TraceIndex"]


@dataclass(frozen=True)
class Cause:
    """One device's part in a loss: its name, the mechanism and what it did."""

    device: str
    # binding expiry | new mapping | no mapping | not translated | filtering | state expiry
    # | link loss | drop
    mechanism: str
    text: str

    def __str__(self) -> str:
        return f"at {self.device} ({self.mechanism}): {self.text}"


@dataclass(frozen=True, slots=True)
class _Binding:
    node: str
    proto: str
    inside: str
    external: str
    remote: str
    created: float
    expired: float | None = None
    idle: float | None = None


def seconds(value: float) -> str:
    """``10 s``, ``30 ms``: a timeout as a person reads it."""
    return f"{value * 1000:g} ms" if value < 1 else f"{value:g} s"


def _endpoint(addr: Any, port: Any) -> str:
    return f"{addr}:{port}"


class TraceIndex:
    """A run's drops and NAT bindings, indexed once for every story told of the run."""

    def __init__(self, trace: list) -> None:
        self.records = trace
        self.drops = [r for r in trace if r.kind == "drop"]
        self.lost_checks = [r for r in trace if r.kind == "check-lost"]
        self._by_external: dict[str, list[_Binding]] = defaultdict(list)
        self._by_inside: dict[tuple[str, str], list[_Binding]] = defaultdict(list)
        open_: dict[tuple[str, str], _Binding] = {}
        for r in trace:
            if r.kind == "binding-created":
                f = r.fields
                b = _Binding(r.node, f["proto"], f["inside"], f["external"], f["remote"], r.t)
                open_[(r.node, f["external"])] = b
            elif r.kind == "binding-expired":
                b = open_.pop((r.node, r.fields["external"]), None)
                if b is not None:
                    b = _Binding(b.node, b.proto, b.inside, b.external, b.remote, b.created,
                                 r.t, r.fields["idle"])
                    self._add(b)
        for b in open_.values():
            self._add(b)

    def _add(self, b: _Binding) -> None:
        self._by_external[b.external].append(b)
        self._by_inside[(b.node, b.inside)].append(b)

    # -- who a packet belongs to ------------------------------------------------------------
    def _binding_at(self, external: str, t: float, node: str | None = None) -> _Binding | None:
        """The binding that held ``external`` at ``t``, or the last one before ``t``."""
        best = None
        for b in self._by_external.get(external, ()):
            if b.created <= t and (node is None or b.node == node) \
                    and (best is None or b.created > best.created):
                best = b
        return best

    def inside_of(self, endpoint: str, t: float) -> str:
        """The inside endpoint ``endpoint`` stands for at ``t``, through every NAT of a chain
        (itself when no NAT translated to it)."""
        for _ in range(8):   # a NAT chain is short; this bounds a loop in a broken trace
            b = self._binding_at(endpoint, t)
            if b is None:
                return endpoint
            endpoint = b.inside
        return endpoint

    def related(self, rec: Any, mine: set[str]) -> bool:
        """Whether the dropped packet of ``rec`` was the client's, or a reply to it."""
        pkt = rec.fields.get("pkt")
        if pkt is None:
            return False
        inner = getattr(pkt, "inner", None)
        addresses = {str(pkt.src), str(pkt.dst)}
        if inner is not None:
            addresses |= {str(inner.src), str(inner.dst)}
        if addresses & mine:
            return True
        for addr, port in ((pkt.src, pkt.sport), (pkt.dst, pkt.dport)):
            inside = self.inside_of(_endpoint(addr, port), rec.t)
            if inside.rpartition(":")[0] in mine:
                return True
        return False

    # -- why --------------------------------------------------------------------------------
    def cause(self, rec: Any) -> Cause:
        """The device and mechanism behind one drop."""
        node, reason, pkt = rec.node, rec.fields["reason"], rec.fields.get("pkt")
        if reason.startswith("no mapping for inbound packet to") and pkt is not None:
            gone = self._binding_at(_endpoint(pkt.dst, pkt.dport), rec.t, node)
            if gone is not None and gone.expired is not None and gone.expired <= rec.t:
                return Cause(node, "binding expiry", (
                    f"the reply to {gone.external} came {rec.t - gone.expired:.1f} s after "
                    f"its {gone.proto} binding from {gone.inside} expired "
                    f"(t={gone.expired:.1f} s, {seconds(gone.idle)} idle)"))
            return Cause(node, "no mapping", reason)
        if "does not match the UDP source" in reason and pkt is not None:
            moved = self._moved_mapping(_endpoint(pkt.src, pkt.sport), rec.t)
            if moved is not None:
                return replace(moved, text=f"{moved.text}; {node} dropped it: {reason}")
        if reason.startswith("filtered:"):
            return Cause(node, "filtering", reason.removeprefix("filtered: "))
        if reason.startswith(f"firewall {node}: "):
            mechanism = "state expiry" if "state expired" in reason else "filtering"
            return Cause(node, mechanism, reason.removeprefix(f"firewall {node}: "))
        if "has no ports to translate" in reason:
            return Cause(node, "not translated", reason)
        if reason.startswith("lost on link"):
            return Cause(node, "link loss", "the link lost the packet (its loss rate)")
        return Cause(node, "drop", reason)

    def _moved_mapping(self, external: str, t: float) -> Cause | None:
        """A packet that left by ``external`` where its inside endpoint had another external
        endpoint before: which NAT gave it the new one, and why (the old binding expired)."""
        b = self._binding_at(external, t)
        if b is None:
            return None
        earlier = [o for o in self._by_inside[(b.node, b.inside)]
                   if o.created < b.created and o.external != b.external
                   and o.expired is not None and o.expired <= b.created]
        if not earlier:
            return Cause(b.node, "new mapping", (
                f"{b.inside} left by {b.external}, a mapping made at t={b.created:.1f} s"))
        old = max(earlier, key=lambda o: o.expired or 0.0)
        return Cause(b.node, "binding expiry", (
            f"the {old.proto} binding {old.inside} -> {old.external} expired at "
            f"t={old.expired:.1f} s after {seconds(old.idle)} idle, and the next packet left by a "
            f"new port ({b.external}), which the Teredo address does not carry"))

    def causes(self, host: Any, start: float, end: float | None, keep: Any = None
               ) -> list[Cause]:
        """The causes of the client's drops between ``start`` and ``end``, in order of first
        appearance (``keep(rec)``: which drops count, e.g. only the client's own site)."""
        mine = {str(a) for a in (host.addresses if isinstance(host, ClientView)
                                 else host_addresses(host))}
        out: list[Cause] = []
        for rec in self.drops:
            if rec.t < start or (end is not None and rec.t > end):
                continue
            if (keep is None or keep(rec)) and self.related(rec, mine):
                cause = self.cause(rec)
                if cause not in out:
                    out.append(cause)
        return out

    def per_destination(self, host: Any, start: float, end: float | None
                        ) -> list[tuple[str, str]]:
        """The NATs that gave one inside endpoint of the client a new external port for
        another destination between ``start`` and ``end`` (symmetric, RFC 4787 §4.1): each
        NAT's name, and the two mappings that show it."""
        mine = {str(a) for a in (host.addresses if isinstance(host, ClientView)
                                 else host_addresses(host))}
        found = []
        for (node, inside), bindings in self._by_inside.items():
            live = [b for b in bindings if (end is None or b.created <= end)
                    and (b.expired is None or b.expired >= start)]
            if len({b.external for b in live}) < 2 or len({b.remote for b in live}) < 2:
                continue
            if self.inside_of(inside, live[0].created).rpartition(":")[0] not in mine:
                continue
            a, b = sorted(live, key=lambda x: x.created)[:2]
            found.append((node, f"{node} mapped {inside} to {a.external} towards "
                                f"{a.remote} and to {b.external} towards {b.remote}"))
        return sorted(found)
