"""Static port forwarding (destination NAT) on a gateway: how a server behind an edge NAT with
one public address is published, e.g. TCP 443 for IP-HTTPS only (DA-PLAN, S16)."""

from __future__ import annotations

from ipaddress import ip_address
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.net.packet import Packet
    from sim.net.router import Gateway


class PortForward:
    """A gateway stage that maps ``public:port`` to ``inside:port`` for one protocol, and
    gives the inside server's replies the public source. An edge that only publishes a server
    needs no other NAT stage; anything else the server sends leaves untranslated. With the
    trace on, each rewrite is a ``translate`` record, as a NAT's is (pictures follow packets
    across it)."""

    def __init__(self, proto: int, public: Any, port: int, inside: Any,
                 inside_port: int | None = None) -> None:
        self.proto = proto
        self.public = ip_address(public)
        self.port = port
        self.inside = ip_address(inside)
        self.inside_port = inside_port or port
        self.name = "port-forward"
        self._kernel: Any = None

    def attach(self, gateway: Gateway) -> None:
        """Called by ``Gateway.add_stage``: its name and trace are the gateway's."""
        self.name = f"{gateway.name}-forward"
        self._kernel = gateway.kernel

    def inbound(self, pkt: Packet) -> Packet | None:
        if pkt.proto == self.proto and pkt.dst == self.public and pkt.dport == self.port:
            return self._log("in", pkt, pkt.replace(dst=self.inside, dport=self.inside_port))
        return pkt

    def outbound(self, pkt: Packet) -> Packet | None:
        if pkt.proto == self.proto and pkt.src == self.inside and pkt.sport == self.inside_port:
            return self._log("out", pkt, pkt.replace(src=self.public, sport=self.port))
        return pkt

    def _log(self, direction: str, before: Packet, after: Packet) -> Packet:
        kernel = self._kernel
        if kernel is not None and kernel.trace.on:
            kernel.log(self.name, "translate", direction=direction, before=before, after=after)
        return after
