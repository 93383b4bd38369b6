"""Light packets for the hot path: slotted objects, ``ipaddress`` addresses, no scapy.

A packet is treated as immutable once sent: a device that rewrites it (a NAT) makes a copy with
``replace``, so capture points keep what they saw. Encapsulation puts the inner packet in
``inner`` (IPv6 in IPv4 protocol 41, IPv6 in UDP for Teredo); TCP carries message objects in
``payload`` and their byte count in ``size``.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

from sim.net.fastpath import KeyedPacket, addr_key

__all__ = ["addr_key"]   # re-exported: its home is sim.net.fastpath

ICMP = 1
TCP = 6
UDP = 17
IPV6_IN_IPV4 = 41  # RFC 3056 §5: 6to4 encapsulation, no ports
ICMPV6 = 58

PROTO_NAMES = {ICMP: "icmp", TCP: "tcp", UDP: "udp", IPV6_IN_IPV4: "proto41", ICMPV6: "icmpv6"}

IPV4_HEADER = 20
IPV6_HEADER = 40
UDP_HEADER = 8
TCP_HEADER = 20

# TCP flags, as in the TCP header
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

Address = IPv4Address | IPv6Address


class Packet(KeyedPacket):
    """One IP packet: addresses, protocol, ports, TCP fields, size in bytes, payload, inner.

    Its fields, its addresses' keys (``skey``, ``dkey``) and what makes it its own SimPy
    event while it crosses a link are set by ``sim.net.fastpath.KeyedPacket``."""

    __slots__ = ()

    def replace(self, **changes: Any) -> Packet:
        """A copy with some fields changed (a NAT's rewrite)."""
        fields = {name: changes[name] if name in changes else getattr(self, name)
                  for name in _FIELDS}
        return Packet(**fields)   # new keys, and not in flight

    @property
    def version(self) -> int:
        return self.dst.version

    def flow(self) -> tuple:
        """The 5-tuple that identifies the packet's flow."""
        return (self.proto, self.src, self.sport, self.dst, self.dport)

    def __repr__(self) -> str:
        proto = PROTO_NAMES.get(self.proto, str(self.proto))
        ports = f":{self.sport}->{self.dst}:{self.dport}" if self.proto in (TCP, UDP) else (
            f"->{self.dst}")
        text = f"<{proto} {self.src}{ports} {self.size}B"
        if self.flags:
            text += " " + tcp_flags_text(self.flags)
        if self.inner is not None:
            text += f" [{self.inner!r}]"
        elif self.payload is not None:
            text += f" {type(self.payload).__name__}"
        return text + ">"


_FIELDS = ("src", "dst", "proto", "sport", "dport", "size", "payload", "inner", "flags", "seq",
           "ack", "ttl")


def tcp_flags_text(flags: int) -> str:
    return "".join(n for bit, n in ((SYN, "S"), (ACK, "A"), (FIN, "F"), (RST, "R"), (PSH, "P"))
                   if flags & bit)


def udp(src: Address, sport: int, dst: Address, dport: int, payload: Any = None,
        payload_size: int = 0, inner: Packet | None = None) -> Packet:
    """A UDP datagram; its size counts the IP and UDP headers, the payload and the inner
    packet."""
    body = payload_size + (inner.size if inner is not None else 0)
    header = IPV4_HEADER if dst.version == 4 else IPV6_HEADER
    return Packet(src, dst, UDP, sport, dport, header + UDP_HEADER + body, payload, inner)


def encapsulate_6in4(src: IPv4Address, dst: IPv4Address, inner: Packet) -> Packet:
    """IPv6 directly inside IPv4, protocol 41 (RFC 3056 §5)."""
    return Packet(src, dst, IPV6_IN_IPV4, size=IPV4_HEADER + inner.size, inner=inner)


class IcmpError:
    """An ICMP error message (RFC 792: destination unreachable, time exceeded). The offending
    packet travels in the ICMP packet's ``inner``, so NATs can translate it back (RFC 5508 §4)
    and the sender can tell which flow failed."""

    __slots__ = ("code", "kind")

    def __init__(self, kind: str, code: int = 0) -> None:
        self.kind = kind
        self.code = code

    def __repr__(self) -> str:
        return f"IcmpError({self.kind!r}, {self.code})"


# ICMP destination-unreachable codes (RFC 792, RFC 1812 §5.2.7.1)
PORT_UNREACHABLE = 3
ADMIN_PROHIBITED = 13
# ICMPv6 destination unreachable, "communication with destination administratively
# prohibited" (RFC 4443 §3.1)
ADMIN_PROHIBITED_V6 = 1
ICMPV6_ERROR_QUOTE = 1280 - IPV6_HEADER - 8   # as much as fits the minimum MTU (RFC 4443 §2.4)


def icmp_error(src: Address, offending: Packet, kind: str = "dest-unreachable",
               code: int = PORT_UNREACHABLE) -> Packet:
    """An ICMP error from ``src`` about ``offending``, sent back to its source; it quotes the
    IP header and 8 bytes of the offending packet (RFC 792)."""
    return Packet(src, offending.src, ICMP, size=IPV4_HEADER + 8 + IPV4_HEADER + 8,
                  payload=IcmpError(kind, code), inner=offending)


def icmpv6_error(src: Address, offending: Packet, code: int = ADMIN_PROHIBITED_V6) -> Packet:
    """An ICMPv6 destination unreachable from ``src`` about ``offending``, sent back to its
    source; it quotes as much of the offending packet as fits in 1280 bytes (RFC 4443)."""
    return Packet(src, offending.src, ICMPV6,
                  size=IPV6_HEADER + 8 + min(offending.size, ICMPV6_ERROR_QUOTE),
                  payload=IcmpError("dest-unreachable", code), inner=offending)
