"""ICMPv6 router discovery messages (RFC 4861 §4.1, §4.2) as light payload objects.

Teredo qualification and IP-HTTPS both end with a router solicitation answered by a router
advertisement that carries the prefix the client builds its address from.
"""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

ALL_ROUTERS = IPv6Address("ff02::2")
RS_SIZE = 8          # ICMPv6 RS with no options
RA_BASE_SIZE = 16    # ICMPv6 RA header
PREFIX_OPTION_SIZE = 32
MTU_OPTION_SIZE = 8


class RouterSolicitation:
    """ICMPv6 type 133."""

    __slots__ = ()
    kind = "router-solicitation"
    size = RS_SIZE


class RouterAdvertisement:
    """ICMPv6 type 134 with one Prefix Information option and an MTU option."""

    __slots__ = ("lifetime", "mtu", "prefix")
    kind = "router-advertisement"

    def __init__(self, prefix: IPv6Network, mtu: int = 1280, lifetime: int = 0) -> None:
        self.prefix = prefix
        self.mtu = mtu
        self.lifetime = lifetime

    @property
    def size(self) -> int:
        return RA_BASE_SIZE + PREFIX_OPTION_SIZE + MTU_OPTION_SIZE
