"""Routers, and gateways whose forwarding passes through middlebox stages.

A gateway joins inside interfaces to one outside interface. Its stages (firewall, NAT,
captive portal) are small objects with two verbs, ``outbound`` and ``inbound``, each returning
the (possibly rewritten) packet or ``None`` to drop it; outbound packets cross the stages in
order, inbound ones in reverse, so a firewall placed before a NAT always sees inside addresses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sim.net.fastpath import addr_key
from sim.net.node import Interface, Node

if TYPE_CHECKING:
    from sim.net.packet import Address, Packet


class Stage(Protocol):
    """A middlebox function inside a gateway."""

    def outbound(self, pkt: Packet) -> Packet | None: ...

    def inbound(self, pkt: Packet) -> Packet | None: ...


class Router(Node):
    """Forwards by longest-prefix match; packets for its own addresses go to ``local``."""

    def receive(self, pkt: Packet, iface: Interface) -> None:
        if pkt.dkey in self.local_keys:
            self.local_delivery(pkt, iface)
        else:
            self.send(pkt)

    def local_delivery(self, pkt: Packet, iface: Interface) -> None:
        self.kernel.drop(self.name, pkt, "addressed to the router itself")


class Gateway(Router):
    """A network's edge: inside interfaces, one outside interface, and stages between them.
    Only what crosses to or from the outside passes the stages."""

    def __init__(self, kernel, name: str) -> None:
        super().__init__(kernel, name)
        self.outside: Interface | None = None
        self.stages: list[Stage] = []
        self._reversed: list[Stage] = []
        self.hairpinning = False
        self._external: set[Address] = set()
        self._external_keys: set = set()
        # subscriber lines to the gateways of networks behind this one (NAT444): traffic
        # between them and the inside is routed, not translated
        self.lines: list[Interface] = []

    def set_outside(self, iface: Interface) -> None:
        self.outside = iface
        self._external = self.external_addresses()
        self._external_keys = {addr_key(a) for a in self._external}

    def add_stage(self, stage: Stage) -> None:
        """Append a stage; a stage with an ``attach`` method is told its gateway (a NAT sets
        hairpinning, a firewall that rejects sends its RST or ICMP answer through it)."""
        self.stages.append(stage)
        attach = getattr(stage, "attach", None)
        if attach is not None:
            attach(self)
        self._reversed = list(reversed(self.stages))
        self._external = self.external_addresses()
        self._external_keys = {addr_key(a) for a in self._external}

    def external_addresses(self) -> set[Address]:
        """The addresses the world sees: the outside interface's and any NAT pool's."""
        addrs = set(self.outside.addresses) if self.outside else set()
        for stage in self.stages:
            addrs.update(getattr(stage, "external_addresses", ()))
        return addrs

    def receive(self, pkt: Packet, iface: Interface) -> None:
        if iface is self.outside:
            # _inbound, inline (half of the gateway's packets)
            for stage in self._reversed:
                pkt = stage.inbound(pkt)
                if pkt is None:
                    return
            if pkt.dkey in self.local_keys:
                self.local_delivery(pkt, iface)
            else:
                self.send(pkt)
            return
        dst = pkt.dst
        if pkt.dkey in self.local_keys \
                and dst not in self.outside.addresses:
            self.local_delivery(pkt, iface)
            return
        if self.lines:
            hop = self.routes.lookup(dst)
            if hop is not None and hop[0] is not self.outside:
                self.send(pkt)
                return
        for stage in self.stages:
            pkt = stage.outbound(pkt)
            if pkt is None:
                return
        if pkt.dkey in self._external_keys:
            # Sent by an inside host to one of our own public addresses (RFC 4787 §6).
            if not self.hairpinning:
                self.kernel.drop(self.name, pkt, "hairpinning not supported")
                return
            self._inbound(pkt)
            return
        self.send(pkt)

    def _inbound(self, pkt: Packet) -> None:
        for stage in self._reversed:
            pkt = stage.inbound(pkt)
            if pkt is None:
                return
        if pkt.dkey in self.local_keys:
            self.local_delivery(pkt, self.outside)
        else:
            self.send(pkt)
