"""ICMP through a NAT (RFC 5508): echo queries, whose identifier plays the port (§3), and
errors, whose quoted packet is translated with the packet that carries it (§4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.net.host import EchoMessage
from sim.net.nat.config import EIF, EIM
from sim.net.nat.table import BindingTable, permit_key, rewrite
from sim.net.packet import ICMP, IPV6_IN_IPV4, Packet

if TYPE_CHECKING:
    from sim.net.nat.config import Behaviour
    from sim.net.nat.table import Binding


class IcmpTranslation(BindingTable):
    """The ICMP half of :class:`sim.net.nat.Nat`."""

    _filtering: Behaviour

    if TYPE_CHECKING:   # the NAT's own (sim.net.nat.gateway)

        def _filtered(self, pkt: Packet, b: Binding) -> None: ...

    def _outbound_echo(self, pkt: Packet, msg: EchoMessage) -> Packet | None:
        """ICMP query: the identifier plays the port (RFC 5508 §3)."""
        key = (ICMP, pkt.skey, msg.ident) if self._mapping is EIM else (
            ICMP, pkt.skey, msg.ident, pkt.dkey)
        b = self._map.get(key)
        if b is None:
            b = self._create(key, ICMP, pkt, msg.ident)
            if b is None:
                return None
        b.expires = self._env.now + b.timeout
        if self._filtering is not EIF:
            b.permits.add(permit_key(self._filtering, pkt.dkey, 0))
        new = rewrite(pkt, b.ext_addr, b.ext_key, 0, pkt.dst, pkt.dkey, 0)
        if b.ext_port != msg.ident:
            new.payload = EchoMessage(msg.kind, b.ext_port, msg.seq)
        if self._trace.on:
            self.kernel.log(self.name, "translate", direction="out", before=pkt, after=new)
        return new

    def _inbound_echo(self, pkt: Packet, msg: EchoMessage) -> Packet | None:
        """An echo reply goes to the inside host whose request took that identifier, if the
        filtering lets the remote in."""
        b = self._rev.get((ICMP, pkt.dkey, msg.ident))
        if b is None:
            self.counters["no_mapping"] += 1
            return self._drop(pkt, "no mapping for inbound ICMP echo reply")
        f = self._filtering
        if f is not EIF and permit_key(f, pkt.skey, 0) not in b.permits:
            return self._filtered(pkt, b)
        if self._inbound_refresh:
            b.expires = self._env.now + b.timeout
        new = rewrite(pkt, pkt.src, pkt.skey, 0, b.in_addr, b.in_key, 0)
        if b.in_port != msg.ident:
            new.payload = EchoMessage(msg.kind, b.in_port, msg.seq)
        if self._trace.on:
            self.kernel.log(self.name, "translate", direction="in", before=pkt, after=new)
        return new

    def _outbound_icmp_error(self, pkt: Packet) -> Packet | None:
        """An inside host reports an error about a packet it received: the quoted packet's
        destination is the inside endpoint and becomes the external one (RFC 5508 §4)."""
        inner = pkt.inner
        b = self._binding_for_quoted(inner, inside=True)
        if b is None:
            return self._drop(pkt, "ICMP error about a flow with no mapping")
        new = rewrite(pkt, b.ext_addr, b.ext_key, 0, pkt.dst, pkt.dkey, 0)
        new.inner = rewrite(inner, inner.src, inner.skey, inner.sport, b.ext_addr, b.ext_key,
                            b.ext_port if inner.proto != ICMP else 0)
        if self._trace.on:
            self.kernel.log(self.name, "translate", direction="out", before=pkt, after=new)
        return new

    def _inbound_icmp_error(self, pkt: Packet) -> Packet | None:
        """An ICMP error about one of our translated packets (its quote carries the external
        source) goes back to the inside host with the quote translated too (RFC 5508 §4).
        Errors come from any router on the path, so they are not filtered, and they do not
        refresh the binding."""
        inner = pkt.inner
        b = self._binding_for_quoted(inner, inside=False)
        if b is None or b.ext_addr != pkt.dst:
            self.counters["no_mapping"] += 1
            return self._drop(pkt, "no mapping for the packet quoted in an inbound ICMP error")
        new = rewrite(pkt, pkt.src, pkt.skey, 0, b.in_addr, b.in_key, 0)
        if inner.proto == ICMP:
            quoted = rewrite(inner, b.in_addr, b.in_key, 0, inner.dst, inner.dkey, 0)
            msg = inner.payload
            if isinstance(msg, EchoMessage):
                quoted.payload = EchoMessage(msg.kind, b.in_port, msg.seq)
        else:
            quoted = rewrite(inner, b.in_addr, b.in_key, b.in_port, inner.dst, inner.dkey,
                             inner.dport)
        new.inner = quoted
        if self._trace.on:
            self.kernel.log(self.name, "translate", direction="in", before=pkt, after=new)
        return new

    def _binding_for_quoted(self, inner: Packet | None, inside: bool) -> Binding | None:
        """The binding of the flow an ICMP error quotes: ``inside``, the error comes from an
        inside host (about a packet it received), else from the outside (about one we sent)."""
        if inner is None:
            return None
        proto = inner.proto
        if proto == IPV6_IN_IPV4:
            return self._p41
        if proto == ICMP:
            ident = getattr(inner.payload, "ident", None)
            if ident is None:
                return None
            if inside:
                return None  # an inside host's error about an inbound echo: never mapped
            return self._rev.get((ICMP, inner.skey, ident))
        if inside:
            return self._map.get(self._inside_key(proto, inner))
        return self._rev.get((proto, inner.skey, inner.sport))
