"""Teredo (RFC 4380, as Windows runs it): the client's qualification and refresh. Addresses and
headers are in :mod:`sim.transition.teredo_wire`, the server on two consecutive public IPv4
addresses in :mod:`sim.transition.teredo_server`; both are importable from here too.

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
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, Any, ClassVar

from simpy import Interrupt

from sim.net.fastpath import addr_key
from sim.net.icmpv6 import RouterAdvertisement
from sim.net.kernel import call_later
from sim.net.packet import Packet
from sim.transition.snapshot import Snapshot, text_or_empty
from sim.transition.teredo_server import TeredoServer
from sim.transition.teredo_wire import (
    _RS_CONE,
    _RS_NO_CONE,
    AUTH_HEADER_SIZE,
    CONE_FLAG,
    LINK_LOCAL_CONE,
    LINK_LOCAL_NO_CONE,
    NOT_GLOBAL_V4,
    ORIGIN_SIZE,
    REFRESH_INTERVAL,
    RS_TIMEOUT,
    RS_TRIES,
    TEREDO_MTU,
    TEREDO_PORT,
    TEREDO_PREFIX,
    TeredoAddressInfo,
    TeredoHeaders,
    is_global_ipv4,
    parse_teredo_address,
    server_link_local,
    teredo_address,
)
from sim.transition.tunnel import TunnelInterface

if TYPE_CHECKING:
    from sim.net.host import Host, UdpSocket

__all__ = ["AUTH_HEADER_SIZE", "CONE_FLAG", "LINK_LOCAL_CONE", "LINK_LOCAL_NO_CONE",
           "NOT_GLOBAL_V4", "ORIGIN_SIZE", "REFRESH_INTERVAL", "RS_TIMEOUT", "RS_TRIES",
           "TEREDO_MTU", "TEREDO_PORT", "TEREDO_PREFIX", "TeredoAddressInfo", "TeredoClient",
           "TeredoConfig", "TeredoHeaders", "TeredoServer", "TeredoSnapshot", "TeredoStatus",
           "is_global_ipv4", "parse_teredo_address", "server_link_local", "teredo_address"]


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
        self._server_keys = (addr_key(server), addr_key(secondary))
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
        if pkt.sport == TEREDO_PORT and pkt.skey in self._server_keys:
            self._heard = self.env.now
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
        if self.interface is not None and inner.dkey in self.host.local_keys:
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
            - self.env.now
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

