"""A tunnel pseudo-interface: IPv6 routed to it is handed to an encapsulation function
(protocol 41, Teredo UDP, an IP-HTTPS stream) instead of a link."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sim.net.node import Interface

if TYPE_CHECKING:
    from sim.net.node import Node
    from sim.net.packet import Address, Packet


class TunnelInterface(Interface):
    """Sends by encapsulating; receives what the tunnel's transport decapsulates."""

    __slots__ = ("encapsulate",)

    def __init__(self, node: Node, name: str, link: Any, addresses: list[Any],
                 encapsulate: Callable[[Packet], None] | None = None) -> None:
        super().__init__(node, name, None, addresses)
        self.encapsulate = encapsulate

    def send(self, pkt: Packet, next_hop: Address) -> None:
        if self.capture is not None:
            self.capture.append((self.node.kernel.env.now, "out", pkt))
        if self.encapsulate is None:
            self.node.kernel.drop(self.node.name, pkt, f"tunnel {self.name} is down")
            return
        self.encapsulate(pkt)

    def receive_inner(self, inner: Packet) -> None:
        """A decapsulated IPv6 packet arrives on this tunnel."""
        if self.capture is not None:
            self.capture.append((self.node.kernel.env.now, "in", inner))
        self.node.receive(inner, self)
