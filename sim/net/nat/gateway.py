"""The NAT as a gateway stage: its two verbs, ``outbound`` and ``inbound``.

Like Tailscale natlab's NAT, ``outbound`` picks the outside source of a packet leaving the
network and ``inbound`` picks the inside destination of a packet arriving; ``None`` means
"drop" (the reason is traced). UDP and TCP are translated here; ICMP and protocol 41 in
``sim.net.nat.icmp`` and ``sim.net.nat.proto41``; the table in ``sim.net.nat.table``.

A binding remembers the last remote it sent to and admitted, so a steady flow skips the
filter set.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from sim.net.fastpath import addr_key
from sim.net.nat.config import ADF, ADM, EIF, EIM, NatConfig
from sim.net.nat.icmp import IcmpTranslation
from sim.net.nat.proto41 import Proto41Passthrough
from sim.net.nat.table import PORTED, Binding, rewrite
from sim.net.nat.unreplied import UnrepliedHold
from sim.net.packet import ICMP, IPV6_IN_IPV4, TCP, UDP, IcmpError, Packet

if TYPE_CHECKING:
    from sim.net.kernel import Kernel
    from sim.net.router import Gateway


class Nat(IcmpTranslation, Proto41Passthrough, UnrepliedHold):
    """A NAT44 gateway stage with an external address pool. IPv6 passes untouched (no NAT66);
    protocols without ports other than ICMP are dropped, except protocol 41 for one inside
    host with ``proto41_passthrough``."""

    def __init__(self, kernel: Kernel, name: str, external_addresses: Iterable[Any],
                 config: NatConfig | None = None) -> None:
        self.kernel = kernel
        self.name = name
        self.config = config = config or NatConfig()
        pool = tuple(a if isinstance(a, IPv4Address) else IPv4Address(a)
                     for a in external_addresses)
        if not pool:
            raise ValueError(f"NAT {name}: no external address")
        self.external_addresses = pool
        self._pool = tuple((a, addr_key(a)) for a in pool)
        self._ext_keys = {addr_key(a) for a in pool}
        self._env = kernel.env
        self._trace = kernel.trace
        self._mapping = config.mapping
        self._filtering = config.filtering
        self._alloc = config.port_allocation
        self._lo, self._hi = config.port_range
        self._paired = config.pooling == "paired"
        self._inbound_refresh = config.inbound_refresh
        self._udp_timeout = config.udp_timeout
        self._established = config.tcp_established_timeout
        self._transitory = config.tcp_transitory_timeout
        self._rng = kernel.rng(f"nat:{name}:ports")
        self._map: dict[tuple, Binding] = {}
        self._rev: dict[tuple, Binding] = {}
        self._pairs: dict[int, tuple[IPv4Address, int]] = {}
        self._next_pool = 0
        self._next_port: dict[tuple, int] = {}
        self._p41: Binding | None = None
        self._hold = config.unreplied_hold
        self._held: dict[tuple, float] = {}   # (ext key, ext port, remote key, port) -> until
        self.gateway: Gateway | None = None
        self.counters: dict[str, int] = {
            "bindings_created": 0, "bindings_expired": 0, "reboots": 0, "dropped": 0,
            "filtered": 0, "no_mapping": 0, "port_exhausted": 0, "proto41_dropped": 0,
        }

    def attach(self, gateway: Gateway) -> None:
        """Called by ``Gateway.add_stage``: the gateway hairpins as this NAT is configured."""
        self.gateway = gateway
        gateway.hairpinning = self.config.hairpinning

    # -- outbound

    def outbound(self, pkt: Packet) -> Packet | None:
        """Pick the outside source: find or create the binding, refresh it (RFC 4787 REQ-6),
        remember the destination for filtering, return the translated copy."""
        proto = pkt.proto
        if proto not in PORTED:
            return self._outbound_other(pkt)
        dst = pkt.dst
        dport = pkt.dport
        m = self._mapping   # what identifies the session (RFC 4787 §4.1)
        if m is EIM:
            key = (proto, pkt.skey, pkt.sport)
        elif m is ADM:
            key = (proto, pkt.skey, pkt.sport, pkt.dkey)
        else:
            key = (proto, pkt.skey, pkt.sport, pkt.dkey, dport)
        b = self._map.get(key)
        if b is None:
            if pkt.src.version != 4:
                return pkt
            b = self._create(key, proto, pkt, pkt.sport)
            if b is None:
                return None
        if proto == UDP and (self._held or self._flows):
            b = self._unheld(b, pkt)
            if b is None:
                return None
        if proto == UDP:
            b.expires = self._env.now + b.timeout
        else:
            self._tcp_seen(b, pkt.flags, True)
        if dst is not b.last_dst or dport != b.last_dport:
            # a new remote for filtering (the same one again costs two compares)
            b.last_dst = dst
            b.last_dport = dport
            f = self._filtering   # permit_key, inline
            if f is not EIF:
                b.permits.add(pkt.dkey if f is ADF else pkt.dkey << 16 | dport)
        new = rewrite(pkt, b.ext_addr, b.ext_key, b.ext_port, dst, pkt.dkey, dport)
        if self._trace.on:
            self.kernel.log(self.name, "translate", direction="out", before=pkt, after=new)
        return new

    def _outbound_other(self, pkt: Packet) -> Packet | None:
        if pkt.dst.version != 4:
            return pkt  # IPv6 (native, ICMPv6): not translated
        proto = pkt.proto
        if proto == ICMP:
            msg = pkt.payload
            if isinstance(msg, IcmpError):
                return self._outbound_icmp_error(pkt)
            if getattr(msg, "kind", None) == "echo-request":
                return self._outbound_echo(pkt, msg)
            return self._drop(pkt, f"ICMP {getattr(msg, 'kind', '?')} has no mapping to "
                                   "translate")
        if proto == IPV6_IN_IPV4:
            return self._outbound_proto41(pkt)
        return self._drop(pkt, f"protocol {proto} has no ports to translate: dropped by NAT")

    # -- inbound

    def inbound(self, pkt: Packet) -> Packet | None:
        """Pick the inside destination: the binding that owns the external port, if the
        filtering behaviour lets this remote in (RFC 4787 §5)."""
        proto = pkt.proto
        if proto not in PORTED:
            return self._inbound_other(pkt)
        b = self._rev.get((proto, pkt.dkey, pkt.dport))
        if b is None:
            return self._inbound_miss(pkt)
        src = pkt.src
        sport = pkt.sport
        if src is not b.last_src or sport != b.last_sport:
            # not the remote admitted last time (permits only grow while b lives)
            f = self._filtering   # permit_key, inline
            if f is not EIF and (pkt.skey if f is ADF else pkt.skey << 16 | sport) \
                    not in b.permits:
                return self._filtered(pkt, b)
            b.last_src = src
            b.last_sport = sport
        if proto == TCP:
            self._tcp_seen(b, pkt.flags, False)
        elif self._inbound_refresh:
            b.expires = self._env.now + b.timeout
        new = rewrite(pkt, src, pkt.skey, sport, b.in_addr, b.in_key, b.in_port)
        if self._trace.on:
            self.kernel.log(self.name, "translate", direction="in", before=pkt, after=new)
        return new

    def _inbound_miss(self, pkt: Packet) -> Packet | None:
        if pkt.dst.version != 4:
            return pkt
        if pkt.dkey not in self._ext_keys:
            return self._drop(pkt, f"{pkt.dst} is not an external address of this NAT")
        self.counters["no_mapping"] += 1
        self._hold_tuple(pkt)
        return self._drop(pkt, f"no mapping for inbound packet to {pkt.dst}:{pkt.dport}")

    def _filtered(self, pkt: Packet, b: Binding) -> None:
        self.counters["filtered"] += 1
        self._hold_tuple(pkt)
        if self._filtering is ADF:
            who = f"{pkt.src}"
        else:
            who = f"{pkt.src}:{pkt.sport}" if pkt.proto != ICMP else f"{pkt.src}"
        self._drop(pkt, f"filtered: remote {who} not contacted from this mapping "
                        f"({self.config.filtering.label} filtering)")
        return None

    def _inbound_other(self, pkt: Packet) -> Packet | None:
        if pkt.dst.version != 4:
            return pkt
        proto = pkt.proto
        if proto == ICMP:
            msg = pkt.payload
            if isinstance(msg, IcmpError):
                return self._inbound_icmp_error(pkt)
            if getattr(msg, "kind", None) == "echo-reply":
                return self._inbound_echo(pkt, msg)
            self.counters["no_mapping"] += 1
            return self._drop(pkt, f"no mapping for inbound ICMP {getattr(msg, 'kind', '?')}")
        if proto == IPV6_IN_IPV4:
            return self._inbound_proto41(pkt)
        if pkt.dkey not in self._ext_keys:
            return self._drop(pkt, f"{pkt.dst} is not an external address of this NAT")
        return self._drop(pkt, f"no mapping for inbound protocol {proto} packet")

    def _drop(self, pkt: Packet, reason: str) -> None:
        self.counters["dropped"] += 1
        self.kernel.drop(self.name, pkt, reason)
        return None

    # -- events

    def nat_reboot(self) -> None:
        """Power-cycle: every binding is forgotten (a scenario's ``nat_reboot`` event);
        pending expiry timers find their bindings dead and do nothing."""
        n = len(self._map) + (self._p41 is not None)
        for b in self._map.values():
            b.alive = False
        if self._p41 is not None:
            self._p41.alive = False
        self._map.clear()
        self._rev.clear()
        self._held.clear()
        self._pairs.clear()
        self._next_port.clear()
        self._next_pool = 0
        self._p41 = None
        self.counters["reboots"] += 1
        if self._trace.on:
            self.kernel.log(self.name, "nat-reboot", bindings_lost=n)

    def __repr__(self) -> str:
        cfg = self.config
        return (f"<Nat {self.name} {cfg.mapping.abbrev}M/{cfg.filtering.abbrev}F "
                f"{list(map(str, self.external_addresses))} {len(self._map)} bindings>")
