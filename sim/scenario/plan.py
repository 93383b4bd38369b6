"""Address plan: which prefixes a scenario's networks get, so that their addresses say what
they are (RFC 1918 for private, RFC 6598 for shared, a carrier's pseudo-public block, public
space for public networks)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Network

from sim.errors import InputError

PUBLIC_SERVICES = IPv4Network("192.0.2.0/24")      # public DNS resolver, CRL web server
PUBLIC_DNS = IPv4Address("192.0.2.53")
PUBLIC_WEB = IPv4Address("192.0.2.80")
EDGE_POOL = IPv4Network("198.51.100.0/24")          # networks' public edge addresses
PSEUDO_PUBLIC = IPv4Network("25.0.0.0/8")           # used by some carriers behind CGN
PUBLIC_LANS = IPv4Network("62.0.0.0/8")
NATIVE_V6 = IPv6Network("2001:db8:8000::/33")
SHARD_SITES = IPv4Network("80.0.0.0/5")             # public space of fleet shards 1, 2, …
EDGE_LIMIT = 4096                                   # edge addresses per shard: its first /20


class AddressPlan:
    """Hands out prefixes by kind, in the order networks are built (deterministic).

    Shard 0 of a fleet (every scenario that fits in one shard) uses the documentation ranges
    above. Each further shard is another set of sites with the same private plan behind its
    own public addresses: the /16 number ``shard`` of ``SHARD_SITES``, edge addresses in its
    first /20 and public LANs as /20s after it, so that no two shards share a public address
    (nor, through it, a 6to4 prefix or a Teredo mapping)."""

    def __init__(self, shard: int = 0) -> None:
        self._n = {"private": 0, "shared": 0, "pseudo-public": 0, "public": 0}
        self._edge = 10
        self._v6 = 0
        self.shard = shard
        self._site = None if shard == 0 else \
            int(SHARD_SITES.network_address) + (shard << 16)
        if self._site is not None and self._site > int(SHARD_SITES.broadcast_address):
            raise InputError(f"shard {shard}: more shards than {SHARD_SITES} has /16 blocks")

    def lan(self, addressing: str) -> IPv4Network:
        n = self._n[addressing]
        self._n[addressing] += 1
        if addressing == "public" and self._site is not None:
            if n >= 15:
                raise InputError("too many public networks for a shard's /16")
            return IPv4Network((self._site + ((n + 1) << 12), 20))
        if addressing == "private":
            return IPv4Network(f"10.{n % 250 + 1}.0.0/16")
        if addressing == "shared":
            return IPv4Network(f"100.{64 + n % 64}.0.0/16")
        if addressing == "pseudo-public":
            return IPv4Network(f"25.{n % 250 + 1}.0.0/16")
        return IPv4Network(f"62.{n % 250 + 1}.0.0/16")

    def edge(self) -> IPv4Address:
        """The next public address for a network's edge: one per site, so a fleet of homes
        needs many. Shard 0 starts in ``EDGE_POOL`` and goes on in the unused /16 number 0 of
        ``SHARD_SITES``; a further shard uses the first /20 of its own /16."""
        n = self._edge
        self._edge += 1
        if n >= EDGE_LIMIT:
            raise InputError(f"more than {EDGE_LIMIT - 10} network sites in one shard: lower "
                             "shard_size or raise laptops_per_site")
        if self._site is not None:
            return IPv4Address(self._site + n)
        if n < 255:
            return EDGE_POOL.network_address + n
        return IPv4Address(int(SHARD_SITES.network_address) + n)

    def native_v6(self) -> IPv6Network:
        self._v6 += 1
        return IPv6Network((int(NATIVE_V6.network_address) + (self.shard << 80)
                            + (self._v6 << 64), 64))
