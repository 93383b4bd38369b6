"""DNS64 and NAT64 on the DirectAccess server: how IPv6-only DirectAccess clients reach
IPv4-only intranet hosts (C1-C3).

The DNS64 answers the NRPT's queries from the intranet's view. An AAAA query for a name that
has an AAAA record gets it as is; for a name that has only A records it gets AAAA records
synthesised from them inside the NAT64 prefix (RFC 6052 §2.2: with a /96 prefix the IPv4
address is the last 32 bits, as in the lab's ``fdc9:9f4e:eb1b:7777::a00:4`` for 10.0.0.4, C2).

The NAT64 is stateful (RFC 6146): a packet to an address of the prefix is translated to IPv4
(RFC 7915), from the server's internal IPv4 address and a port (or ICMP identifier) of its
own, and the answer is translated back through that binding. Bindings expire after RFC 6146's
default idle times (§4: UDP 5 min, TCP established 2 h 4 min, ICMP 60 s), checked when a
packet uses them: no timer per binding.

What cannot work follows: an IPv4 literal has no AAAA and no prefix address, so an IPv6-only
DirectAccess client sends it to its local network's gateway instead (C3).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import TYPE_CHECKING, Any

from sim.net.dns import NOERROR, QTYPES, DnsAnswer, DnsMessage, DnsServer
from sim.net.host import EchoMessage
from sim.net.packet import ICMP, ICMPV6, IPV4_HEADER, IPV6_HEADER, TCP, UDP, Packet

if TYPE_CHECKING:
    from sim.net.host import Host

# the test lab's prefix (C2): a ULA ending in 7777::, /96 by inference (assumption N4)
NAT64_PREFIX = IPv6Network("fdc9:9f4e:eb1b:7777::/96")
# RFC 6146 §4 defaults: UDP_Default 5 min, TCP_Est 2 h 4 min, ICMP_Default 60 s
BINDING_LIFETIME = {UDP: 300.0, TCP: 2 * 3600.0 + 240.0, ICMP: 60.0}
# the translator's IPv4 source: the server's internal address (the test lab's 10.0.0.x style)
NAT64_POOL = IPv4Address("10.0.0.2")
FIRST_PORT = 1024     # the translator's own ports and identifiers (RFC 6146 §3.5.1.1)


def synthesize(prefix: IPv6Network, ipv4: IPv4Address) -> IPv6Address:
    """The IPv4-embedded IPv6 address of ``ipv4`` in a /96 prefix (RFC 6052 §2.2)."""
    return IPv6Address(int(prefix.network_address) | int(ipv4))


def embedded(prefix: IPv6Network, address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address inside ``address``, if it is one of the prefix's (None otherwise)."""
    if address.version != 6 or address not in prefix:
        return None
    return IPv4Address(int(address) & 0xFFFFFFFF)


class Dns64Server(DnsServer):
    """A DNS server that synthesises AAAA answers from A records (C2); with ``synthesis``
    false it answers as a plain DNS server would (``server.dns64: false``)."""

    def __init__(self, host: Host, records: dict[str, Iterable[Any]] | None = None,
                 prefix: IPv6Network = NAT64_PREFIX, synthesis: bool = True) -> None:
        super().__init__(host, records)
        self.prefix = prefix
        self.synthesis = synthesis

    def answer(self, query: DnsMessage) -> DnsMessage:
        reply = super().answer(query)
        if not self.synthesis or query.qtype != QTYPES["AAAA"] or reply.rcode != NOERROR \
                or reply.answers:
            return reply      # a real AAAA answer goes back as is (C2)
        known = self.records[query.qname.lower().rstrip(".")]
        made = [DnsAnswer(synthesize(self.prefix, a.address), a.ttl)
                for a in known if a.address.version == 4]
        if made:
            reply.answers = made
        return reply


class Nat64:
    """The stateful translator: IPv6 packets to the prefix out as IPv4 from ``pool``, and
    their answers back (RFC 6146, RFC 7915)."""

    def __init__(self, prefix: IPv6Network, pool: IPv4Address,
                 now: Callable[[], float]) -> None:
        self.prefix = prefix
        self.pool = pool
        self.now = now
        # (proto, IPv6 source, its port or identifier) -> [own port, expiry]; and back
        self._out: dict[tuple, list] = {}
        self._back: dict[tuple[int, int], tuple] = {}
        self._next = FIRST_PORT

    def _binding(self, proto: int, src: IPv6Address, port: int) -> int:
        now, key = self.now(), (proto, src, port)
        entry = self._out.get(key)
        if entry is None or entry[1] <= now:   # idle past its lifetime: a new binding
            own = self._next
            self._next = FIRST_PORT if own >= 65535 else own + 1
            entry = self._out[key] = [own, 0.0]
            self._back[(proto, own)] = key
        entry[1] = now + BINDING_LIFETIME[proto]
        return entry[0]

    def outbound(self, pkt: Packet) -> Packet | None:
        """``pkt`` (IPv6, to the prefix) as the IPv4 packet the translator sends."""
        dst = embedded(self.prefix, pkt.dst)
        if dst is None:
            return None
        size = pkt.size - IPV6_HEADER + IPV4_HEADER
        if pkt.proto == ICMPV6:
            msg = pkt.payload
            if not isinstance(msg, EchoMessage):
                return None   # only echo is translated here (RFC 7915 §5.2)
            own = self._binding(ICMP, pkt.src, msg.ident)
            return Packet(self.pool, dst, ICMP, size=size,
                          payload=EchoMessage(msg.kind, own, msg.seq))
        if pkt.proto not in (TCP, UDP):
            return None
        own = self._binding(pkt.proto, pkt.src, pkt.sport)
        return Packet(self.pool, dst, pkt.proto, own, pkt.dport, size, pkt.payload,
                      flags=pkt.flags, seq=pkt.seq, ack=pkt.ack)

    def inbound(self, pkt: Packet) -> Packet | None:
        """The IPv4 answer ``pkt`` back as IPv6, through its binding (None: no binding)."""
        if pkt.proto == ICMP:
            msg = pkt.payload
            key = self._back.get((ICMP, getattr(msg, "ident", -1)))
        else:
            key = self._back.get((pkt.proto, pkt.dport))
        if key is None or self._out[key][1] <= self.now():
            return None
        src = synthesize(self.prefix, pkt.src)
        size = pkt.size - IPV4_HEADER + IPV6_HEADER
        if pkt.proto == ICMP:
            return Packet(src, key[1], ICMPV6, size=size,
                          payload=EchoMessage(pkt.payload.kind, key[2], pkt.payload.seq))
        return Packet(src, key[1], pkt.proto, pkt.sport, key[2], size, pkt.payload,
                      flags=pkt.flags, seq=pkt.seq, ack=pkt.ack)


class Nat64Gateway:
    """The NAT64 between the server's tunnels and its internal adapter on the corporate LAN:
    an IPv6 packet to the prefix goes out on the LAN as IPv4 from ``pool`` (an address of
    the internal adapter that is the translator's, not the host's), and what comes back to
    ``pool`` goes back to the client as IPv6."""

    def __init__(self, host: Host, internal: Any, pool: IPv4Address, prefix: IPv6Network,
                 now: Callable[[], float]) -> None:
        self.host = host
        self.nat64 = Nat64(prefix, pool, now)
        internal.link.learn(internal, pool)   # the LAN delivers the pool's packets here
        host.forward = self.forward

    def forward(self, pkt: Packet, _iface: Any) -> bool:
        nat64 = self.nat64
        out = nat64.outbound(pkt) if pkt.dst.version == 6 else \
            (nat64.inbound(pkt) if pkt.dst == nat64.pool else None)
        if out is None:
            return False
        self.host.send(out)
        return True
