"""Taps: what crossed the devices on a laptop's path, in the order it crossed them, for the
pictures and the per-hop trace; and the devices themselves, for the topology picture.

A :class:`Tap` sits in an interface's capture slot (the one a pcap's recorder uses, which it
keeps: a tap passes every record on) and adds ``Crossing`` records to one list shared by
every tapped interface, so the list is the order in which packets crossed the devices. The
network code is not touched: an interface with a capture already records each packet it sends
or receives, and costs nothing when no one asks. With the trace on (the NAT's ``translate``
records, every device's ``drop`` and a firewall's ``reject``), the crossings are all a reader
needs to follow one packet from device to device, both sides of each translation included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from sim.net.firewall import Firewall, SourceExempt
from sim.net.internet import Internet
from sim.net.nat import Nat
from sim.net.portal import CaptivePortal
from sim.net.portforward import PortForward
from sim.net.router import Gateway, Router

if TYPE_CHECKING:
    from sim.net.node import Interface, Node


class Crossing(NamedTuple):
    """One packet at one interface: when, which device and interface, ``in`` or ``out``."""

    t: float
    device: str
    iface: str
    direction: str
    pkt: Any


class Tap:
    """An interface's capture slot that adds what crosses it to a shared list (and passes
    each record on to the capture that was there, if any)."""

    __slots__ = ("_iface", "_out", "previous")

    def __init__(self, iface: Interface, out: list[Crossing]) -> None:
        self._iface = iface
        self._out = out
        self.previous = iface.capture

    def append(self, record: tuple) -> None:
        t, direction, pkt = record
        iface = self._iface
        self._out.append(Crossing(t, iface.node.name, iface.name, direction, pkt))
        if self.previous is not None:
            self.previous.append(record)


def tap(interfaces: list[Interface], out: list[Crossing]) -> list[Tap]:
    """Put a tap on each interface (once each), recording into ``out``."""
    taps = []
    for iface in dict.fromkeys(interfaces):
        if not isinstance(iface.capture, Tap):
            iface.capture = t = Tap(iface, out)
            taps.append(t)
    return taps


def untap(taps: list[Tap]) -> None:
    """Take the taps off, leaving each interface's capture as it was."""
    for t in taps:
        t._iface.capture = t.previous


@dataclass(frozen=True)
class Device:
    """A device a picture draws: its name, what it is (``edge``: a network's gateway with
    its stages; ``internet``; ``host``: a server or a service; ``laptop``; ``proxy``), the
    network it belongs to, its stages' kinds and names in the order outbound packets cross
    them, its addresses, and the devices it is linked to (with the link's name)."""

    name: str
    kind: str
    network: str | None = None
    stages: tuple[tuple[str, str], ...] = ()
    addresses: tuple[str, ...] = ()
    links: tuple[tuple[str, str], ...] = field(default=(), compare=False)


STAGE_KINDS = ((Firewall, "firewall"), (CaptivePortal, "portal"), (Nat, "nat"),
               (PortForward, "port-forward"))


def stage_kinds(gateway: Gateway) -> list[str]:
    """What a gateway's stages are, in the order outbound packets cross them: ``firewall``,
    ``portal``, ``nat``."""
    kinds = []
    for stage in gateway.stages:
        inner = stage.stage if isinstance(stage, SourceExempt) else stage
        kinds.append(next((kind for cls, kind in STAGE_KINDS if isinstance(inner, cls)),
                          type(inner).__name__.lower()))   # a stage of another kind
    return kinds


def stage_names(gateway: Gateway) -> list[tuple[str, str]]:
    """``(kind, name)`` of a gateway's stages: firewall, portal, nat."""
    names = [getattr(getattr(s, "stage", s), "name", type(s).__name__) for s in gateway.stages]
    return list(zip(stage_kinds(gateway), names, strict=True))


def upstream_of(gateway: Gateway) -> Node | None:
    """The node at the far end of a gateway's uplink: the Internet or a carrier's gateway."""
    link = gateway.outside.link if gateway.outside is not None else None
    ends = [] if link is None else [e.node for e in link.ends if e.node is not gateway]
    return ends[0] if ends else None


def path_gateways(sim: Any, site: str) -> list[Any]:
    """The access networks from a laptop's site outwards, each behind the one after it
    (NAT444: the home, then the carrier), up to the Internet."""
    by_gateway = {net.gateway: net for net in sim.topo.networks.values()}
    out = []
    net = sim.topo.networks.get(site)
    while net is not None and net not in out:
        out.append(net)
        net = by_gateway.get(upstream_of(net.gateway))
    return out


def _kind(node: Node, laptops: set[str], proxies: set[str]) -> str:
    if isinstance(node, Internet):
        return "internet"
    if isinstance(node, Gateway):
        return "edge"
    if isinstance(node, Router):
        return "router"
    if node.name in laptops:
        return "laptop"
    return "proxy" if node.name in proxies else "host"


def devices(sim: Any) -> list[Device]:
    """Every device of a simulation's topology and its links, breadth first from the
    Internet (so the order is the same on every build)."""
    laptops = {c.name for c in sim.clients}
    network_of: dict[Node, str] = {}
    proxies = set()
    for net in sim.topo.networks.values():
        network_of[net.gateway] = net.name
        for host in net.hosts:
            network_of[host] = net.name
        proxy = getattr(net, "proxy", None)
        if proxy is not None:
            proxies.add(proxy.host.name)
    start = sim.topo.internet
    seen: dict[Node, None] = {start: None}
    queue = [start]
    out = []
    while queue:
        node = queue.pop(0)
        links = []
        for iface in node.interfaces:
            for end in iface.link.ends if iface.link is not None else ():
                if end.node is not node:
                    links.append((end.node.name, iface.link.name))
                    if end.node not in seen:
                        seen[end.node] = None
                        queue.append(end.node)
        out.append(Device(
            node.name, _kind(node, laptops, proxies), network_of.get(node),
            tuple(stage_names(node)) if isinstance(node, Gateway) else (),
            tuple(str(a) for i in node.interfaces for a in i.addresses
                  if not a.is_link_local),
            tuple(dict.fromkeys(links))))
    return out
