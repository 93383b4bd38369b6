"""Static port forwarding (destination NAT) on a gateway: how a server behind an edge NAT with
one public address is published, e.g. TCP 443 for IP-HTTPS only (DA-PLAN, S16)."""

from __future__ import annotations

from ipaddress import ip_address
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.net.packet import Packet


class PortForward:
    """A gateway stage that maps ``public:port`` to ``inside:port`` for one protocol, and
    gives the inside server's replies the public source. An edge that only publishes a server
    needs no other NAT stage; anything else the server sends leaves untranslated."""

    def __init__(self, proto: int, public: Any, port: int, inside: Any,
                 inside_port: int | None = None) -> None:
        self.proto = proto
        self.public = ip_address(public)
        self.port = port
        self.inside = ip_address(inside)
        self.inside_port = inside_port or port

    def inbound(self, pkt: Packet) -> Packet | None:
        if pkt.proto == self.proto and pkt.dst == self.public and pkt.dport == self.port:
            return pkt.replace(dst=self.inside, dport=self.inside_port)
        return pkt

    def outbound(self, pkt: Packet) -> Packet | None:
        if pkt.proto == self.proto and pkt.src == self.inside and pkt.sport == self.inside_port:
            return pkt.replace(src=self.public, sport=self.port)
        return pkt
