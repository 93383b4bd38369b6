"""6to4 (RFC 3056): IPv6 in IPv4 protocol 41 between hosts that hold public IPv4 addresses.

A 6to4 host with public address W.X.Y.Z owns 2002:WWXX:YYZZ::/48 (RFC 3056 §2). Packets to
another 6to4 address go straight to the IPv4 address embedded in it; everything else goes to
a relay (for DirectAccess, the DA server's public IPv4 address, F1.29). Replies therefore
travel to the embedded address: behind a NAT or CGN they never arrive, and nothing reports
the failure (F4.11) — the client notices only when its own probe times out.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network

from sim.net.packet import IPV6_IN_IPV4, Packet, encapsulate_6in4
from sim.transition.tunnel import TunnelInterface

SIXTOFOUR_PREFIX = IPv6Network("2002::/16")


def sixtofour_prefix(ipv4: IPv4Address) -> IPv6Network:
    """2002:WWXX:YYZZ::/48 for the IPv4 address W.X.Y.Z (RFC 3056 §2)."""
    return IPv6Network(((0x2002 << 112) | (int(ipv4) << 80), 48))


def sixtofour_address(ipv4: IPv4Address) -> IPv6Address:
    """The host's 6to4 address as Windows forms it: 2002:WWXX:YYZZ::WWXX:YYZZ."""
    return IPv6Address(int(sixtofour_prefix(ipv4).network_address) | int(ipv4))


def embedded_ipv4(addr: IPv6Address) -> IPv4Address | None:
    """The IPv4 address inside a 6to4 address, or None if ``addr`` is not 6to4."""
    if addr not in SIXTOFOUR_PREFIX:
        return None
    return IPv4Address((int(addr) >> 80) & 0xFFFFFFFF)


class SixToFourTunnel:
    """A node's 6to4 pseudo-interface: encapsulates outgoing IPv6 in protocol 41 and accepts
    protocol-41 packets for its own 6to4 addresses."""

    def __init__(self, node, ipv4: IPv4Address, relay: IPv4Address | None,
                 name: str = "6to4") -> None:
        self.node = node
        self.ipv4 = ipv4
        self.relay = relay
        self.prefix = sixtofour_prefix(ipv4)
        self.address = sixtofour_address(ipv4)
        self.interface: TunnelInterface = node.add_interface(
            None, f"{self.address}/48", name=name, iface_class=TunnelInterface,
            encapsulate=self._encapsulate)
        self.received = 0
        node.handlers[IPV6_IN_IPV4] = self._decapsulate

    def _encapsulate(self, inner: Packet) -> None:
        dst4 = embedded_ipv4(inner.dst) or self.relay
        if dst4 is None:
            self.node.kernel.drop(self.node.name, inner, "6to4: no relay configured")
            return
        self.node.send(encapsulate_6in4(self.ipv4, dst4, inner))

    def _decapsulate(self, pkt: Packet, iface) -> None:
        inner = pkt.inner
        if inner is None:
            self.node.kernel.drop(self.node.name, pkt, "protocol 41 without an IPv6 packet")
            return
        self.received += 1
        self.interface.receive_inner(inner)

    def close(self) -> None:
        self.node.routes.remove_interface(self.interface)
        self.node.handlers.pop(IPV6_IN_IPV4, None)
        for addr in list(self.interface.addresses):
            self.node.remove_address(self.interface, addr)
