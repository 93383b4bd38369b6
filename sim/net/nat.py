"""Network address translation in RFC 4787 terms (BCP 127: RFC 4787, RFC 5382, RFC 5508).

A :class:`Nat` is a gateway stage with two verbs, like Tailscale natlab's NAT: ``outbound``
picks the outside source of a packet leaving the network, ``inbound`` picks the inside
destination of a packet arriving; ``None`` means "drop" (the reason is traced). Tables, port
choice and expiry are its own business.

Mapping and filtering are named by one small type, :class:`Behaviour`, but kept apart in the
tables (pion/transport's vnet once keyed mappings by the filtering level): the mapping table is
keyed by what the *mapping* behaviour says identifies a session (RFC 4787 §4.1); each binding
keeps the set of remote endpoints it has sent to, and the *filtering* behaviour decides which
part of an inbound packet's source must be in that set (RFC 4787 §5).

Bindings expire as simulated events: one timer per binding at its expiry time; a refresh only
moves the binding's ``expires`` (no event per packet), and a timer that fires early re-arms
itself for the new expiry. Time is ``env.now``; nothing reads the wall clock.

Hot path: table keys hold addresses as integers (the ``_ip`` slot of ``ipaddress`` objects),
because hashing an ``IPv4Address`` calls ``hex()`` in Python on every lookup; the time is read
from ``env._now`` (what ``Environment.now`` returns, without the property call); a binding
remembers the last remote it sent to and admitted, so a steady flow skips the filter set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields, replace
from enum import IntEnum
from ipaddress import IPv4Address, ip_address
from typing import TYPE_CHECKING, Any

from sim.net.host import EchoMessage
from sim.net.kernel import LightEvent, call_later
from sim.net.packet import FIN, ICMP, IPV6_IN_IPV4, RST, SYN, TCP, UDP, IcmpError, Packet

if TYPE_CHECKING:
    from sim.net.kernel import Kernel
    from sim.net.router import Gateway


class Behaviour(IntEnum):
    """RFC 4787's three levels, for mapping (§4.1) and filtering (§5) alike; the order is
    from most open to most restrictive, so ``max`` gives the stricter of two."""

    ENDPOINT_INDEPENDENT = 0
    ADDRESS_DEPENDENT = 1
    ADDRESS_AND_PORT_DEPENDENT = 2

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    @property
    def abbrev(self) -> str:
        """``EI``, ``AD`` or ``APD``: add ``M`` or ``F`` for the RFC 4787 abbreviations."""
        return ("EI", "AD", "APD")[self]

    @classmethod
    def parse(cls, value: Behaviour | str | int) -> Behaviour:
        """Accept ``endpoint-independent``, ``EIM``/``EIF``, ``address-dependent``, ``ADM``...,
        ``address-and-port-dependent``, ``APDM``/``APDF``, or the enum itself."""
        if isinstance(value, Behaviour):
            return value
        if isinstance(value, int):
            return cls(value)
        text = value.strip().lower().replace("_", "-")
        for b in cls:
            if text in (b.label, b.abbrev.lower(), b.abbrev.lower() + "m",
                        b.abbrev.lower() + "f"):
                return b
        raise ValueError(f"unknown NAT behaviour {value!r}: expected endpoint-independent, "
                         "address-dependent or address-and-port-dependent")

    def __str__(self) -> str:
        return self.label


EIM = EIF = Behaviour.ENDPOINT_INDEPENDENT
ADM = ADF = Behaviour.ADDRESS_DEPENDENT
APDM = APDF = Behaviour.ADDRESS_AND_PORT_DEPENDENT

PORT_ALLOCATIONS = ("preservation", "sequential", "random")
POOLINGS = ("paired", "arbitrary")

UDP_TIMEOUT = 120.0        # Linux conntrack UDP "stream" timeout (F2.8); RFC 4787 REQ-5 floor
UDP_UNREPLIED = 30.0       # Linux nf_conntrack_udp_timeout (F2.8), measured: docs/crosscheck.md
TCP_ESTABLISHED = 7440.0   # RFC 5382 REQ-5: established idle-timeout >= 2 h 4 min
TCP_TRANSITORY = 240.0     # RFC 5382 REQ-5: transitory idle-timeout >= 4 min
ICMP_TIMEOUT = 60.0        # RFC 5508 REQ-1: ICMP query mapping timeout >= 60 s
OTHER_TIMEOUT = 600.0      # Linux nf_conntrack_generic_timeout (proto 41 passthrough)

_PORTED = frozenset((UDP, TCP))
_SYN_FIN_RST = SYN | FIN | RST
_FIN_RST = FIN | RST


@dataclass(frozen=True)
class NatConfig:
    """How a NAT behaves. Defaults follow RFC 4787's MUSTs where devices agree (EIM, REQ-1;
    paired pooling, REQ-2; outbound refresh, REQ-6) and Linux's timers where they do not."""

    mapping: Behaviour = EIM
    filtering: Behaviour = APDF
    port_allocation: str = "preservation"   # RFC 4787 §4.2.1; falls back to sequential
    pooling: str = "paired"                 # RFC 4787 REQ-2: same inside host, same address
    port_range: tuple[int, int] = (1024, 65535)
    udp_timeout: float = UDP_TIMEOUT
    tcp_established_timeout: float = TCP_ESTABLISHED
    tcp_transitory_timeout: float = TCP_TRANSITORY
    icmp_timeout: float = ICMP_TIMEOUT
    other_timeout: float = OTHER_TIMEOUT
    inbound_refresh: bool = False           # RFC 4787 REQ-6: inbound refresh MAY be supported
    hairpinning: bool = False               # RFC 4787 REQ-9 says MUST; many devices do not
    proto41_passthrough: bool = False
    proto41_host: IPv4Address | None = None  # None: the first inside host that sends proto 41
    # Linux conntrack: an inbound UDP datagram no mapping admits leaves an UNREPLIED entry
    # that holds its (external port, remote) for this long, re-armed by each one; a flow from
    # inside that would leave by that port to that remote gets its own port (0: off).
    # Measured with iptables MASQUERADE, nf_conntrack_udp_timeout 30 s: docs/crosscheck.md.
    unreplied_hold: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mapping", Behaviour.parse(self.mapping))
        object.__setattr__(self, "filtering", Behaviour.parse(self.filtering))
        if self.port_allocation not in PORT_ALLOCATIONS:
            raise ValueError(f"port_allocation {self.port_allocation!r}: expected one of "
                             f"{', '.join(PORT_ALLOCATIONS)}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling {self.pooling!r}: expected paired or arbitrary")
        lo, hi = self.port_range
        if not 1 <= lo <= hi <= 65535:
            raise ValueError(f"port_range {self.port_range!r} is not within 1-65535")
        if self.proto41_host is not None and not isinstance(self.proto41_host, IPv4Address):
            object.__setattr__(self, "proto41_host", ip_address(self.proto41_host))
        for name in ("udp_timeout", "tcp_established_timeout", "tcp_transitory_timeout",
                     "icmp_timeout", "other_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.unreplied_hold < 0:
            raise ValueError("unreplied_hold must not be negative")

    @property
    def classic_name(self) -> str:
        """The RFC 3489-era name (fact sheet F3.12), or the RFC 4787 pair."""
        return classic_name(self.mapping, self.filtering)


def classic_name(mapping: Behaviour, filtering: Behaviour) -> str:
    if mapping == EIM:
        return ("full cone", "restricted cone", "port-restricted cone")[filtering]
    if filtering == APDF:
        return "symmetric"
    return f"{mapping.abbrev}M/{filtering.abbrev}F"


# --- presets: registered constructors, each tied to what it models ------------------------

PRESETS: dict[str, Callable[..., NatConfig]] = {}


def preset(name: str) -> Callable[[Callable[..., NatConfig]], Callable[..., NatConfig]]:
    def register(fn: Callable[..., NatConfig]) -> Callable[..., NatConfig]:
        PRESETS[name] = fn
        return fn
    return register


@preset("full-cone")
def full_cone(**overrides: Any) -> NatConfig:
    """EIM/EIF: OpenWrt's FULLCONENAT target, or a consumer router's "open NAT" game mode."""
    return NatConfig(**{"mapping": EIM, "filtering": EIF, **overrides})


@preset("restricted-cone")
def restricted_cone(**overrides: Any) -> NatConfig:
    """EIM/ADF: RFC 4787 REQ-8's stricter recommended filtering; RFC 3489's restricted cone."""
    return NatConfig(**{"mapping": EIM, "filtering": ADF, **overrides})


@preset("port-restricted-cone")
def port_restricted_cone(**overrides: Any) -> NatConfig:
    """EIM/APDF without port preservation: most home routers (RFC 3489 port-restricted cone)."""
    return NatConfig(**{"mapping": EIM, "filtering": APDF, "port_allocation": "sequential",
                        **overrides})


@preset("symmetric")
def symmetric(**overrides: Any) -> NatConfig:
    """APDM/APDF with random ports: typical carrier-grade NAT with per-destination ports."""
    return NatConfig(**{"mapping": APDM, "filtering": APDF, "port_allocation": "random",
                        **overrides})


@preset("linux-masquerade")
def linux_masquerade(**overrides: Any) -> NatConfig:
    """iptables MASQUERADE, like Linux and most home routers: EIM with port preservation,
    APDF (measured on Debian 12, fact sheet N3); conntrack's 120 s UDP stream timeout. Its
    30 s UNREPLIED entry for a filtered datagram, measured too, is ``unreplied_hold=
    UDP_UNREPLIED``, off here until the modeled Windows order is settled (docs/crosscheck.md)."""
    return NatConfig(**{"mapping": EIM, "filtering": APDF, "port_allocation": "preservation",
                        **overrides})


@preset("linux-masquerade-random-fully")
def linux_masquerade_random_fully(**overrides: Any) -> NatConfig:
    """iptables MASQUERADE --random-fully: a new random port per destination (APDM), APDF
    (measured, fact sheet N3)."""
    return NatConfig(**{"mapping": APDM, "filtering": APDF, "port_allocation": "random",
                        **overrides})


def nat_config(spec: NatConfig | dict[str, Any] | str | None = None,
               **overrides: Any) -> NatConfig:
    """A config from a preset name, a scenario's ``nat:`` mapping (``{preset: ..., ...}`` or
    the RFC 4787 fields), or an existing config plus overrides."""
    if isinstance(spec, NatConfig):
        return replace(spec, **overrides)
    if isinstance(spec, str):
        spec = {"preset": spec}
    spec = {**(spec or {}), **overrides}
    name = spec.pop("preset", None)
    known = {f.name for f in fields(NatConfig)}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown NAT setting(s): {', '.join(sorted(unknown))}")
    if "port_range" in spec:
        spec["port_range"] = tuple(spec["port_range"])
    if name is None:
        return NatConfig(**spec)
    try:
        ctor = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown NAT preset {name!r}: expected one of "
                         f"{', '.join(sorted(PRESETS))}") from None
    return ctor(**spec)


# --- bindings -----------------------------------------------------------------------------


class Binding:
    """One mapping: inside (address, port) ↔ external (address, port) for a protocol, the
    remote endpoints it has sent to (for filtering) and when it expires."""

    __slots__ = (
        "alive", "closing", "created", "expires", "ext_addr", "ext_port", "in_addr", "in_port",
        "key", "last_dport", "last_dst", "last_sport", "last_src", "permits", "proto", "remote",
        "rkey", "timeout", "timer", "timer_at",
    )

    def __init__(self, key: tuple, rkey: tuple, proto: int, in_addr: IPv4Address,
                 in_port: int, ext_addr: IPv4Address, ext_port: int, timeout: float,
                 now: float, remote: tuple[Any, int]) -> None:
        self.key = key
        self.rkey = rkey
        self.proto = proto
        self.in_addr = in_addr
        self.in_port = in_port
        self.ext_addr = ext_addr
        self.ext_port = ext_port
        self.timeout = timeout
        self.created = now
        self.expires = now + timeout
        self.permits: set[int] = set()
        self.remote = remote          # the first destination (for traces)
        self.last_dst: Any = None     # the last destination remembered in ``permits``
        self.last_dport = -1
        self.last_src: Any = None     # the last remote admitted inbound
        self.last_sport = -1
        self.alive = True
        self.closing = False
        self.timer: LightEvent | None = None
        self.timer_at = 0.0

    @property
    def inside(self) -> tuple[IPv4Address, int]:
        return (self.in_addr, self.in_port)

    @property
    def external(self) -> tuple[IPv4Address, int]:
        return (self.ext_addr, self.ext_port)

    def __repr__(self) -> str:
        return (f"<Binding {_PROTO.get(self.proto, self.proto)} {self.in_addr}:{self.in_port}"
                f" -> {self.ext_addr}:{self.ext_port} expires {self.expires:g}>")


_PROTO = {UDP: "udp", TCP: "tcp", ICMP: "icmp", IPV6_IN_IPV4: "proto41"}
_new_packet = object.__new__


def _rewrite(p: Packet, src: Any, sport: int, dst: Any, dport: int) -> Packet:
    """A copy of ``p`` with new addresses and ports (sent packets are never mutated)."""
    n = _new_packet(Packet)
    n.src = src
    n.sport = sport
    n.dst = dst
    n.dport = dport
    n.proto = p.proto
    n.size = p.size
    n.payload = p.payload
    n.inner = p.inner
    n.flags = p.flags
    n.seq = p.seq
    n.ack = p.ack
    n.ttl = p.ttl
    n.callbacks = None
    return n


# --- the NAT ------------------------------------------------------------------------------


class Nat:
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
        self._pool = pool
        self._ext_ips = {a._ip for a in pool}
        self._env = kernel.env
        self._trace = kernel.trace
        self._mode = int(config.mapping)
        self._fmode = int(config.filtering)
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
        self._pairs: dict[int, IPv4Address] = {}
        self._next_pool = 0
        self._next_port: dict[tuple, int] = {}
        self._p41: Binding | None = None
        self._hold = config.unreplied_hold
        self._held: dict[tuple, float] = {}   # (ext ip, ext port, remote ip, port) -> until
        self._flows = False                   # a flow has had its own port since (_unheld)
        self.gateway: Gateway | None = None
        self.counters: dict[str, int] = {
            "bindings_created": 0, "bindings_expired": 0, "reboots": 0, "dropped": 0,
            "filtered": 0, "no_mapping": 0, "port_exhausted": 0, "proto41_dropped": 0,
        }

    # -- gateway glue

    def attach(self, gateway: Gateway) -> None:
        """Called by ``Gateway.add_stage``: the gateway hairpins as this NAT is configured."""
        self.gateway = gateway
        gateway.hairpinning = self.config.hairpinning

    # -- outbound

    def outbound(self, pkt: Packet) -> Packet | None:
        """Pick the outside source: find or create the binding, refresh it (RFC 4787 REQ-6),
        remember the destination for filtering, return the translated copy."""
        proto = pkt.proto
        if proto in _PORTED:
            dst = pkt.dst
            dport = pkt.dport
            m = self._mode
            if m == 0:
                key = (proto, pkt.src._ip, pkt.sport)
            elif m == 1:
                key = (proto, pkt.src._ip, pkt.sport, dst._ip)
            else:
                key = (proto, pkt.src._ip, pkt.sport, dst._ip, dport)
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
                b.expires = self._env._now + b.timeout
            else:
                self._tcp_seen(b, pkt.flags, True)
            if dst is not b.last_dst or dport != b.last_dport:
                # a new remote for filtering (the same one again costs two compares)
                b.last_dst = dst
                b.last_dport = dport
                f = self._fmode
                if f:
                    b.permits.add(dst._ip if f == 1 else dst._ip << 16 | dport)
            new = _rewrite(pkt, b.ext_addr, b.ext_port, dst, dport)
            if self._trace.on:
                self.kernel.log(self.name, "translate", direction="out", before=pkt, after=new)
            return new
        return self._outbound_other(pkt)

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

    def _outbound_echo(self, pkt: Packet, msg: EchoMessage) -> Packet | None:
        """ICMP query: the identifier plays the port (RFC 5508 §3)."""
        key = (ICMP, pkt.src._ip, msg.ident) if self._mode == 0 else (
            ICMP, pkt.src._ip, msg.ident, pkt.dst._ip)
        b = self._map.get(key)
        if b is None:
            b = self._create(key, ICMP, pkt, msg.ident)
            if b is None:
                return None
        b.expires = self._env._now + b.timeout
        if self._fmode:
            b.permits.add(pkt.dst._ip if self._fmode == 1 else pkt.dst._ip << 16)
        new = _rewrite(pkt, b.ext_addr, 0, pkt.dst, 0)
        if b.ext_port != msg.ident:
            new.payload = EchoMessage(msg.kind, b.ext_port, msg.seq)
        if self._trace.on:
            self.kernel.log(self.name, "translate", direction="out", before=pkt, after=new)
        return new

    def _outbound_icmp_error(self, pkt: Packet) -> Packet | None:
        """An inside host reports an error about a packet it received: the quoted packet's
        destination is the inside endpoint and becomes the external one (RFC 5508 §4)."""
        inner = pkt.inner
        b = self._binding_for_quoted(inner, inside=True)
        if b is None:
            return self._drop(pkt, "ICMP error about a flow with no mapping")
        new = _rewrite(pkt, b.ext_addr, 0, pkt.dst, 0)
        new.inner = _rewrite(inner, inner.src, inner.sport, b.ext_addr,
                             b.ext_port if inner.proto != ICMP else 0)
        if self._trace.on:
            self.kernel.log(self.name, "translate", direction="out", before=pkt, after=new)
        return new

    def _outbound_proto41(self, pkt: Packet) -> Packet | None:
        """Protocol 41 has no ports, so one external address can carry it for one inside
        host only (the "6to4 passthrough" of home routers)."""
        cfg = self.config
        if not cfg.proto41_passthrough:
            self.counters["proto41_dropped"] += 1
            return self._drop(pkt, "protocol 41 (6in4) has no ports to translate: dropped "
                                   "(proto41_passthrough is off)")
        src = pkt.src
        b = self._p41
        if b is not None and b.in_addr != src:
            self.counters["proto41_dropped"] += 1
            return self._drop(pkt, f"protocol 41 passthrough is held by {b.in_addr}; "
                                   f"{src} cannot share it")
        if cfg.proto41_host is not None and src != cfg.proto41_host:
            self.counters["proto41_dropped"] += 1
            return self._drop(pkt, f"protocol 41 passthrough is reserved for "
                                   f"{cfg.proto41_host}")
        if b is None:
            ext = self._pool_address(src)
            key = (IPV6_IN_IPV4, src._ip)
            b = Binding(key, (IPV6_IN_IPV4, ext._ip, 0), IPV6_IN_IPV4, src, 0, ext, 0,
                        cfg.other_timeout, self._env.now, (pkt.dst, 0))
            self._p41 = b
            self._register(b, register_map=False)
        b.expires = self._env._now + b.timeout
        new = _rewrite(pkt, b.ext_addr, 0, pkt.dst, 0)
        if self._trace.on:
            self.kernel.log(self.name, "translate", direction="out", before=pkt, after=new)
        return new

    # -- inbound

    def inbound(self, pkt: Packet) -> Packet | None:
        """Pick the inside destination: the binding that owns the external port, if the
        filtering behaviour lets this remote in (RFC 4787 §5)."""
        proto = pkt.proto
        if proto in _PORTED:
            b = self._rev.get((proto, pkt.dst._ip, pkt.dport))
            if b is None:
                return self._inbound_miss(pkt)
            src = pkt.src
            sport = pkt.sport
            if src is not b.last_src or sport != b.last_sport:
                # not the remote admitted last time (permits only grow while b lives)
                f = self._fmode
                if f and (src._ip if f == 1 else src._ip << 16 | sport) not in b.permits:
                    return self._filtered(pkt, b)
                b.last_src = src
                b.last_sport = sport
            if proto == TCP:
                self._tcp_seen(b, pkt.flags, False)
            elif self._inbound_refresh:
                b.expires = self._env._now + b.timeout
            new = _rewrite(pkt, src, sport, b.in_addr, b.in_port)
            if self._trace.on:
                self.kernel.log(self.name, "translate", direction="in", before=pkt, after=new)
            return new
        return self._inbound_other(pkt)

    def _inbound_miss(self, pkt: Packet) -> Packet | None:
        if pkt.dst.version != 4:
            return pkt
        if pkt.dst._ip not in self._ext_ips:
            return self._drop(pkt, f"{pkt.dst} is not an external address of this NAT")
        self.counters["no_mapping"] += 1
        self._hold_tuple(pkt)
        return self._drop(pkt, f"no mapping for inbound packet to {pkt.dst}:{pkt.dport}")

    def _filtered(self, pkt: Packet, b: Binding) -> None:
        self.counters["filtered"] += 1
        self._hold_tuple(pkt)
        if self._fmode == 1:
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
                b = self._rev.get((ICMP, pkt.dst._ip, msg.ident))
                if b is None:
                    self.counters["no_mapping"] += 1
                    return self._drop(pkt, "no mapping for inbound ICMP echo reply")
                f = self._fmode
                if f and (pkt.src._ip if f == 1 else pkt.src._ip << 16) not in b.permits:
                    return self._filtered(pkt, b)
                if self._inbound_refresh:
                    b.expires = self._env._now + b.timeout
                new = _rewrite(pkt, pkt.src, 0, b.in_addr, 0)
                if b.in_port != msg.ident:
                    new.payload = EchoMessage(msg.kind, b.in_port, msg.seq)
                if self._trace.on:
                    self.kernel.log(self.name, "translate", direction="in", before=pkt,
                                    after=new)
                return new
            self.counters["no_mapping"] += 1
            return self._drop(pkt, f"no mapping for inbound ICMP {getattr(msg, 'kind', '?')}")
        if proto == IPV6_IN_IPV4:
            return self._inbound_proto41(pkt)
        if pkt.dst._ip not in self._ext_ips:
            return self._drop(pkt, f"{pkt.dst} is not an external address of this NAT")
        return self._drop(pkt, f"no mapping for inbound protocol {proto} packet")

    def _inbound_proto41(self, pkt: Packet) -> Packet | None:
        """Inbound 6in4 goes to the passthrough host, whichever relay sent it: the return
        relay of 6to4 is often not the one the client sent through (RFC 3068 §2.5)."""
        cfg = self.config
        if not cfg.proto41_passthrough:
            self.counters["proto41_dropped"] += 1
            return self._drop(pkt, "protocol 41 (6in4) has no ports to translate: dropped "
                                   "(proto41_passthrough is off)")
        b = self._p41
        if b is not None and b.ext_addr == pkt.dst:
            target = b.in_addr
            if self._inbound_refresh:
                b.expires = self._env._now + b.timeout
        elif cfg.proto41_host is not None and pkt.dst._ip in self._ext_ips:
            target = cfg.proto41_host
        else:
            self.counters["proto41_dropped"] += 1
            return self._drop(pkt, "inbound protocol 41 but no inside host holds the "
                                   "passthrough")
        new = _rewrite(pkt, pkt.src, 0, target, 0)
        if self._trace.on:
            self.kernel.log(self.name, "translate", direction="in", before=pkt, after=new)
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
        new = _rewrite(pkt, pkt.src, 0, b.in_addr, 0)
        if inner.proto == ICMP:
            quoted = _rewrite(inner, b.in_addr, 0, inner.dst, 0)
            msg = inner.payload
            if isinstance(msg, EchoMessage):
                quoted.payload = EchoMessage(msg.kind, b.in_port, msg.seq)
        else:
            quoted = _rewrite(inner, b.in_addr, b.in_port, inner.dst, inner.dport)
        new.inner = quoted
        if self._trace.on:
            self.kernel.log(self.name, "translate", direction="in", before=pkt, after=new)
        return new

    def _binding_for_quoted(self, inner: Packet | None, inside: bool) -> Binding | None:
        if inner is None:
            return None
        proto = inner.proto
        if proto == IPV6_IN_IPV4:
            return self._p41
        if proto == ICMP:
            msg = inner.payload
            ident = getattr(msg, "ident", None)
            if ident is None:
                return None
            if inside:
                return None  # an inside host's error about an inbound echo: never mapped
            return self._rev.get((ICMP, inner.src._ip, ident))
        if inside:
            # The inside host received ``inner`` (remote -> inside endpoint).
            m = self._mode
            if m == 0:
                key = (proto, inner.dst._ip, inner.dport)
            elif m == 1:
                key = (proto, inner.dst._ip, inner.dport, inner.src._ip)
            else:
                key = (proto, inner.dst._ip, inner.dport, inner.src._ip, inner.sport)
            return self._map.get(key)
        return self._rev.get((proto, inner.src._ip, inner.sport))

    # -- conntrack's UNREPLIED entries (``unreplied_hold``)

    def _hold_tuple(self, pkt: Packet) -> None:
        """An inbound UDP datagram no mapping admitted holds its tuple (Linux conntrack)."""
        if self._hold and pkt.proto == UDP:
            held = self._held
            now = self._env._now
            if len(held) > 4096:   # forget the expired ones now and then
                for k in [k for k, until in held.items() if until <= now]:
                    del held[k]
            held[(pkt.dst._ip, pkt.dport, pkt.src._ip, pkt.sport)] = now + self._hold

    def _unheld(self, b: Binding, pkt: Packet) -> Binding | None:
        """The binding an outbound UDP packet leaves by: ``b``, unless the packet's flow has
        its own, or ``b``'s external port towards this remote is held by an UNREPLIED entry;
        then the flow gets its own binding, on another port, as conntrack's NAT gives it."""
        fkey = (UDP, pkt.src._ip, pkt.sport, pkt.dst._ip, pkt.dport)
        flow = self._map.get(fkey)
        if flow is not None:
            return flow
        hkey = (b.ext_addr._ip, b.ext_port, pkt.dst._ip, pkt.dport)
        until = self._held.get(hkey)
        if until is None:
            return b
        if until <= self._env._now:
            del self._held[hkey]
            return b
        self._flows = True
        return self._create(fkey, UDP, pkt, pkt.sport)

    # -- bindings

    def _create(self, key: tuple, proto: int, pkt: Packet, wanted: int) -> Binding | None:
        src = pkt.src
        ext = self._pool_address(src)
        port = self._allocate(proto, ext, wanted)
        if port is None:
            self.counters["port_exhausted"] += 1
            return self._drop(pkt, f"no free external {_PROTO.get(proto, proto)} port on "
                                   f"{ext} (port pool exhausted)")
        if proto == UDP:
            timeout = self._udp_timeout
        elif proto == TCP:
            timeout = self._transitory if pkt.flags & _SYN_FIN_RST else self._established
        else:
            timeout = self.config.icmp_timeout
        b = Binding(key, (proto, ext._ip, port), proto, src, wanted, ext, port, timeout,
                    self._env.now, (pkt.dst, pkt.dport))
        self._register(b)
        return b

    def _register(self, b: Binding, register_map: bool = True) -> None:
        if register_map:
            self._map[b.key] = b
            self._rev[b.rkey] = b
        self._arm(b, b.expires)
        self.counters["bindings_created"] += 1
        if self._trace.on:
            self.kernel.log(self.name, "binding-created", proto=_PROTO.get(b.proto, b.proto),
                            inside=f"{b.in_addr}:{b.in_port}",
                            external=f"{b.ext_addr}:{b.ext_port}",
                            remote=f"{b.remote[0]}:{b.remote[1]}", binding=b)

    def _tcp_seen(self, b: Binding, flags: int, outbound: bool) -> None:
        """RFC 5382 REQ-5: a connection seen opening or closing (SYN, FIN, RST) gets the
        transitory timeout, an established one the long timeout. Only outbound packets
        refresh unless ``inbound_refresh``; an inbound FIN or RST still shortens the timer."""
        if flags & _SYN_FIN_RST:
            if flags & _FIN_RST:
                b.closing = True
            timeout = self._transitory
        else:
            timeout = self._transitory if b.closing else self._established
        now = self._env.now
        if outbound or self._inbound_refresh:
            b.timeout = timeout
            b.expires = now + timeout
        elif flags & _FIN_RST:
            b.timeout = timeout
            if now + timeout < b.expires:
                b.expires = now + timeout
        else:
            return
        if b.expires < b.timer_at:
            self._arm(b, b.expires)

    def _arm(self, b: Binding, at: float) -> None:
        env = self._env
        b.timer = call_later(env, at - env._now, self._on_timer, b)
        b.timer_at = at

    def _on_timer(self, ev: LightEvent) -> None:
        b = ev._value
        if not b.alive or b.timer is not ev:
            return  # removed meanwhile, or superseded by an earlier timer
        now = self._env.now
        if b.expires - now > 1e-9:
            self._arm(b, b.expires)  # refreshed since the timer was set
            return
        self._remove(b)
        self.counters["bindings_expired"] += 1
        if self._trace.on:
            self.kernel.log(self.name, "binding-expired", proto=_PROTO.get(b.proto, b.proto),
                            inside=f"{b.in_addr}:{b.in_port}",
                            external=f"{b.ext_addr}:{b.ext_port}", idle=b.timeout)

    def _remove(self, b: Binding) -> None:
        b.alive = False
        if self._map.get(b.key) is b:
            del self._map[b.key]
        if self._rev.get(b.rkey) is b:
            del self._rev[b.rkey]
        if self._p41 is b:
            self._p41 = None

    def _pool_address(self, inside: IPv4Address) -> IPv4Address:
        pool = self._pool
        if len(pool) == 1:
            return pool[0]
        if self._paired:
            ext = self._pairs.get(inside._ip)
            if ext is not None:
                return ext
        ext = pool[self._next_pool % len(pool)]
        self._next_pool += 1
        if self._paired:
            self._pairs[inside._ip] = ext
        return ext

    def _allocate(self, proto: int, ext: IPv4Address, wanted: int) -> int | None:
        """RFC 4787 §4.2: keep the inside port if free ("preservation"), else the next free
        port after the last one given ("sequential"), or a random free one ("random")."""
        rev = self._rev
        eip = ext._ip
        lo, hi = self._lo, self._hi
        mode = self._alloc
        if mode == "preservation" and wanted and (proto, eip, wanted) not in rev:
            return wanted
        if mode == "random":
            rng = self._rng
            for _ in range(64):
                port = rng.randint(lo, hi)
                if (proto, eip, port) not in rev:
                    return port
        ck = (proto, eip)
        nxt = self._next_port.get(ck, lo)
        for _ in range(hi - lo + 1):
            port = nxt
            nxt = lo if port >= hi else port + 1
            if (proto, eip, port) not in rev:
                self._next_port[ck] = nxt
                return port
        return None

    def _drop(self, pkt: Packet, reason: str) -> None:
        self.counters["dropped"] += 1
        self.kernel.drop(self.name, pkt, reason)
        return None

    # -- public inspection and events

    def bindings(self) -> list[Binding]:
        """The live bindings (proto 41 passthrough included)."""
        out = list(self._map.values())
        if self._p41 is not None:
            out.append(self._p41)
        return out

    def lookup(self, proto: int, inside: Any, port: int) -> Binding | None:
        """The live binding of an inside endpoint (the first one, for per-destination
        mappings)."""
        addr = ip_address(inside) if isinstance(inside, str) else inside
        for b in self._map.values():
            if b.proto == proto and b.in_addr == addr and b.in_port == port:
                return b
        return None

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
                f"{[str(a) for a in self._pool]} {len(self._map)} bindings>")
