"""Capture points (where a pcap is taken) and a readable one-line summary of a packet, used
by the sequence diagram."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from sim.errors import InputError
from sim.net import packet as p
from sim.net.router import Router

if TYPE_CHECKING:
    from sim.net.node import Interface, Node
    from sim.scenario.build import Simulation


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


def attach_capture(sim: Simulation, point: str | None) -> list:
    """Start recording at ``point``: ``client:NAME`` (the laptop's NIC, the default is the
    first client), ``nat:NETWORK`` (the network edge's outside), or ``server``."""
    if point is None:
        point = f"client:{sim.clients[0].name}"
    kind, _, name = point.partition(":")
    if kind == "client":
        iface = sim.client(name).host.interfaces[0]
    elif kind == "nat":   # a network (its first site) or one site: nat:home#2, shard3/home#2
        name = name.removeprefix(f"shard{sim.shard}/")
        site = sim.topo.networks.get(name)
        if site is None:
            raise InputError(f"--point nat:{name}: no network {name!r}; networks: "
                             + ", ".join(sim.networks))
        iface = site.gateway.outside
    elif kind == "server":
        iface = sim.server_host.interfaces[0]
    else:
        raise InputError(f"--point {point!r}: expected client:NAME, nat:NETWORK or server")
    records = iface.capture = Capture(iface)
    return records


def summary(pkt: p.Packet) -> str:
    """``Teredo RS``, ``TLS Certificate``, ``TCP SYN`` … for diagrams."""
    inner = pkt.inner
    payload = pkt.payload
    if pkt.proto == p.IPV6_IN_IPV4 and inner is not None:
        return "6to4 " + summary(inner)
    if pkt.proto == p.UDP:
        if inner is not None and (pkt.sport == 3544 or pkt.dport == 3544):
            return "Teredo " + summary(inner)
        if hasattr(payload, "qname"):
            return f"DNS {'answer' if payload.response else 'query'} {payload.qname}"
        return f"UDP {pkt.dport}"
    if pkt.proto == p.TCP:
        if payload is None:
            return "TCP " + p.tcp_flags_text(pkt.flags)
        name = getattr(payload, "name", None)
        if name:
            return f"TLS {name}"
        if hasattr(payload, "method"):
            return f"HTTP {payload.method} {payload.target[:32]}"
        if hasattr(payload, "status"):
            return f"HTTP {payload.status}"
        if isinstance(payload, p.Packet):
            return "IP-HTTPS " + summary(payload)
        return "TCP data"
    kind = getattr(payload, "kind", None)
    if kind:
        return {"router-solicitation": "RS", "router-advertisement": "RA",
                "echo-request": "echo request", "echo-reply": "echo reply"}.get(kind, kind)
    return p.PROTO_NAMES.get(pkt.proto, str(pkt.proto))


def names_by_address(sim: Simulation, site: str | None = None) -> dict[Any, str]:
    """Every address in the topology → the name of the device that owns it. The sites of a
    network share its private prefix (every hotel's gateway is 10.3.0.1): the devices of
    ``site``, the one the reader looks from, name them first."""
    out: dict[Any, str] = {}
    hosts = [sim.server_host, sim.public_dns_host, sim.public_web_host, sim.corp_dns_host,
             sim.nls_host, sim.dc_host, sim.corp_web_host]
    networks = sorted(sim.topo.networks.values(), key=lambda net: net.name != site)
    for net in networks:   # every site of every network, the reader's own first
        hosts.append(net.gateway)
        hosts.extend(net.hosts)
    for node in hosts:
        for iface in node.interfaces:
            for addr in iface.addresses:
                out.setdefault(addr, node.name)
    return out


SEQUENCE_LIMIT = 60   # hops a sequence diagram draws; more would not be read


def sequence_hops(sim: Simulation, client_name: str, records: list,
                  limit: int = SEQUENCE_LIMIT) -> tuple[list[tuple], int]:
    """The first ``limit`` packets a laptop's NIC saw, as sequence-diagram hops ``(time, from,
    to, label, dropped_by)``, and how many there were. ``dropped_by`` names the device that
    dropped a packet the laptop sent (from the trace, which must be on): the packet itself,
    or a translated copy that carries its payload, counted against the latest sending of
    that payload before the drop (a retransmission carries the same one). ``dasim explain``
    tells why."""
    client = sim.client(client_name)
    names = names_by_address(sim, client.site)
    sent: dict[int, int] = {}                  # id(packet) -> its record's index
    by_payload: dict[int, list[int]] = {}      # id(payload) -> the records that carried it
    for i, (_t, direction, pkt) in enumerate(records):
        if direction == "out":
            sent[id(pkt)] = i
            if pkt.payload is not None:
                by_payload.setdefault(id(pkt.payload), []).append(i)
    dropped: dict[int, str] = {}
    for rec in sim.kernel.trace.records:
        if rec.kind != "drop":
            continue
        pkt = rec.fields["pkt"]
        i = sent.get(id(pkt))
        if i is None and pkt.payload is not None:
            earlier = [j for j in by_payload.get(id(pkt.payload), ()) if records[j][0] <= rec.t]
            i = earlier[-1] if earlier else None
        if i is not None:
            dropped.setdefault(i, rec.node)
    hops = []
    for i, (t, direction, pkt) in enumerate(records[:limit]):
        if direction == "out":
            hops.append((t, client.name, names.get(pkt.dst, str(pkt.dst)), summary(pkt),
                         dropped.get(i)))
        else:
            hops.append((t, names.get(pkt.src, str(pkt.src)), client.name, summary(pkt), None))
    return hops, len(records)
