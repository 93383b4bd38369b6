"""Nodes, their interfaces and longest-prefix routing."""

from __future__ import annotations

from abc import ABC, abstractmethod
from heapq import heappush
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_interface, ip_network
from typing import TYPE_CHECKING, Any

from sim.net.fastpath import HOP_PRIORITY, addr_key, schedule_hop

if TYPE_CHECKING:
    from sim.net.kernel import Kernel
    from sim.net.link import Link
    from sim.net.packet import Address, Packet

Network = IPv4Network | IPv6Network


class Interface:
    """A node's attachment to a link, with its addresses; an optional capture list records
    what crossed it (``(time, direction, packet)``) for pcap export.

    ``_wire`` is set by the link when a packet needs no decision on it (see ``sim.net.link``):
    ``send`` then schedules the hop itself (``sim.net.fastpath.schedule_hop``) instead of
    calling ``Link.transmit``."""

    __slots__ = ("_arrivals", "_hop_arrivals", "_wire", "access_delay", "addresses", "capture",
                 "link", "name", "networks", "node", "transit", "tx_free_at")

    def __init__(self, node: Node, name: str, link: Link | None, addresses: list[Any]) -> None:
        self.node = node
        self.name = name
        self.link = link
        ifaces = [ip_interface(a) for a in addresses]
        self.addresses: list[Address] = [i.ip for i in ifaces]
        self.networks: list[Network] = [i.network for i in ifaces]
        self.capture: list | None = None
        self.tx_free_at = 0.0
        self.access_delay = 0.0   # its own one-way last mile on its link (Link.set_access_delay)
        self._wire: tuple | None = None
        # the stateless router this interface belongs to, if packets sent to it may be cut
        # through it (``sim.net.cutthrough``), else None
        self.transit: Any = None
        # the callback list of every packet arriving here, and of every Hop wrapper (SimPy
        # never mutates them)
        self._arrivals = [self.deliver]
        self._hop_arrivals = [self._deliver_hop]

    def takes_wire(self) -> bool:
        """Whether its link may schedule its packets' hops without calling ``send``: not for
        an interface class with a ``send`` of its own."""
        return type(self).send is Interface.send

    def _deliver_hop(self, hop: Any) -> None:
        self.deliver(hop._value)   # a Hop wrapper carries the packet as its value

    def deliver(self, pkt: Packet) -> None:
        """Link callback: the packet arrived on this interface."""
        if self.capture is not None:
            self.capture.append((self.node.kernel.env.now, "in", pkt))
        self.node.receive(pkt, self)

    def send(self, pkt: Packet, next_hop: Address) -> None:
        if self.capture is not None:
            self.capture.append((self.node.kernel.env.now, "out", pkt))
        wire = self._wire
        if wire is None:
            self.link.transmit(pkt, self, next_hop)
            return
        # Link.transmit's fast path: no decision but the receiving end
        env, delay, end, segment, _, _ = wire
        if segment is not None:
            end = segment.get(pkt.dkey if next_hop is pkt.dst else addr_key(next_hop))
            if end is None:
                self.link.transmit(pkt, self, next_hop)   # which reports the drop
                return
            delay += end.access_delay
        if end.transit is not None and end.transit.cut(pkt, end, env.now + delay):
            return
        schedule_hop(env, delay, end, pkt)

    @property
    def address(self) -> Address:
        return self.addresses[0]

    def ipv4(self) -> Address | None:
        return next((a for a in self.addresses if a.version == 4), None)

    def __repr__(self) -> str:
        return f"<Interface {self.node.name}/{self.name} {[str(a) for a in self.addresses]}>"


class RoutingTable:
    """Longest-prefix match over (prefix, interface, gateway), cached per destination.

    ``cache`` maps a destination's ``addr_key`` (a packet's ``dkey``) to its hop,
    ``(interface, gateway, the next hop's key or None for the destination's)``: ``Node.send``
    reads it directly, and only a miss calls ``lookup``."""

    __slots__ = ("_routes", "cache", "on_change")

    def __init__(self) -> None:
        self._routes: list[tuple[Network, Interface, Address | None]] = []
        self.cache: dict[int, tuple[Interface, Address | None, int | None] | None] = {}
        self.on_change: Any = None   # called after every change (sim.net.cutthrough)

    def _changed(self) -> None:
        self.cache.clear()
        if self.on_change is not None:
            self.on_change()

    def add(self, prefix: Any, iface: Interface, via: Any = None) -> None:
        net = prefix if isinstance(prefix, IPv4Network | IPv6Network) else ip_network(
            prefix, strict=False)
        gw = ip_address(via) if isinstance(via, str) else via
        self._routes.append((net, iface, gw))
        self._routes.sort(key=lambda r: r[0].prefixlen, reverse=True)
        self._changed()

    def remove(self, prefix: Any) -> None:
        net = prefix if isinstance(prefix, IPv4Network | IPv6Network) else ip_network(
            prefix, strict=False)
        self._routes = [r for r in self._routes if r[0] != net]
        self._changed()

    def remove_interface(self, iface: Interface) -> None:
        self._routes = [r for r in self._routes if r[1] is not iface]
        self._changed()

    def lookup(self, dst: Address) -> tuple[Interface, Address | None, int | None] | None:
        """``(interface, gateway, the gateway's addr_key)`` for ``dst``, or None."""
        key = addr_key(dst)
        try:
            return self.cache[key]
        except KeyError:
            pass
        found = None
        version = dst.version
        for net, iface, gw in self._routes:
            if net.version == version and dst in net:
                found = (iface, gw, None if gw is None else addr_key(gw))
                break
        self.cache[key] = found
        return found

    def __iter__(self):
        return iter(self._routes)


class Node(ABC):
    """Anything with interfaces that sends and receives packets."""

    def __init__(self, kernel: Kernel, name: str) -> None:
        self.kernel = kernel
        self.name = name
        self.interfaces: list[Interface] = []
        self.local: set[Address] = set()
        self.local_keys: set = set()   # addr_key() of each local address, for the hot path
        self.routes = RoutingTable()

    def add_interface(self, link: Link | None, *addresses: Any, name: str | None = None,
                      iface_class: type[Interface] = Interface, **kwargs: Any) -> Interface:
        """Attach to ``link`` with ``addresses`` (``"192.168.1.10/24"``); adds the connected
        routes."""
        iface = iface_class(self, name or f"if{len(self.interfaces)}", link, list(addresses),
                            **kwargs)
        self.interfaces.append(iface)
        self.local.update(iface.addresses)
        self.local_keys.update(addr_key(a) for a in iface.addresses)
        for net in iface.networks:
            if net.prefixlen < net.max_prefixlen:
                self.routes.add(net, iface)
        if link is not None:
            link.attach(iface)
        return iface

    def add_address(self, iface: Interface, address: Any) -> Address:
        """Give an interface one more address (a tunnel's address, a lease)."""
        ifc = ip_interface(address)
        iface.addresses.append(ifc.ip)
        iface.networks.append(ifc.network)
        self.local.add(ifc.ip)
        self.local_keys.add(addr_key(ifc.ip))
        if iface.link is not None:
            iface.link.learn(iface, ifc.ip)
        return ifc.ip

    def remove_address(self, iface: Interface, address: Address) -> None:
        if address in iface.addresses:
            i = iface.addresses.index(address)
            del iface.addresses[i]
            del iface.networks[i]
        self.local.discard(address)
        self.local_keys.discard(addr_key(address))

    def add_route(self, prefix: Any, iface: Interface | None = None, via: Any = None) -> None:
        """A static route; with only ``via``, the interface is the one that reaches it."""
        if iface is None:
            hop = self.routes.lookup(ip_address(via))
            if hop is None:
                raise ValueError(f"{self.name}: gateway {via} is not on a connected network")
            iface = hop[0]
        self.routes.add(prefix, iface, via)

    def send(self, pkt: Packet) -> bool:
        """Route and transmit; a packet with no route is dropped.

        Hot path: the routing cache is read first, and when the interface has a wire (a
        plain ``Interface`` on a cable with nothing to decide per packet) and no capture,
        the hop is scheduled here, which is what ``Interface.send`` would do."""
        try:
            hop = self.routes.cache[pkt.dkey]
        except KeyError:
            hop = self.routes.lookup(pkt.dst)
        if hop is None:
            self.kernel.drop(self.name, pkt, self.no_route_reason(pkt.dst))
            return False
        iface, gw, gw_key = hop
        wire = iface._wire
        if wire is None or iface.capture is not None:
            iface.send(pkt, gw if gw is not None else pkt.dst)
            return True
        env, delay, end, segment, queue, ids = wire
        if segment is not None:   # a LAN: the end that owns the next hop
            end = segment.get(gw_key if gw is not None else pkt.dkey)
            if end is None:
                iface.link.transmit(pkt, iface, gw if gw is not None else pkt.dst)
                return True       # (transmit reports the drop)
            delay += end.access_delay
        if end.transit is not None and end.transit.cut(pkt, end, env.now + delay):
            return True             # past the Internet in one event (sim.net.cutthrough)
        if pkt.callbacks is None:   # schedule_hop's common case, with the wire's hop queue
            pkt.callbacks = end._arrivals
            heappush(queue, (env.now + delay, HOP_PRIORITY, next(ids), pkt))
        else:                       # the same packet already in flight: rare
            schedule_hop(env, delay, end, pkt)
        return True

    def no_route_reason(self, dst: Address) -> str:
        """Why ``send`` dropped a packet for ``dst`` (the Internet explains more)."""
        return f"no route to {dst}"

    @abstractmethod
    def receive(self, pkt: Packet, iface: Interface) -> None:
        """What a packet arriving on ``iface`` means: each kind of node decides."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
