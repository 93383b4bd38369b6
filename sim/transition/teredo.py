"""Teredo (RFC 4380, as Windows runs it): addresses, the server on two consecutive public IPv4
addresses, and the client's qualification and refresh.

Qualification (RFC 4380 §5.2.1, F3.1–F3.6): router solicitations with the cone bit set go to the
server's primary address; the server answers a cone solicitation from its *secondary* address
(§5.3.2), so only a full-cone NAT lets the answer in. After ``rs_tries`` solicitations of
``rs_timeout`` seconds without an answer the client clears the cone bit and tries again; an
answer then is followed by a solicitation to the secondary address, whose origin indication
tells a restricted NAT (same mapping) from a symmetric one (different mapping). Every outcome
here comes from what the NATs and firewalls on the path let through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import TYPE_CHECKING, Any, ClassVar

from simpy import Interrupt

from sim.net.icmpv6 import ALL_ROUTERS, RS_SIZE, RouterAdvertisement, RouterSolicitation
from sim.net.internet import PRIVATE_V4, SPECIAL_V4
from sim.net.kernel import call_later
from sim.net.packet import ICMPV6, IPV6_HEADER, Packet
from sim.transition.snapshot import Snapshot, text_or_empty
from sim.transition.tunnel import TunnelInterface

if TYPE_CHECKING:
    from sim.net.host import Host, UdpSocket

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


class TeredoServer:
    """Teredo server and relay on two consecutive public addresses of one host (F1.33, F3.8).

    IPv6 packets from qualified clients are decapsulated into the host; IPv6 packets the host
    routes to 2001::/32 are encapsulated towards the mapped address and port embedded in the
    destination Teredo address, from the primary address.
    """

    def __init__(self, host: Host, primary: IPv4Address, secondary: IPv4Address) -> None:
        self.host = host
        self.kernel = host.kernel
        self.primary = primary
        self.secondary = secondary
        self.prefix = IPv6Network(((0x20010000 << 96) | (int(primary) << 64), 64))
        self.socket: UdpSocket = host.udp_open(TEREDO_PORT, on_packet=self._on_packet)
        self.relay = host.add_interface(None, name="teredo-relay", iface_class=TunnelInterface,
                                        encapsulate=self._relay_out)
        host.routes.add(TEREDO_PREFIX, self.relay)
        self.up = True
        self.solicitations = 0
        # The RA is the same for every client of this server but for its destination, the
        # RS's link-local source: one shared, immutable packet for each of the two.
        ra = RouterAdvertisement(self.prefix, TEREDO_MTU)
        source = server_link_local(primary)   # from either address: Miredo does the same
        self._ra_to_cone, self._ra_to_no_cone = (
            Packet(source, dst, ICMPV6, size=IPV6_HEADER + ra.size, payload=ra)
            for dst in (LINK_LOCAL_CONE, LINK_LOCAL_NO_CONE))
        self._global: dict[int, bool] = {}   # is_global_ipv4 by the address's integer
        self._parsed: dict[int, TeredoAddressInfo | None] = {}   # by the address's integer

    def _teredo_info(self, addr: IPv6Address) -> TeredoAddressInfo | None:
        """``parse_teredo_address``, remembered: a client's address is parsed on every packet
        it relays."""
        try:
            return self._parsed[addr._ip]
        except KeyError:
            info = self._parsed[addr._ip] = parse_teredo_address(addr)
            return info

    def _on_packet(self, pkt: Packet) -> None:
        if not self.up:
            return
        src = pkt.src
        known = self._global.get(src._ip)
        if known is None:
            known = self._global[src._ip] = is_global_ipv4(src)
        if not known:
            self.kernel.drop(self.host.name, pkt,
                             f"Teredo server: source {pkt.src} is not global (RFC 4380 §5.3.1)")
            return
        inner = pkt.inner
        if inner is None:
            return
        if isinstance(inner.payload, RouterSolicitation):
            self._answer_rs(pkt, inner)
            return
        info = self._teredo_info(inner.src)
        if info is None or info.mapped != pkt.src or info.port != pkt.sport:
            self.kernel.drop(self.host.name, pkt,
                             "Teredo: inner source does not match the UDP source (RFC 4380 "
                             "§5.3.1)")
            return
        self.relay.receive_inner(inner)

    def _answer_rs(self, pkt: Packet, rs: Packet) -> None:
        self.solicitations += 1
        cone = rs.src == LINK_LOCAL_CONE
        # RFC 4380 §5.3.2: a cone RS is answered from the *other* address.
        if cone:
            src = self.secondary if pkt.dst == self.primary else self.primary
        else:
            src = pkt.dst
        nonce = pkt.payload.nonce if isinstance(pkt.payload, TeredoHeaders) else None
        headers = TeredoHeaders(nonce, (pkt.src, pkt.sport))
        self.socket.sendto(pkt.src, pkt.sport, payload=headers, payload_size=headers.size,
                           src=src, inner=self._ra_to_cone if cone else self._ra_to_no_cone)
        if self.kernel.trace.on:
            self.kernel.log(self.host.name, "teredo-ra", to=f"{pkt.src}:{pkt.sport}",
                            source=str(src), cone=cone)

    def _relay_out(self, inner: Packet) -> None:
        info = self._teredo_info(inner.dst)
        if info is None:
            return
        self.socket.sendto(info.mapped, info.port, src=self.primary, inner=inner)


@dataclass
class TeredoConfig:
    """Client parameters (F2.3, F2.4, §8). ``requalify_after_fail`` None means Windows'
    observed behaviour: no new attempt until the network changes (F2.4, UNCONFIRMED)."""

    rs_timeout: float = RS_TIMEOUT
    rs_tries: int = RS_TRIES
    refresh_interval: float = REFRESH_INTERVAL
    refresh_jitter: tuple[float, float] = (0.75, 1.0)   # RFC 4380 §5.2
    requalify_after_fail: float | None = None
    allow_symmetric: bool = False   # RFC 6081 extensions would qualify some symmetric NATs


@dataclass
class TeredoStatus:
    """What ``netsh interface teredo show state`` prints (F1.15)."""

    type: str = "client"
    server_name: str = ""
    state: str = "offline"
    network: str = "unmanaged"
    nat: str = "unknown"
    local_mapping: str = ""
    external_mapping: str = ""
    error: str = ""
    address: IPv6Address | None = None
    history: list[tuple[float, TeredoSnapshot]] = field(default_factory=list)

    def snapshot(self) -> TeredoSnapshot:
        return TeredoSnapshot(tuple(getattr(self, f) for f in TeredoSnapshot.fields))


class TeredoSnapshot(Snapshot):
    """What ``netsh interface teredo show state`` would have printed at one moment."""

    __slots__ = ()
    fields = ("type", "server_name", "state", "network", "nat", "local_mapping",
              "external_mapping", "error", "address")
    convert: ClassVar[dict] = {"address": text_or_empty}


class TeredoClient:
    """A Windows Teredo client on ``host``: qualification, then periodic refresh.

    ``on_change(status)`` is called whenever the state, NAT type or address changes.
    """

    def __init__(self, host: Host, server: IPv4Address, secondary: IPv4Address,
                 config: TeredoConfig | None = None, client_type: str = "client",
                 on_change: Any = None) -> None:
        self.host = host
        self.kernel = host.kernel
        self.env = host.kernel.env
        self.server = server
        self.secondary = secondary
        self.config = config or TeredoConfig()
        self.rng = host.kernel.rng(f"teredo:{host.name}")
        self.status = TeredoStatus(type=client_type, server_name=str(server))
        self.on_change = on_change
        self.socket: UdpSocket | None = None
        self.interface: TunnelInterface | None = None
        self._waiter = None      # the event a qualification solicitation waits on
        self._timer = None       # the live refresh timer
        self._nonce: bytes | None = None   # the nonce a refresh's RA must echo
        self._tries = 0
        self._lost = None        # fires when a refresh goes unanswered
        # RFC 4380 §5.2.5 "date and time of the last interaction with the Teredo server":
        # when a packet last came from the server's port 3544 (F3.7); the refresh timer
        # carries its value when it was set
        self._heard = float("-inf")
        self._server_keys = (server._ip, secondary._ip)
        self.mapping: tuple[IPv4Address, int] | None = None
        self.cone = False
        self.process = None
        self.settled = self.env.event()   # fires when a qualification ends (value: bool)

    # -- state -------------------------------------------------------------------------
    def _set(self, state: str | None = None, **fields: Any) -> None:
        changed = False
        if state is not None and state != self.status.state:
            self.status.state = state
            changed = True
        for name, value in fields.items():
            if getattr(self.status, name) != value:
                setattr(self.status, name, value)
                changed = True
        if changed:
            self.status.history.append((self.env.now, self.status.snapshot()))
            self.kernel.log(self.host.name, "teredo-state", state=self.status.state,
                            nat=self.status.nat, error=self.status.error)
            if self.on_change is not None:
                self.on_change(self.status)

    # -- packets -----------------------------------------------------------------------
    def _on_packet(self, pkt: Packet) -> None:
        if pkt.sport == TEREDO_PORT and pkt.src._ip in self._server_keys:
            self._heard = self.env._now
        inner = pkt.inner
        if inner is None:
            return
        if isinstance(inner.payload, RouterAdvertisement):
            if self._nonce is not None:
                self._refresh_answered(pkt)
                return
            waiter = self._waiter
            if waiter is not None and not waiter.triggered:
                self._waiter = None
                waiter.succeed(pkt)
            return
        if self.interface is not None and inner.dst in self.host.local:
            self.interface.receive_inner(inner)
        else:
            self.kernel.drop(self.host.name, pkt, "Teredo: not qualified for this address")

    def _send_rs(self, dst: IPv4Address, cone: bool) -> bytes:
        """Send one RS (the inner packet is shared: every RS of a kind is the same) and
        return the nonce its RA must echo."""
        nonce = self.rng.getrandbits(64).to_bytes(8, "big")
        headers = TeredoHeaders(nonce)
        self.socket.sendto(dst, TEREDO_PORT, payload=headers, payload_size=AUTH_HEADER_SIZE,
                           inner=_RS_CONE if cone else _RS_NO_CONE)
        return nonce

    def _solicit(self, dst: IPv4Address, cone: bool):
        """Send one RS and wait up to ``rs_timeout`` for an RA echoing its nonce."""
        nonce = self._send_rs(dst, cone)
        deadline = self.env.now + self.config.rs_timeout
        while True:
            remaining = deadline - self.env.now
            if remaining <= 0:
                return None
            # One event that the RA or the timer triggers (cheaper than an AnyOf condition).
            waiter = self._waiter = self.env.event()
            call_later(self.env, remaining, lambda _t, w=waiter: w.triggered or w.succeed(None))
            pkt = yield waiter
            if pkt is None:
                self._waiter = None
                return None
            headers = pkt.payload
            if isinstance(headers, TeredoHeaders) and headers.nonce == nonce \
                    and headers.origin is not None:
                return pkt

    def _phase(self, dst: IPv4Address, cone: bool):
        """Up to ``rs_tries`` solicitations; the RA or None."""
        for _ in range(self.config.rs_tries):
            ra = yield from self._solicit(dst, cone)
            if ra is not None:
                return ra
        return None

    # -- qualification -----------------------------------------------------------------
    def qualify(self):
        """Run RFC 4380 §5.2.1 qualification; returns True when qualified and fires
        ``settled``."""
        ok = yield from self._qualify()
        settled, self.settled = self.settled, self.env.event()
        settled.succeed(ok)
        return ok

    def _qualify(self):
        if self.socket is None:
            self.socket = self.host.udp_open(on_packet=self._on_packet)
        local = self.host.source_for(self.server)
        self._set("probe(primary server)", local_mapping=f"{local}:{self.socket.port}",
                  error="")
        ra = yield from self._phase(self.server, cone=True)
        if ra is not None:
            return self._qualified(ra, cone=True, nat="cone")
        ra = yield from self._phase(self.server, cone=False)
        if ra is None:
            self._set("offline", nat="unknown",
                      error="the primary Teredo server cannot be reached over UDP")
            return False
        self._set("probe(secondary server)")
        ra2 = yield from self._phase(self.secondary, cone=False)
        if ra2 is None:
            self._set("offline", error="the secondary Teredo server cannot be reached over UDP")
            return False
        first, second = ra.payload.origin, ra2.payload.origin
        if first != second:
            self._set(nat="symmetric")
            if not self.config.allow_symmetric:
                self._set("offline", error="client is behind a symmetric NAT")
                return False
            return self._qualified(ra, cone=False, nat="symmetric")
        return self._qualified(ra, cone=False, nat="restricted")

    def _qualified(self, ra: Packet, cone: bool, nat: str) -> bool:
        self.cone = cone
        self._adopt_mapping(ra)
        self._set("qualified", nat=nat, error="")
        return True

    def _adopt_mapping(self, ra: Packet) -> None:
        mapped, port = ra.payload.origin
        if self.mapping == (mapped, port) and self.interface is not None:
            return
        self.mapping = (mapped, port)
        address = teredo_address(self.server, mapped, port, self.cone,
                                 self.rng.getrandbits(12))
        if self.interface is None:
            self.interface = self.host.add_interface(
                None, name="teredo", iface_class=TunnelInterface, encapsulate=self._send_inner)
        for old in list(self.interface.addresses):
            self.host.remove_address(self.interface, old)
        self.host.add_address(self.interface, f"{address}/128")
        if self.status.address is not None:
            self.kernel.log(self.host.name, "teredo-address-changed",
                            old=str(self.status.address), new=str(address))
        self._set(address=address, external_mapping=f"{mapped}:{port}")

    def _send_inner(self, inner: Packet) -> None:
        if self.status.state != "qualified":
            self.kernel.drop(self.host.name, inner, "Teredo interface not qualified")
            return
        self.socket.sendto(self.server, TEREDO_PORT, inner=inner)

    # -- maintenance -------------------------------------------------------------------
    def run(self):
        """Qualify, then keep the mapping alive until a refresh goes unanswered; without a
        configured retry, stay offline (F2.4)."""
        while True:
            ok = yield from self.qualify()
            if not ok:
                if self.config.requalify_after_fail is None:
                    return
                yield self.env.timeout(self.config.requalify_after_fail)
                continue
            self._lost = self.env.event()
            self._schedule_refresh()
            yield self._lost
            self._set("offline", error="Teredo refresh got no answer")

    # A refresh is driven by callbacks, not by the process: a fleet refreshes millions of
    # times, and a timer plus the packets is all one needs (no wake-up event per answer).
    # ``_timer`` is the one live timer; a timer that is no longer it fires and does nothing.

    def _schedule_refresh(self) -> None:
        """Check again 75–100 % of the interval after the server was last heard from (RFC 4380
        §5.2.5, F3.7): a refresh is due only if nothing came from the server meanwhile, so a
        tunnel that carries traffic through the server solicits less often."""
        low, high = self.config.refresh_jitter
        wait = self._heard + self.config.refresh_interval * self.rng.uniform(low, high) \
            - self.env._now
        if wait > 0:
            self._timer = call_later(self.env, wait, self._refresh_due, self._heard)
        else:
            self._tries = 0
            self._refresh_solicit()

    def _refresh_due(self, timer: Any) -> None:
        if timer is not self._timer:
            return
        if self._heard > timer._value:   # the server was heard from since the timer was set
            self._schedule_refresh()
        else:
            self._tries = 0
            self._refresh_solicit()

    def _refresh_solicit(self) -> None:
        """One RS to the server with the qualified cone bit, up to ``rs_tries`` times."""
        self._tries += 1
        self._nonce = self._send_rs(self.server, self.cone)
        self._timer = call_later(self.env, self.config.rs_timeout, self._refresh_timed_out)

    def _refresh_timed_out(self, timer: Any) -> None:
        if timer is not self._timer:
            return
        if self._tries < self.config.rs_tries:
            self._refresh_solicit()
            return
        self._timer = self._nonce = None
        self._lost.succeed()

    def _refresh_answered(self, pkt: Packet) -> None:
        headers = pkt.payload
        if not isinstance(headers, TeredoHeaders) or headers.nonce != self._nonce \
                or headers.origin is None:
            return
        self._nonce = None
        self._adopt_mapping(pkt)
        self._schedule_refresh()

    def start(self):
        self.process = self.env.process(self._guarded())
        return self.process

    def _guarded(self):
        try:
            yield from self.run()
        except Interrupt:
            return

    def shutdown(self, error: str = "") -> None:
        """Stop the client (a network change): offline, socket and interface gone."""
        self._timer = self._nonce = None
        if self.process is not None and self.process.is_alive:
            self.process.interrupt("shutdown")
        if self.socket is not None:
            self.socket.close()
            self.socket = None
        if self.interface is not None:
            for addr in list(self.interface.addresses):
                self.host.remove_address(self.interface, addr)
            self.host.routes.remove_interface(self.interface)
        self._set("offline", error=error)

