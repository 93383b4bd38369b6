"""A hotel's captive portal as a gateway stage: until the guest logs in, web traffic is
answered by the portal and everything else is dropped (S3, "Teredo at the Library").

Before login: DNS (UDP 53) passes so the portal's name resolves; TCP 80 is answered by the
portal itself, spoofing the server — SYN-ACK, then "302 Found" to the login page, then FIN;
TCP 443 is dropped (``https: drop``, the default) or refused with a RST (``https: reset``);
all other traffic is dropped. After ``login()`` every packet passes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.net.http import HttpRequest, HttpResponse
from sim.net.packet import ACK, FIN, IPV4_HEADER, PSH, RST, SYN, TCP, TCP_HEADER, UDP, Packet

if TYPE_CHECKING:
    from sim.net.kernel import Kernel
    from sim.net.router import Gateway


class CaptivePortal:
    """The stage; ``login_url`` is where the 302 points."""

    def __init__(self, kernel: Kernel, name: str, https: str = "drop",
                 login_url: str = "http://portal.hotel.example/login") -> None:
        if https not in ("drop", "reset"):
            raise ValueError(f"captive portal https {https!r}: expected drop or reset")
        self.kernel = kernel
        self.name = name
        self.https = https
        self.login_url = login_url
        self.logged_in = False
        self.gateway: Gateway | None = None
        self._isn = kernel.rng(f"portal:{name}")

    def attach(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def login(self) -> None:
        self.logged_in = True
        self.kernel.log(self.name, "portal-login")

    def schedule_login(self, at: float) -> None:
        self.kernel.env.timeout(at).callbacks.append(lambda _e: self.login())

    def inbound(self, pkt: Packet) -> Packet | None:
        return pkt

    def outbound(self, pkt: Packet) -> Packet | None:
        if self.logged_in:
            return pkt
        if pkt.proto == UDP and pkt.dport == 53:
            return pkt
        if pkt.proto == TCP and pkt.dport == 80:
            self._answer_http(pkt)
            return None
        if pkt.proto == TCP and pkt.dport == 443 and self.https == "reset" and pkt.flags & SYN:
            self._reply(pkt, RST | ACK, seq=0, ack=pkt.seq + 1)
            return None
        self.kernel.drop(self.name, pkt, "captive portal: not logged in yet")
        return None

    def _reply(self, pkt: Packet, flags: int, seq: int, ack: int, payload: Any = None,
               size: int = 0) -> None:
        out = Packet(pkt.dst, pkt.src, TCP, pkt.dport, pkt.sport,
                     size=IPV4_HEADER + TCP_HEADER + size, payload=payload, flags=flags,
                     seq=seq, ack=ack)
        self.gateway.send(out)

    def _answer_http(self, pkt: Packet) -> None:
        """A stateless spoofed web server: enough TCP for one redirect."""
        isn = 1_000_000
        if pkt.flags & SYN:
            self._reply(pkt, SYN | ACK, seq=isn, ack=pkt.seq + 1)
        elif isinstance(pkt.payload, HttpRequest):
            body = pkt.size - IPV4_HEADER - TCP_HEADER
            resp = HttpResponse(302, "Found", {"Location": self.login_url,
                                               "Content-Length": "0"})
            self._reply(pkt, ACK | PSH | FIN, seq=isn + 1, ack=pkt.seq + body,
                        payload=resp, size=resp.size)
