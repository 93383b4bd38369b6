"""Address plan: which prefixes a scenario's networks get, so that their addresses say what
they are (RFC 1918 for private, RFC 6598 for shared, a carrier's pseudo-public block, public
space for public networks)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Network

PUBLIC_SERVICES = IPv4Network("192.0.2.0/24")      # public DNS resolver, CRL web server
PUBLIC_DNS = IPv4Address("192.0.2.53")
PUBLIC_WEB = IPv4Address("192.0.2.80")
EDGE_POOL = IPv4Network("198.51.100.0/24")          # networks' public edge addresses
PSEUDO_PUBLIC = IPv4Network("25.0.0.0/8")           # used by some carriers behind CGN
PUBLIC_LANS = IPv4Network("62.0.0.0/8")
NATIVE_V6 = IPv6Network("2001:db8:8000::/33")


class AddressPlan:
    """Hands out prefixes by kind, in the order networks are built (deterministic)."""

    def __init__(self) -> None:
        self._n = {"private": 0, "shared": 0, "pseudo-public": 0, "public": 0}
        self._edge = 10
        self._v6 = 0

    def lan(self, addressing: str) -> IPv4Network:
        n = self._n[addressing]
        self._n[addressing] += 1
        if addressing == "private":
            return IPv4Network(f"10.{n % 250 + 1}.0.0/16")
        if addressing == "shared":
            return IPv4Network(f"100.{64 + n % 64}.0.0/16")
        if addressing == "pseudo-public":
            return IPv4Network(f"25.{n % 250 + 1}.0.0/16")
        return IPv4Network(f"62.{n % 250 + 1}.0.0/16")

    def edge(self) -> IPv4Address:
        addr = EDGE_POOL.network_address + self._edge
        self._edge += 1
        if addr not in EDGE_POOL:
            raise ValueError("too many networks for the edge address pool")
        return addr

    def native_v6(self) -> IPv6Network:
        self._v6 += 1
        return IPv6Network((int(NATIVE_V6.network_address) + (self._v6 << 64), 64))
