"""The translation table: bindings, how they are keyed, made, refreshed and expired.

The mapping table is keyed by what the *mapping* behaviour says identifies a session (RFC 4787
§4.1): the inside endpoint, plus the remote address (address-dependent) or the remote address
and port (address-and-port-dependent). Each binding keeps the set of remote endpoints it has
sent to, and the *filtering* behaviour decides which part of an inbound packet's source must be
in that set (RFC 4787 §5). Keys hold addresses as ``addr_key`` integers (a packet's ``skey``
and ``dkey``, ``sim.net.fastpath``).

Bindings expire as simulated events: one timer per binding at its expiry time; a refresh only
moves the binding's ``expires`` (no event per packet), and a timer that fires early re-arms
itself for the new expiry. Time is ``env.now``; nothing reads the wall clock.
"""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address
from typing import TYPE_CHECKING, Any

from sim.net.fastpath import LightEvent, addr_key, call_later
from sim.net.nat.config import ADF, ADM, EIM, Behaviour, NatConfig
from sim.net.packet import FIN, ICMP, IPV6_IN_IPV4, RST, SYN, TCP, UDP, Packet

if TYPE_CHECKING:
    from sim.net.kernel import Environment, Kernel, Stream, Trace

PROTO = {UDP: "udp", TCP: "tcp", ICMP: "icmp", IPV6_IN_IPV4: "proto41"}
PORTED = frozenset((UDP, TCP))
SYN_FIN_RST = SYN | FIN | RST
FIN_RST = FIN | RST

_new_packet = object.__new__


class Binding:
    """One mapping: inside (address, port) ↔ external (address, port) for a protocol, the
    remote endpoints it has sent to (for filtering) and when it expires."""

    __slots__ = (
        "alive", "closing", "created", "expires", "ext_addr", "ext_key", "ext_port", "in_addr",
        "in_key", "in_port", "key", "last_dport", "last_dst", "last_sport", "last_src",
        "permits", "proto", "remote", "rkey", "timeout", "timer", "timer_at",
    )

    def __init__(self, key: tuple, rkey: tuple, proto: int, in_addr: IPv4Address,
                 in_port: int, ext_addr: IPv4Address, ext_port: int, timeout: float,
                 now: float, remote: tuple[Any, int]) -> None:
        self.key = key
        self.rkey = rkey
        self.proto = proto
        self.in_addr = in_addr
        self.in_key = addr_key(in_addr)
        self.in_port = in_port
        self.ext_addr = ext_addr
        self.ext_key = addr_key(ext_addr)
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
        return (f"<Binding {PROTO.get(self.proto, self.proto)} {self.in_addr}:{self.in_port}"
                f" -> {self.ext_addr}:{self.ext_port} expires {self.expires:g}>")


def rewrite(p: Packet, src: Any, skey: int, sport: int, dst: Any, dkey: int,
            dport: int) -> Packet:
    """A copy of ``p`` with new addresses (and their keys) and ports (sent packets are never
    mutated)."""
    n = _new_packet(Packet)
    n.src = src
    n.skey = skey
    n.sport = sport
    n.dst = dst
    n.dkey = dkey
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


def permit_key(filtering: Behaviour, addr_key: int, port: int) -> int:
    """What a binding remembers of a remote for ``filtering`` (RFC 4787 §5): its address, or
    its address and port. The stage's verbs inline it."""
    return addr_key if filtering is ADF else addr_key << 16 | port


class BindingTable:
    """The table half of :class:`sim.net.nat.Nat`: its bindings, external ports and pool
    addresses, and their timers. The attributes are the NAT's, set in its constructor."""

    config: NatConfig
    kernel: Kernel
    name: str
    counters: dict[str, int]
    _env: Environment
    _trace: Trace
    _rng: Stream
    _mapping: Behaviour
    _alloc: str
    _lo: int
    _hi: int
    _paired: bool
    _inbound_refresh: bool
    _udp_timeout: float
    _established: float
    _transitory: float
    _pool: tuple[tuple[IPv4Address, int], ...]
    _map: dict[tuple, Binding]
    _rev: dict[tuple, Binding]
    _pairs: dict[int, tuple[IPv4Address, int]]
    _next_pool: int
    _next_port: dict[tuple, int]
    _p41: Binding | None

    if TYPE_CHECKING:   # the NAT's own (sim.net.nat.gateway)

        def _drop(self, pkt: Packet, reason: str) -> None: ...

    def _create(self, key: tuple, proto: int, pkt: Packet, wanted: int) -> Binding | None:
        ext, ext_key = self._pool_address(pkt.skey)
        port = self._allocate(proto, ext_key, wanted)
        if port is None:
            self.counters["port_exhausted"] += 1
            return self._drop(pkt, f"no free external {PROTO.get(proto, proto)} port on "
                                   f"{ext} (port pool exhausted)")
        if proto == UDP:
            timeout = self._udp_timeout
        elif proto == TCP:
            timeout = self._transitory if pkt.flags & SYN_FIN_RST else self._established
        else:
            timeout = self.config.icmp_timeout
        b = Binding(key, (proto, ext_key, port), proto, pkt.src, wanted, ext, port, timeout,
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
            self.kernel.log(self.name, "binding-created", proto=PROTO.get(b.proto, b.proto),
                            inside=f"{b.in_addr}:{b.in_port}",
                            external=f"{b.ext_addr}:{b.ext_port}",
                            remote=f"{b.remote[0]}:{b.remote[1]}", binding=b)

    def _inside_key(self, proto: int, inner: Packet) -> tuple:
        """The mapping key of the flow an inside host received ``inner`` on (remote -> inside
        endpoint), for an ICMP error it sends about it."""
        m = self._mapping
        if m is EIM:
            return (proto, inner.dkey, inner.dport)
        if m is ADM:
            return (proto, inner.dkey, inner.dport, inner.skey)
        return (proto, inner.dkey, inner.dport, inner.skey, inner.sport)

    def _tcp_seen(self, b: Binding, flags: int, outbound: bool) -> None:
        """RFC 5382 REQ-5: a connection seen opening or closing (SYN, FIN, RST) gets the
        transitory timeout, an established one the long timeout. Only outbound packets
        refresh unless ``inbound_refresh``; an inbound FIN or RST still shortens the timer."""
        if flags & SYN_FIN_RST:
            if flags & FIN_RST:
                b.closing = True
            timeout = self._transitory
        else:
            timeout = self._transitory if b.closing else self._established
        now = self._env.now
        if outbound or self._inbound_refresh:
            b.timeout = timeout
            b.expires = now + timeout
        elif flags & FIN_RST:
            b.timeout = timeout
            if now + timeout < b.expires:
                b.expires = now + timeout
        else:
            return
        if b.expires < b.timer_at:
            self._arm(b, b.expires)

    def _arm(self, b: Binding, at: float) -> None:
        env = self._env
        b.timer = call_later(env, at - env.now, self._on_timer, b)
        b.timer_at = at

    def _on_timer(self, ev: LightEvent) -> None:
        b = ev._value   # the binding the timer was armed for
        if not b.alive or b.timer is not ev:
            return  # removed meanwhile, or superseded by an earlier timer
        now = self._env.now
        if b.expires - now > 1e-9:
            self._arm(b, b.expires)  # refreshed since the timer was set
            return
        self._remove(b)
        self.counters["bindings_expired"] += 1
        if self._trace.on:
            self.kernel.log(self.name, "binding-expired", proto=PROTO.get(b.proto, b.proto),
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

    def _pool_address(self, inside_key: int) -> tuple[IPv4Address, int]:
        """The external address (and its key) for an inside host: the same one for all its
        sessions with paired pooling (RFC 4787 REQ-2), the next one round the pool else."""
        pool = self._pool
        if len(pool) == 1:
            return pool[0]
        if self._paired:
            ext = self._pairs.get(inside_key)
            if ext is not None:
                return ext
        ext = pool[self._next_pool % len(pool)]
        self._next_pool += 1
        if self._paired:
            self._pairs[inside_key] = ext
        return ext

    def _allocate(self, proto: int, eip: int, wanted: int) -> int | None:
        """RFC 4787 §4.2: keep the inside port if free ("preservation"), else the next free
        port after the last one given ("sequential"), or a random free one ("random")."""
        rev = self._rev
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

    # -- public inspection

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
