"""Teredo on the wire (RFC 4380): the constants, addresses and their obfuscation, the headers
that precede the IPv6 packet, and the router solicitations every client sends."""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from sim.net.icmpv6 import ALL_ROUTERS, RS_SIZE, RouterSolicitation
from sim.net.internet import PRIVATE_V4, SPECIAL_V4
from sim.net.packet import ICMPV6, IPV6_HEADER, Packet

TEREDO_PORT = 3544                      # RFC 4380 §2.8 / IANA
TEREDO_PREFIX = IPv6Network("2001::/32")
CONE_FLAG = 0x8000                      # RFC 4380 §4: the C bit of the flags field
TEREDO_MTU = 1280                       # RFC 4380 §5.1
RS_TIMEOUT = 4.0                        # RFC 4380 §5.2.1 (T, from RFC 2461)
RS_TRIES = 3                            # RFC 4380 §5.2.1 (N); Miredo sends 3 in total (F2.3)
REFRESH_INTERVAL = 30.0                 # RFC 4380 §5.2.5; Windows "Client Refresh Interval"
AUTH_HEADER_SIZE = 13                   # indicator type, id-len, auth-len, 8-byte nonce, conf.
ORIGIN_SIZE = 8                         # RFC 4380 §5.1.1
# Link-local RS sources, as in the reference capture (Miredo): cone bit in the flags position.
LINK_LOCAL_CONE = IPv6Address("fe80::8000:ffff:ffff:ffff")
LINK_LOCAL_NO_CONE = IPv6Address("fe80::ffff:ffff:ffff")
# RFC 4380 §5.2.4 / §5.3.1: sources a server must not answer (F3.9).
NOT_GLOBAL_V4 = [*PRIVATE_V4, *SPECIAL_V4, IPv4Network("192.88.99.0/24")]


def is_global_ipv4(addr: IPv4Address) -> bool:
    """RFC 4380's notion of a global IPv4 address (it predates RFC 6598, so 100.64.0.0/10
    counts as global, like Miredo's v4global.c; F4.8)."""
    return not any(addr in net for net in NOT_GLOBAL_V4)


def teredo_address(server: IPv4Address, mapped: IPv4Address, port: int, cone: bool,
                   random_bits: int = 0) -> IPv6Address:
    """2001:0:SSSS:SSSS:FLAGS:~port:~addr (RFC 4380 §4). ``random_bits`` fill the 12 "A" bits
    of Windows' flags layout C R A A A A U G A A A A A A A A (RFC 5991, F3.19)."""
    flags = CONE_FLAG if cone else 0
    flags |= ((random_bits >> 8) & 0xF) << 10 | (random_bits & 0xFF)
    value = (0x20010000 << 96) | (int(server) << 64) | (flags << 48) \
        | ((port ^ 0xFFFF) << 32) | (int(mapped) ^ 0xFFFFFFFF)
    return IPv6Address(value)


@dataclass(frozen=True)
class TeredoAddressInfo:
    server: IPv4Address
    flags: int
    port: int
    mapped: IPv4Address

    @property
    def cone(self) -> bool:
        return bool(self.flags & CONE_FLAG)


def parse_teredo_address(addr: IPv6Address) -> TeredoAddressInfo | None:
    """Undo the obfuscation of a Teredo address (None when ``addr`` is not one)."""
    if addr not in TEREDO_PREFIX:
        return None
    value = int(addr)
    return TeredoAddressInfo(
        server=IPv4Address((value >> 64) & 0xFFFFFFFF),
        flags=(value >> 48) & 0xFFFF,
        port=((value >> 32) & 0xFFFF) ^ 0xFFFF,
        mapped=IPv4Address((value & 0xFFFFFFFF) ^ 0xFFFFFFFF),
    )


class TeredoHeaders:
    """What precedes the IPv6 packet in a Teredo datagram (RFC 4380 §5.1.1): the
    authentication indicator (with the nonce an RA must echo) and the origin indication."""

    __slots__ = ("nonce", "origin")

    def __init__(self, nonce: bytes | None = None,
                 origin: tuple[IPv4Address, int] | None = None) -> None:
        self.nonce = nonce
        self.origin = origin

    @property
    def size(self) -> int:
        return (AUTH_HEADER_SIZE if self.nonce is not None else 0) + \
            (ORIGIN_SIZE if self.origin is not None else 0)


def server_link_local(server: IPv4Address) -> IPv6Address:
    """The link-local address a Teredo server sends its RAs from (RFC 4861 §4.2: an RA's
    source is the router's link-local address), formed as Miredo forms it and as the reference
    capture shows (fe80::8000:f227:34ff:8efe for 203.0.113.1): the interface identifier of a
    Teredo address (RFC 4380 §4) with the cone flag, the Teredo port and the server's primary
    IPv4 address, the last two obfuscated."""
    return IPv6Address((0xFE80 << 112) | (CONE_FLAG << 48) | ((TEREDO_PORT ^ 0xFFFF) << 32)
                       | (int(server) ^ 0xFFFFFFFF))


# Every RS of a kind is the same IPv6 packet (link-local source with or without the cone bit,
# all-routers destination): one shared, immutable instance each.
_RS_CONE = Packet(LINK_LOCAL_CONE, ALL_ROUTERS, ICMPV6, size=IPV6_HEADER + RS_SIZE,
                  payload=RouterSolicitation())
_RS_NO_CONE = Packet(LINK_LOCAL_NO_CONE, ALL_ROUTERS, ICMPV6, size=IPV6_HEADER + RS_SIZE,
                     payload=RouterSolicitation())

