"""The DA server's IPsec side: the AuthIP/IKE responder on UDP 500, the ESP tunnel endpoint,
and the intranet hosts behind it (collapsed into the server, as the intranet prefix is).

The responder decides each authentication from what the message carries, as the server's
IKEEXT would: a computer certificate goes to the chain engine with the configured root as the
only trust anchor (A9); a Kerberos ticket must be one its KDC issued; an identity whose
computer account runs Windows 7 is refused unless Windows 7 is allowed (A8). A server that goes
down forgets its security associations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any

from sim.directaccess.dns64 import Nat64, synthesize
from sim.directaccess.ipsec import codes
from sim.directaccess.ipsec.config import (
    SERVICE_PORTS,
    WEB_PROBE_ADDRESS,
    IntranetSpec,
    IpsecConfig,
)
from sim.directaccess.ipsec.kerberos import (
    AS_REP_SIZE,
    KERBEROS_PORT,
    KerberosReply,
    KerberosRequest,
    kdc_answer,
)
from sim.directaccess.ipsec.wire import ESP, ESP_OVERHEAD, IKE_PORT, EspHeader, IsakmpMessage
from sim.net.fastpath import addr_key
from sim.net.host import EchoMessage
from sim.net.packet import (
    ACK,
    ICMP,
    ICMPV6,
    IPV4_HEADER,
    IPV6_HEADER,
    RST,
    SYN,
    TCP,
    TCP_HEADER,
    UDP,
    UDP_HEADER,
    Packet,
)

if TYPE_CHECKING:
    from sim.net.host import Host
    from sim.net.node import Interface

ENDPOINT = IPv6Address("2001:db8:1::1")   # the server's IPsec tunnel endpoint (intranet side)


class IntranetHost:
    """One host behind the server: its address and the services that answer; ``nat64``
    when it is reached at its IPv4 address through the server's NAT64."""

    __slots__ = ("address", "name", "nat64", "services")

    def __init__(self, name: str, address: Any, services: tuple[str, ...],
                 nat64: bool = False) -> None:
        self.name = name
        self.address = address
        self.services = services
        self.nat64 = nat64


class IpsecResponder:
    """IKE responder, ESP endpoint and intranet on the DA server ``host``."""

    def __init__(self, host: Host, config: IpsecConfig, intranet: IntranetSpec,
                 verify_computer: Callable[[list, dt.datetime], Any] | None,
                 computers: Callable[[str], str | None], allow_windows7: bool,
                 now: Callable[[], dt.datetime], nat64: Nat64 | None = None) -> None:
        self.host = host
        self.kernel = host.kernel
        self.config = config
        self.verify_computer = verify_computer   # chain, at -> ChainResult
        self.computers = computers               # computer name -> its Windows release
        self.allow_windows7 = allow_windows7
        self.now = now
        # by addr_key (a packet's dkey): no IPv6Address hashing per packet
        self.hosts: dict[int, IntranetHost] = {
            addr_key(h.ipv6): IntranetHost(n, h.ipv6, h.answers)
            for n, h in intranet.hosts.items() if h.ipv6 is not None}
        self.hosts[addr_key(WEB_PROBE_ADDRESS)] = IntranetHost(
            "directaccess-WebProbeHost", WEB_PROBE_ADDRESS, ("http",))
        self.nat64 = nat64
        if nat64 is not None:   # every host with IPv4 also answers at its prefix address (C2)
            for n, h in intranet.hosts.items():
                if h.ipv4 is not None:
                    self.hosts[addr_key(synthesize(nat64.prefix, h.ipv4))] = IntranetHost(
                        n, h.ipv4, h.answers, nat64=True)
        self.infrastructure = frozenset(
            addr_key(h.ipv6) for n, h in intranet.hosts.items()
            if n in intranet.infrastructure() and h.ipv6 is not None) | {
            addr_key(WEB_PROBE_ADDRESS)}
        self.single_tunnel = config.authentication == "kerberos_proxy"
        host.add_interface(None, f"{ENDPOINT}/128", name="ipsec")
        self.socket = host.udp_open(IKE_PORT, self._ike)
        host.handlers[ESP] = self._esp
        # SPI -> [client address, tunnel, the client's SPI, seq]: both directions of one SA
        self.inbound: dict[int, list] = {}
        self.outbound: dict[tuple[int, str], list] = {}  # (client's addr_key, tunnel) -> SA
        self.authenticated: set[tuple[Any, int]] = set()   # (client, cookie) past main mode
        self._spi = 0x1000
        self.log: dict[str, str] = {}   # its event log: why it refused each computer
        self._syn_answers: dict[tuple, Packet] = {}

    # -- IKE -----------------------------------------------------------------------------
    def _reply(self, pkt: Packet, msg: IsakmpMessage, step: int, notify: int | None = None,
               auth: Any = None) -> None:
        answer = IsakmpMessage("notify" if notify else msg.exchange, 1 if notify else step,
                               msg.cookie, msg.tunnel, auth=auth, notify=notify)
        self.socket.sendto(pkt.src, pkt.sport, answer, answer.size, src=pkt.dst)

    def _ike(self, pkt: Packet) -> None:
        msg = pkt.payload
        if not isinstance(msg, IsakmpMessage):
            return
        key = (pkt.src, msg.cookie)
        if msg.exchange == "main" and msg.step == 1:
            self._reply(pkt, msg, 2)
        elif msg.exchange == "main" and msg.step == 3:
            error = self._first_auth(msg.auth)
            if error is None:
                self.authenticated.add(key)
                self._reply(pkt, msg, 4)
            else:
                self._reply(pkt, msg, 4, notify=error.code)
        elif key not in self.authenticated:
            return   # no main mode SA: AuthIP drops it
        elif msg.exchange == "extended":
            error = self._second_auth(msg.tunnel, msg.auth)
            self._reply(pkt, msg, 2, notify=None if error is None else error.code)
        elif msg.exchange == "quick" and msg.step == 1:
            spi = self._new_spi()
            sa = [pkt.src, msg.tunnel, msg.auth, 0]   # msg.auth: the client's SPI
            self.inbound[spi] = self.outbound[(pkt.skey, msg.tunnel)] = sa
            self._reply(pkt, msg, 2, auth=spi)

    def _new_spi(self) -> int:
        self._spi += 1
        return self._spi

    def _first_auth(self, auth: Any) -> codes.IkeCode | None:
        """Main mode: the computer's credentials (A3)."""
        if self.single_tunnel:
            if not (isinstance(auth, tuple) and auth[0] == "kerberos"):
                return codes.KERBEROS_ERROR
            ticket = auth[1]
            if ticket.kind != "computer" or ticket.valid_until < self.kernel.env.now:
                return codes.KERBEROS_ERROR
            return self._allowed(ticket.principal)
        if not (isinstance(auth, tuple) and auth[0] == "certificate"):
            return codes.AUTH_FAIL
        name, chain = auth[1], auth[2]
        result = self.verify_computer(chain, self.now())
        if not result.trusted:
            self.log[name] = result.explanation
            return codes.code_for_chain(result.hresult)
        return self._allowed(name)

    def _allowed(self, computer: str) -> codes.IkeCode | None:
        """A8: Windows 7 computers are refused unless the deployment allows them (the
        computer account's operating system, as Active Directory records it)."""
        if self.computers(computer) == "windows7" and not self.allow_windows7:
            self.log[computer] = ("the computer runs Windows 7, and the deployment does not "
                                  "allow Windows 7 clients")
            return codes.AUTH_FAIL
        return None

    def _second_auth(self, tunnel: str, auth: Any) -> codes.IkeCode | None:
        """Extended mode: NTLMv2 with the computer account for the infrastructure tunnel,
        the user's Kerberos ticket for the intranet tunnel (A3)."""
        if isinstance(auth, tuple) and auth[0] == "ntlmv2" and tunnel == "infrastructure":
            return None
        if isinstance(auth, tuple) and auth[0] == "kerberos" and auth[1].kind == "user" \
                and auth[1].valid_until >= self.kernel.env.now:
            return None
        return codes.KERBEROS_ERROR

    # -- ESP and the intranet ------------------------------------------------------------
    def _esp(self, pkt: Packet, iface: Interface) -> None:
        sa = self.inbound.get(getattr(pkt.payload, "spi", -1))
        inner = pkt.inner
        if sa is None or inner is None:
            self.kernel.drop(self.host.name, pkt, "ESP: no security association for this SPI")
            return
        tunnel = sa[1]
        target = self.hosts.get(inner.dkey)
        if target is None:
            self.kernel.drop(self.host.name, inner, f"no intranet host at {inner.dst}")
            return
        if tunnel == "infrastructure" and not self.single_tunnel \
                and inner.dkey not in self.infrastructure and inner.proto != ICMPV6:
            # the infrastructure tunnel's rule names the management servers only (A1, A5)
            self.kernel.drop(self.host.name, inner, "not a host of the infrastructure tunnel")
            return
        if target.nat64:   # out as IPv4 to the host, its answer back as IPv6 (RFC 6146)
            assert self.nat64 is not None
            out = self.nat64.outbound(inner)
            answer = None if out is None else self._serve(target, out)
            answer = None if answer is None else self.nat64.inbound(answer)
        else:
            answer = self._serve(target, inner)
        if answer is not None:
            self._send_sa(sa, answer)

    def _serve(self, target: IntranetHost, inner: Packet) -> Packet | None:
        """What the intranet host answers: an echo reply, a SYN-ACK (or a RST on a closed
        port), a KDC reply; an IPv4 packet (from the NAT64) gets its IPv4 answer."""
        header = IPV6_HEADER if inner.dst.version == 6 else IPV4_HEADER
        if inner.proto in (ICMPV6, ICMP) and \
                getattr(inner.payload, "kind", "") == "echo-request":
            if "icmp" not in target.services:
                return None
            msg = inner.payload
            return Packet(inner.dst, inner.src, inner.proto, size=inner.size,
                          payload=EchoMessage("echo-reply", msg.ident, msg.seq))
        if inner.proto == TCP and inner.flags & SYN:
            # the same SYN (a connectivity assistant's) gets the same answer: made once
            key = (inner.skey, inner.dkey, inner.sport, inner.dport)
            answer = self._syn_answers.get(key)
            if answer is None:
                open_ = any(SERVICE_PORTS.get(s) == inner.dport for s in target.services)
                answer = self._syn_answers[key] = Packet(
                    inner.dst, inner.src, TCP, inner.dport, inner.sport,
                    header + TCP_HEADER, flags=(SYN | ACK) if open_ else (RST | ACK),
                    seq=0, ack=inner.seq + 1)
            return answer
        if inner.proto == UDP and inner.dport == KERBEROS_PORT and "kerberos" in target.services \
                and isinstance(inner.payload, KerberosRequest):
            reply = kdc_answer(inner.payload, self.kernel.env.now)
            return Packet(inner.dst, inner.src, UDP, KERBEROS_PORT, inner.sport,
                          IPV6_HEADER + UDP_HEADER + AS_REP_SIZE, payload=reply)
        return None

    def kdc_proxy(self, req: KerberosRequest) -> KerberosReply:
        """The KDC proxy (kpssvc) asks a domain controller for the client (A6)."""
        return kdc_answer(req, self.kernel.env.now)

    def _send_sa(self, sa: list, inner: Packet) -> None:
        """Carry ``inner`` back to the client in ESP on ``sa``."""
        sa[3] += 1
        self.host.send(Packet(ENDPOINT, sa[0], ESP, size=inner.size + ESP_OVERHEAD,
                              payload=EspHeader(sa[2], sa[3]), inner=inner))

    def forget(self) -> None:
        """A restart loses every security association."""
        self.inbound.clear()
        self.outbound.clear()
        self.authenticated.clear()
