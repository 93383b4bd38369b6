"""Capture points: where a pcap is taken, named as the command line names them
(``client:NAME``, ``nat:NETWORK``, ``nat:home#2:inside``, ``firewall:hotel:outside``,
``proxy:hotel``, ``server``), and the recorder that sits on the interface there.

A network's edge is one gateway whose stages (firewall, captive portal, NAT) sit between its
inside interface (the LAN: addresses before translation) and its outside interface (the
uplink: after it). ``nat:``, ``firewall:`` and ``edge:`` all name that gateway, ``:outside``
(the default) or ``:inside`` one side of it; ``nat:`` and ``firewall:`` also check that the
network has one. ``proxy:NETWORK`` is the explicit proxy's NIC, which carries both its legs
(the clients' connections to it, and its own to the servers).

The one parser of a point's text lives here; ``sim.scenario.view`` attaches the recorder.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.errors import InputError
from sim.net import packet as p
from sim.net.router import Router

if TYPE_CHECKING:
    from sim.net.node import Interface, Node

POINT_HELP = ("expected client:NAME, nat:NETWORK[:inside|outside], "
              "firewall:NETWORK[:inside|outside], edge:NETWORK[:inside|outside], "
              "proxy:NETWORK or server")
EDGE_KINDS = ("nat", "firewall", "edge")   # the network's edge gateway, by what it holds
SIDES = ("inside", "outside")


@dataclass(frozen=True)
class Point:
    """A parsed capture point: ``kind`` (client, nat, firewall, edge, proxy or server), the
    client's or network's ``name`` as given (a site of a later shard keeps its ``shard3/``
    prefix) and, at an edge, its ``side``."""

    kind: str
    name: str
    side: str = "outside"

    @classmethod
    def parse(cls, point: str) -> Point:
        kind, _, name = point.partition(":")
        if kind not in ("client", *EDGE_KINDS, "proxy", "server"):
            raise InputError(f"--point {point!r}: {POINT_HELP}")
        if kind in ("client", *EDGE_KINDS, "proxy") and not name:
            raise InputError(f"--point {point!r}: name the "
                             f"{'client' if kind == 'client' else 'network'} ({POINT_HELP})")
        side = "outside"
        if kind in EDGE_KINDS:
            head, _, tail = name.rpartition(":")
            if head:
                if tail not in SIDES:
                    raise InputError(f"--point {point!r}: the side is inside or outside, "
                                     f"not {tail!r}")
                name, side = head, tail
        return cls(kind, name, side)


def point_client(point: str | None) -> str | None:
    """The laptop a ``client:NAME`` point names (its shard is the one to build)."""
    return point.partition(":")[2] if point and point.startswith("client:") else None


def point_shard(point: str | None) -> int | None:
    """The shard a site of a later shard lives in, as results name it: nat:shard3/home#2."""
    found = re.match(r"(?:nat|firewall|edge|proxy):shard(\d+)/", point or "")
    return int(found.group(1)) if found else None


class Capture(list):
    """The ``(time, direction, packet)`` records of one capture point, and beside them
    (``hops``, same order) how many routers each packet crossed between its sender and the
    point, for the pcap's IPv4 TTL / IPv6 hop limit.

    The simulator's routers forward without decrementing ``Packet.ttl``; the count is taken
    from the topology as it is when the packet is captured: the sender is the node that owns
    the packet's source address (looked up again when an address is new), the routers
    are the nodes on the shortest path of links between it and the capture point (the
    Internet core counts as one router, as in the reference capture). A source address that
    a gateway owns is a translated packet (NAT): its sender is a host behind that gateway
    (one hop further; behind a chain of NATs, only the last one is seen). Only a gateway's own
    ICMP errors count as sent by the gateway. An address no node owns counts 0 routers."""

    __slots__ = ("_dist", "_iface", "_link", "_missing", "_owner", "hops")

    def __init__(self, iface: Interface) -> None:
        super().__init__()
        self.hops: list[int] = []
        self._iface = iface
        self._link: Any = None
        self._dist: dict[Node, int] = {}
        self._owner: dict[int, Node] = {}
        self._missing: set[int] = set()

    def append(self, record: tuple) -> None:
        super().append(record)
        self.hops.append(self._routers_crossed(record[1], record[2]))

    def _survey(self) -> None:
        """Links away from the capture point to every node (breadth first, passing through
        routers only), and the owner of every address (the nearest, for private addresses
        that several sites reuse)."""
        start = self._iface.node
        self._link = self._iface.link
        dist = {start: 0}
        owner: dict[int, Node] = {}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for iface in node.interfaces:
                for addr in iface.addresses:
                    owner.setdefault(p.addr_key(addr), node)
            if node is not start and not isinstance(node, Router):
                continue   # hosts do not forward
            for iface in node.interfaces:
                for end in iface.link.ends if iface.link is not None else ():
                    nxt = end.node
                    if nxt not in dist:
                        dist[nxt] = dist[node] + 1
                        queue.append(nxt)
        self._dist, self._owner = dist, owner

    def _routers_crossed(self, direction: str, pkt: p.Packet) -> int:
        key = p.addr_key(pkt.src)
        if self._iface.link is not self._link:
            self._survey()   # first packet, or the interface is on another link now
        sender = self._owner.get(key)
        if sender is None and key not in self._missing:
            self._survey()   # an address taken since (a lease); once per address
            sender = self._owner.get(key)
            if sender is None:
                self._missing.add(key)
        if sender is None or sender not in self._dist:
            return 0
        links = self._dist[sender]
        if isinstance(sender, Router) and not isinstance(pkt.payload, p.IcmpError):
            links += 1   # translated: from a host behind the gateway
        # the routers strictly between the sender and the point; one more when the point's
        # node forwarded what it sends
        return max(links - 1, 0) + (1 if direction == "out" and links > 0 else 0)
