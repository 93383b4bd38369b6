"""NAT behaviour discovery in the spirit of RFC 5780, inside the simulator: "what kind of NAT
is this network?"

A :class:`DiscoveryServer` runs on a host with two public addresses and answers on two ports
(RFC 5780 §7). Its answer tells the source it saw (STUN's XOR-MAPPED-ADDRESS), the address it
answers from (RESPONSE-ORIGIN) and its other address and port (OTHER-ADDRESS); a request may
ask for the answer to come from the other address and/or port (CHANGE-REQUEST, §7.2).

:func:`discover` is a SimPy process on a host behind the NATs. It runs the mapping tests of
§4.3 (compare the mapped addresses seen by the primary, the alternate address, and the
alternate address and port) and the filtering tests of §4.4 (ask for answers from the other
address and port, then from the other port only), on a fresh socket so that the mapping tests
leave no filter state behind. Behind several NATs it sees the combined behaviour: each is as
strict as the strictest NAT on the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.net.nat import ADF, ADM, APDF, APDM, EIF, EIM, Behaviour, classic_name

if TYPE_CHECKING:
    from collections.abc import Generator

    from sim.net.host import Host, UdpSocket
    from sim.net.packet import Address, Packet

STUN_PORT = 3478            # RFC 5389 §9 (default STUN port)
ALTERNATE_PORT = 3479       # RFC 5780 §7: any second port; 3479 by common practice
RTO = 0.5                   # RFC 5389 §7.2.1: initial retransmission timeout 500 ms
ATTEMPTS = 3                # RFC 5389 §7.2.1 says Rc = 7; 3 keeps negative tests short
REQUEST_SIZE = 20 + 8       # STUN header + CHANGE-REQUEST
RESPONSE_SIZE = 20 + 3 * 12  # header + XOR-MAPPED-ADDRESS, RESPONSE-ORIGIN, OTHER-ADDRESS

Endpoint = tuple[Any, int]


class BindingRequest:
    """A STUN Binding request, with RFC 5780's CHANGE-REQUEST flags."""

    __slots__ = ("change_ip", "change_port", "txid")

    def __init__(self, txid: int, change_ip: bool = False, change_port: bool = False) -> None:
        self.txid = txid
        self.change_ip = change_ip
        self.change_port = change_port


class BindingResponse:
    """A STUN Binding success response: the mapped address the server saw, where it answers
    from, and its other address and port."""

    __slots__ = ("mapped", "origin", "other", "txid")

    def __init__(self, txid: int, mapped: Endpoint, origin: Endpoint, other: Endpoint) -> None:
        self.txid = txid
        self.mapped = mapped
        self.origin = origin
        self.other = other


class DiscoveryServer:
    """An RFC 5780 server on ``host``: two addresses (``primary``, ``alternate``) and two
    ports; it answers each Binding request from the address and port the request asks for."""

    def __init__(self, host: Host, primary: Address, alternate: Address,
                 port: int = STUN_PORT, alt_port: int = ALTERNATE_PORT) -> None:
        if primary not in host.local or alternate not in host.local:
            raise ValueError(f"{host.name} must own both {primary} and {alternate}")
        self.host = host
        self.addresses = (primary, alternate)
        self.ports = (port, alt_port)
        self.sockets: dict[int, UdpSocket] = {}
        for p in self.ports:
            self.sockets[p] = host.udp_open(p, on_packet=self._answer)
        self.requests = 0

    def _answer(self, pkt: Packet) -> None:
        req = pkt.payload
        if not isinstance(req, BindingRequest):
            return
        self.requests += 1
        (a1, a2), (p1, p2) = self.addresses, self.ports
        here_addr, here_port = pkt.dst, pkt.dport
        other_addr = a2 if here_addr == a1 else a1
        other_port = p2 if here_port == p1 else p1
        src = other_addr if req.change_ip else here_addr
        sport = other_port if req.change_port else here_port
        resp = BindingResponse(req.txid, (pkt.src, pkt.sport), (src, sport),
                               (other_addr, other_port))
        self.sockets[sport].sendto(pkt.src, pkt.sport, resp, RESPONSE_SIZE - 8, src=src)


@dataclass(frozen=True)
class NatBehaviourReport:
    """What the tests found. ``mapping``/``filtering`` are None when a test could not be run
    (UDP blocked, or the server's alternate address unreachable)."""

    local: Endpoint
    mapped: Endpoint | None
    mapping: Behaviour | None
    filtering: Behaviour | None
    udp_blocked: bool = False

    @property
    def behind_nat(self) -> bool:
        return self.mapped is not None and tuple(self.mapped) != tuple(self.local)

    @property
    def classic_name(self) -> str:
        if self.udp_blocked:
            return "UDP blocked"
        if self.mapping is None or self.filtering is None:
            return "unknown"
        if not self.behind_nat:
            return "open Internet" if self.filtering == EIF else "no NAT, filtering firewall"
        return classic_name(self.mapping, self.filtering)

    def describe(self) -> str:
        """The answer to "what kind of NAT is this network?", as a few lines of text."""
        lines = [f"local address:   {self.local[0]}:{self.local[1]}"]
        if self.udp_blocked:
            lines.append("no answer to UDP: UDP is blocked on this network")
            return "\n".join(lines)
        lines.append(f"mapped address:  {self.mapped[0]}:{self.mapped[1]}"
                     + ("" if self.behind_nat else " (no NAT)"))
        for what, b, suffix in (("mapping", self.mapping, "M"),
                                ("filtering", self.filtering, "F")):
            text = f"{b.label} ({b.abbrev}{suffix})" if b is not None else "unknown"
            lines.append(f"{what + ':':<17}{text}")
        lines.append(f"NAT type:        {self.classic_name}")
        return "\n".join(lines)


def _transact(sock: UdpSocket, rng: Any, dst: Address, dport: int, change_ip: bool = False,
              change_port: bool = False, rto: float = RTO,
              attempts: int = ATTEMPTS) -> Generator[Any, Any, BindingResponse | None]:
    """One request/response transaction with retransmissions at rto, 2·rto, 4·rto...
    (RFC 5389 §7.2.1); the answer, or None."""
    env = sock.host.kernel.env
    txid = rng.getrandbits(96)
    req = BindingRequest(txid, change_ip, change_port)
    wait = rto
    for _ in range(attempts):
        sock.sendto(dst, dport, req, REQUEST_SIZE)
        deadline = env.now + wait
        while env.now < deadline:
            pkt = yield sock.recv(timeout=deadline - env.now)
            if pkt is None:
                break
            resp = pkt.payload
            if isinstance(resp, BindingResponse) and resp.txid == txid:
                return resp
        wait *= 2
    return None


def discover(host: Host, server: Address, port: int = STUN_PORT, rto: float = RTO,
             attempts: int = ATTEMPTS) -> Generator[Any, Any, NatBehaviourReport]:
    """Classify the NAT(s) between ``host`` and an RFC 5780 server: a SimPy process whose
    value is a :class:`NatBehaviourReport`."""
    rng = host.kernel.rng(f"discovery:{host.name}")
    local = host.source_for(server)

    # Mapping behaviour, RFC 5780 §4.3.
    sock = host.udp_open()
    try:
        r1 = yield from _transact(sock, rng, server, port, rto=rto, attempts=attempts)
        if r1 is None:
            return NatBehaviourReport((local, sock.port), None, None, None, udp_blocked=True)
        x1 = r1.mapped
        alt_addr, alt_port = r1.other
        if tuple(x1) == (local, sock.port):
            mapping: Behaviour | None = EIM   # no NAT: nothing is remapped
        else:
            r2 = yield from _transact(sock, rng, alt_addr, port, rto=rto, attempts=attempts)
            if r2 is None:
                mapping = None
            elif r2.mapped == x1:
                mapping = EIM
            else:
                r3 = yield from _transact(sock, rng, alt_addr, alt_port, rto=rto,
                                          attempts=attempts)
                mapping = None if r3 is None else (ADM if r3.mapped == r2.mapped else APDM)
        local_ep = (local, sock.port)
    finally:
        sock.close()

    # Filtering behaviour, RFC 5780 §4.4, on a fresh port: no state from the tests above.
    sock = host.udp_open()
    try:
        f1 = yield from _transact(sock, rng, server, port, rto=rto, attempts=attempts)
        if f1 is None:
            filtering: Behaviour | None = None
        else:
            f2 = yield from _transact(sock, rng, server, port, change_ip=True,
                                      change_port=True, rto=rto, attempts=attempts)
            if f2 is not None:
                filtering = EIF
            else:
                f3 = yield from _transact(sock, rng, server, port, change_port=True, rto=rto,
                                          attempts=attempts)
                filtering = ADF if f3 is not None else APDF
    finally:
        sock.close()
    return NatBehaviourReport(local_ep, x1, mapping, filtering)


__all__ = [
    "BindingRequest", "BindingResponse", "DiscoveryServer",
    "NatBehaviourReport", "discover",
]
