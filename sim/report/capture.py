"""Capture points (where a pcap is taken) and a readable one-line summary of a packet, used
by the sequence diagram."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.errors import InputError
from sim.net import packet as p

if TYPE_CHECKING:
    from sim.scenario.build import Simulation


def attach_capture(sim: Simulation, point: str | None) -> list:
    """Start recording at ``point``: ``client:NAME`` (the laptop's NIC, the default is the
    first client), ``nat:NETWORK`` (the network edge's outside), or ``server``."""
    records: list = []
    if point is None:
        point = f"client:{sim.clients[0].name}"
    kind, _, name = point.partition(":")
    if kind == "client":
        iface = sim.client(name).host.interfaces[0]
    elif kind == "nat":   # a network (its first site) or one site: nat:home#2
        site = sim.topo.networks.get(name)
        if site is None:
            raise InputError(f"--point nat:{name}: no network {name!r}; networks: "
                             + ", ".join(sim.networks))
        iface = site.gateway.outside
    elif kind == "server":
        iface = sim.server_host.interfaces[0]
    else:
        raise InputError(f"--point {point!r}: expected client:NAME, nat:NETWORK or server")
    iface.capture = records
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
