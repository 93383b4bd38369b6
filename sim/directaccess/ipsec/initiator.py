"""The client's IKE/AuthIP initiator and ESP endpoint: it negotiates one tunnel at a time
(main mode, extended mode for the second authentication, quick mode; MS-AIPS §3) as UDP 500
datagrams through the transition interface, and carries intranet packets in ESP.

Each exchange is one request and one answer, retransmitted on a doubling timer; a negotiation
that hears nothing ends as 13805 (ERROR_IPSEC_IKE_TIMED_OUT), a notify ends it with the code the
responder sent. No process per packet: answers wake the one waiting negotiation.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sim.directaccess.ipsec import codes
from sim.directaccess.ipsec.wire import ESP, ESP_OVERHEAD, IKE_PORT, EspHeader, IsakmpMessage
from sim.net.fastpath import call_later
from sim.net.packet import IPV6_HEADER, UDP, UDP_HEADER, Packet

if TYPE_CHECKING:
    from sim.net.host import Host
    from sim.net.node import Interface

# How long the initiator waits for each answer before sending again; after the last wait the
# negotiation has timed out. Windows' IKE retransmission schedule is UNCONFIRMED (A10 gives
# only the code): 1 s doubling, four sends, 15 s in all.
IKE_WAITS = (1.0, 2.0, 4.0, 8.0)


class Initiator:
    """The IKE and ESP side of one client ``host``."""

    def __init__(self, host: Host, on_inner: Callable[[Packet, str], None]) -> None:
        self.host = host
        self.env = host.kernel.env
        self.on_inner = on_inner                  # a decapsulated packet and its tunnel
        self.socket = host.udp_open(IKE_PORT, self._answer)
        host.handlers[ESP] = self._esp
        self.waiting: dict[int, Any] = {}         # cookie -> the event its answer fires
        self.inbound: dict[int, str] = {}         # our SPI -> tunnel
        self.outbound: dict[str, list] = {}       # tunnel -> [peer's SPI, seq, bytes]
        self._cookies = 0

    def cookie(self) -> int:
        self._cookies += 1
        return (zlib.crc32(self.host.name.encode()) & 0xFFFF) << 16 | self._cookies

    # -- IKE exchanges -------------------------------------------------------------------
    def _send(self, iface: Interface | None, endpoint: Any, msg: IsakmpMessage) -> None:
        src = self._source(iface, endpoint)
        pkt = Packet(src, endpoint, UDP, IKE_PORT, IKE_PORT,
                     IPV6_HEADER + UDP_HEADER + msg.size, msg)
        if iface is None:
            self.host.send(pkt)
        else:
            iface.send(pkt, endpoint)

    def _source(self, iface: Interface | None, endpoint: Any) -> Any:
        if iface is None:
            return self.host.source_for(endpoint)
        return next(a for a in iface.addresses if a.version == 6)

    def exchange(self, iface: Interface | None, endpoint: Any, msg: IsakmpMessage):
        """Send ``msg`` until answered: a generator returning the answer, or None."""
        for wait in IKE_WAITS:
            ev = self.env.event()
            self.waiting[msg.cookie] = ev
            self._send(iface, endpoint, msg)
            call_later(self.env, wait, lambda _t, ev=ev: ev.triggered or ev.succeed(None))
            answer = yield ev
            if answer is not None:
                return answer
        self.waiting.pop(msg.cookie, None)
        return None

    def _answer(self, pkt: Packet) -> None:
        msg = pkt.payload
        ev = self.waiting.pop(getattr(msg, "cookie", -1), None)
        if ev is not None and not ev.triggered:
            ev.succeed(msg)

    def negotiate(self, iface: Interface | None, endpoint: Any, tunnel: str, first: Any,
                  second: Any = None, cookie: int | None = None):
        """Main mode with ``first`` (the computer's credentials), extended mode with
        ``second`` if any, then quick mode. A generator returning (error, cookie): error is
        None when the tunnel is up. With ``cookie`` (a main mode SA already up) only quick
        mode runs: a rekey."""
        steps: list[tuple[str, int, Any]] = []
        if cookie is None:
            cookie = self.cookie()
            extra = sum(len(c.tbs_certificate_bytes) for c in first[2]) \
                if first and first[0] == "certificate" else 0
            steps += [("main", 1, None), ("main", 3, (first, extra))]
            if second is not None:
                steps.append(("extended", 1, (second, 0)))
        for exchange, step, auth in steps:
            msg = IsakmpMessage(exchange, step, cookie, tunnel, auth=auth and auth[0],
                                extra=auth[1] if auth else 0)
            answer = yield from self.exchange(iface, endpoint, msg)
            if answer is None:
                return codes.TIMED_OUT, cookie
            if answer.notify is not None:
                return codes.BY_CODE.get(answer.notify, codes.AUTH_FAIL), cookie
        spi = 0x5A000000 | self.cookie() & 0xFFFFFF   # a new SPI for each quick mode
        self.inbound[spi] = tunnel
        answer = yield from self.exchange(iface, endpoint,
                                          IsakmpMessage("quick", 1, cookie, tunnel, auth=spi))
        if answer is None:
            return codes.TIMED_OUT, cookie
        self._send(iface, endpoint, IsakmpMessage("quick", 3, cookie, tunnel))
        self.outbound[tunnel] = [answer.auth, 0, 0]
        return None, cookie

    def extended(self, iface: Interface | None, endpoint: Any, tunnel: str, cookie: int,
                 second: Any):
        """An extended mode on a main mode SA already up (the user authenticates later)."""
        answer = yield from self.exchange(iface, endpoint, IsakmpMessage(
            "extended", 1, cookie, tunnel, auth=second))
        if answer is None:
            return codes.TIMED_OUT
        return None if answer.notify is None else codes.BY_CODE.get(answer.notify,
                                                                     codes.AUTH_FAIL)

    def forget(self, tunnel: str | None = None) -> None:
        """Drop the SAs of ``tunnel`` (all when None)."""
        self.outbound = {} if tunnel is None else {
            t: v for t, v in self.outbound.items() if t != tunnel}
        self.inbound = {} if tunnel is None else {
            s: t for s, t in self.inbound.items() if t != tunnel}

    # -- ESP -----------------------------------------------------------------------------
    def send(self, iface: Interface | None, endpoint: Any, tunnel: str, inner: Packet) -> bool:
        """Carry ``inner`` in ESP through ``tunnel`` (from ``inner``'s source, the tunnel
        address); False if the tunnel has no SA."""
        out = self.outbound.get(tunnel)
        if out is None:
            return False
        out[1] += 1
        out[2] += inner.size
        pkt = Packet(inner.src, endpoint, ESP, size=inner.size + ESP_OVERHEAD,
                     payload=EspHeader(out[0], out[1]), inner=inner)
        if iface is None:
            self.host.send(pkt)
        else:
            iface.send(pkt, endpoint)
        return True

    def _esp(self, pkt: Packet, _iface: Any) -> None:
        tunnel = self.inbound.get(getattr(pkt.payload, "spi", -1))
        if tunnel is None or pkt.inner is None:
            self.host.kernel.drop(self.host.name, pkt, "ESP: no security association")
            return
        self.on_inner(pkt.inner, tunnel)
