"""Building blocks for topologies: the Internet with public hosts, and access networks
(a LAN behind a gateway) that chain to the Internet or to another network's inside (NAT444).

Address plans are explicit: every network gets its inside prefix and the address of its
gateway's outside interface from the caller (the scenario layer derives them).
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

from pydantic import Field

from sim.config import Duration, DurationRange, Strict
from sim.net.host import Host
from sim.net.internet import Internet
from sim.net.kernel import Kernel
from sim.net.link import Link
from sim.net.node import Interface
from sim.net.router import Gateway


class PrefixFull(ValueError):
    """A network's prefix has no free address left for another host."""

    def __init__(self, network: str, prefix: Any, room: int) -> None:
        super().__init__(f"network {network}: prefix {prefix} is full ({room} hosts)")
        self.network, self.prefix, self.room = network, prefix, room


class AccessNetwork:
    """A LAN segment with hosts, behind one gateway whose stages (firewall, NAT, portal)
    shape what crosses the edge."""

    def __init__(self, topo: Topology, name: str, prefix: Any, gateway: Gateway,
                 lan: Link, prefix6: IPv6Network | None = None) -> None:
        self.topo = topo
        self.name = name
        self.prefix: IPv4Network = ip_network(prefix)
        self.prefix6 = prefix6
        self.gateway = gateway
        self.lan = lan
        self.gateway_address = next(iter(gateway.interfaces[0].addresses))
        self.gateway_address6 = next((a for a in gateway.interfaces[0].addresses
                                      if a.version == 6), None)
        self._next_host = 10
        self.hosts: list[Host] = []

    def next_address(self) -> Any:
        addr = self.prefix.network_address + self._next_host
        self._next_host += 1
        if addr not in self.prefix or addr == self.prefix.broadcast_address:
            raise PrefixFull(self.name, self.prefix, self._next_host - 11)
        return addr

    def add_host(self, name: str, host: Host | None = None, access_delay: float = 0.0) -> Host:
        """Attach a host (new or given) with the next free address and a default route;
        ``access_delay``: its own one-way last mile to the gateway (a carrier subscriber's)."""
        host = host or Host(self.topo.kernel, name)
        addr = self.next_address()
        addrs = [f"{addr}/{self.prefix.prefixlen}"]
        if self.prefix6 is not None:
            addrs.append(f"{self.prefix6.network_address + int(addr) % 65536 + 256}/64")
        iface = host.add_interface(self.lan, *addrs, name=f"{self.name}0")
        if access_delay:
            self.lan.set_access_delay(iface, access_delay)
        host.add_route("0.0.0.0/0", via=self.gateway_address)
        if self.prefix6 is not None:
            host.add_route("::/0", via=self.gateway_address6)
        self.hosts.append(host)
        return host

    def address_of(self, host: Host) -> Any:
        """The host's address on this network's LAN (it may have tunnel interfaces too)."""
        return next(i for i in host.interfaces if i.link is self.lan).address

    def inside_interface(self) -> Interface:
        return self.gateway.interfaces[0]


UPLINK_LATENCY = 0.010   # one way, a network's gateway to the Internet unless set


class UplinkConfig(Strict):
    """A network's ``link:``, its uplink to the Internet (or to its upstream network): one-way
    latency (a duration, or ``[low, high]`` from which each site draws its own), jitter,
    loss and bandwidth in bits per second (None: unlimited); ``reorder``: jitter may reorder
    the packets of one flow (by default each flow keeps its order, ``sim.net.link``)."""

    latency: DurationRange = UPLINK_LATENCY
    jitter: Duration = 0.0
    loss: float = Field(default=0.0, ge=0.0, le=1.0)
    bandwidth: float | None = Field(default=None, gt=0)
    reorder: bool = False

    def options(self) -> dict[str, Any]:
        """What the uplink's :class:`Link` takes besides its latency."""
        extra = {} if self.bandwidth is None else {"bandwidth": self.bandwidth}
        return {"jitter": self.jitter, "loss": self.loss, "reorder": self.reorder, **extra}


class Topology:
    """The Internet, public hosts on it, and access networks."""

    def __init__(self, kernel: Kernel, core_latency: float = 0.010) -> None:
        self.kernel = kernel
        self.internet = Internet(kernel)
        self.core_latency = core_latency
        self.networks: dict[str, AccessNetwork] = {}
        self._link_no = 0

    def _access_link(self, name: str, latency: float, **kw: Any) -> Link:
        self._link_no += 1
        return Link(self.kernel, f"{name}-uplink", latency=latency, **kw)

    def add_public_host(self, name: str, addresses: list[Any], latency: float | None = None,
                        host: Host | None = None) -> Host:
        """A host with public addresses joined to the Internet by its own access link."""
        host = host or Host(self.kernel, name)
        link = self._access_link(name, self.core_latency if latency is None else latency)
        host_addrs = [f"{a}/32" if ip_address(a).version == 4 else f"{a}/128"
                      for a in addresses]
        iface = host.add_interface(link, *host_addrs, name="wan")
        inet_iface = self.internet.add_interface(link, name=f"to-{name}")
        self.internet.connect(inet_iface, [ip_network(a) for a in host_addrs])
        host.routes.add("0.0.0.0/0", iface)
        host.routes.add("::/0", iface)
        return host

    def add_network(self, name: str, prefix: Any, outside: list[Any],
                    upstream: str | None = None, latency: float = UPLINK_LATENCY,
                    lan_latency: float = 0.001, prefix6: Any = None,
                    link_options: dict | None = None, routed: bool = False) -> AccessNetwork:
        """A LAN behind a gateway whose outside addresses ``outside`` are public (upstream
        None: joined to the Internet) or inside ``upstream`` network's prefix (a NAT chain).
        ``routed``: the inside prefix is announced upstream (public addressing, no NAT)."""
        kernel = self.kernel
        prefix = ip_network(prefix)
        p6 = ip_network(prefix6) if prefix6 is not None else None
        gw = Gateway(kernel, f"{name}-gw")
        lan = Link(kernel, f"{name}-lan", latency=lan_latency)
        inside = [f"{prefix.network_address + 1}/{prefix.prefixlen}"]
        if p6 is not None:
            inside.append(f"{p6.network_address + 1}/64")
        gw.add_interface(lan, *inside, name="inside")
        uplink = self._access_link(name, latency, **(link_options or {}))
        out = gw.add_interface(uplink, *[f"{a}/32" for a in outside], name="outside")
        gw.set_outside(out)
        gw.routes.add("0.0.0.0/0", out)
        gw.routes.add("::/0", out)
        # The far end of the uplink: the Internet, or the upstream network's gateway (a
        # carrier's NAT) for a subscriber line; it routes the outside addresses down the line.
        far_node = self.internet if upstream is None else self.networks[upstream].gateway
        far = far_node.add_interface(uplink, name=f"to-{name}")
        if upstream is not None:
            far_node.lines.append(far)
            up_lan = self.networks[upstream].lan
            for a in outside:   # proxy ARP: the upstream LAN reaches them through its gateway
                up_lan.learn(self.networks[upstream].inside_interface(), ip_address(a))
        announced = [ip_network(f"{a}/32") for a in outside]
        if routed:
            announced.append(prefix)
        if p6 is not None:
            announced.append(p6)
        for net in announced:
            far_node.routes.add(net, far)
        net = self.networks[name] = AccessNetwork(self, name, prefix, gw, lan, p6)
        return net
