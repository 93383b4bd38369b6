"""One probe sent by a laptop at a given time, recorded device by device (``dasim trace``).

At the probe's time every interface of the topology gets a tap (``sim.scenario.taps``) and
the trace is switched on; the laptop sends a real packet — an ICMP echo request, a TCP SYN
or a UDP datagram — from its own address, routed as any of its packets is; every device
handles it as it handles all traffic (the firewall filters it, the NAT translates it, the
server answers it). After ``wait`` seconds the taps come off and the trace goes back as it
was, so a probe costs the run a few seconds of recording. The probe's fixed source port
(33434, traceroute's) and ICMP identifier draw nothing from the run's random streams.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_address
from typing import Any

from sim.errors import InputError
from sim.net import packet as p
from sim.net.host import EchoMessage
from sim.scenario.taps import Crossing, tap, untap

PROBE_PORT = 33434      # traceroute's first port: no port of a real service
PROBE_IDENT = 0x7ACE    # the probe's ICMP echo identifier
PROBE_HELP = "icmp, tcp/PORT or udp/PORT"


@dataclass(frozen=True)
class ProbeKind:
    """What the probe is: ``icmp`` (an echo request), ``tcp`` (a SYN) or ``udp``, and the
    destination port."""

    proto: str
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> ProbeKind:
        if text == "icmp":
            return cls("icmp")
        found = re.fullmatch(r"(tcp|udp)/(\d{1,5})", text)
        if not found or not 0 < int(found.group(2)) < 65536:
            raise InputError(f"--probe {text}: expected {PROBE_HELP} (tcp/443, udp/3544)")
        return cls(found.group(1), int(found.group(2)))

    def __str__(self) -> str:
        return self.proto if self.port is None else f"{self.proto}/{self.port}"

    def packet(self, src: Any, dst: Any) -> p.Packet:
        header = p.IPV4_HEADER if dst.version == 4 else p.IPV6_HEADER
        if self.proto == "icmp":
            proto = p.ICMP if dst.version == 4 else p.ICMPV6
            return p.Packet(src, dst, proto, size=header + 8 + 32,
                            payload=EchoMessage("echo-request", PROBE_IDENT, 1))
        if self.proto == "tcp":   # a SYN with the options Windows sends (MSS, SACK, WS)
            return p.Packet(src, dst, p.TCP, PROBE_PORT, self.port, header + p.TCP_HEADER + 12,
                            flags=p.SYN, seq=PROBE_IDENT << 16)
        return p.udp(src, PROBE_PORT, dst, self.port, payload_size=32)


@dataclass
class ProbeRecording:
    """What a probe saw: the packet sent, and every crossing and trace record of the
    window it was recorded in (filled in as the run goes)."""

    kind: ProbeKind
    at: float
    destination: Any
    sent: p.Packet | None = None
    crossings: list[Crossing] = field(default_factory=list)
    error: str | None = None
    _window: tuple[list, int] | list = field(default_factory=list, repr=False)

    @property
    def trace(self) -> list:
        """The trace records of the window (those so far, if the run ended inside it)."""
        if isinstance(self._window, tuple):
            records, first = self._window
            return records[first:]
        return self._window


def all_interfaces(sim: Any) -> list:
    """Every interface of every node reachable from the Internet."""
    start = sim.topo.internet
    seen = {start: None}
    queue = [start]
    out = []
    while queue:
        node = queue.pop(0)
        for iface in node.interfaces:
            out.append(iface)
            for end in iface.link.ends if iface.link is not None else ():
                if end.node not in seen:
                    seen[end.node] = None
                    queue.append(end.node)
    return out


def resolve(sim: Any, client: Any, to: str) -> Any:
    """``to`` as an address: an address, a device's name, or a DNS name as the laptop's
    network's DNS server has it (the corporate one inside)."""
    try:
        return ip_address(to)
    except ValueError:
        pass
    corporate = sim.is_corporate(client.network)
    zones = [sim.inside_records, sim.public_records] if corporate else [sim.public_records]
    for zone in zones:
        found = zone.get(to.lower().rstrip("."))
        if found:
            return ip_address(found[0]) if isinstance(found[0], str) else found[0]
    for iface in all_interfaces(sim):
        if iface.node.name == to and iface.addresses:
            v4 = [a for a in iface.addresses if isinstance(a, IPv4Address)]
            return (v4 or iface.addresses)[0]
    raise InputError(f"--to {to}: not an address, a device of this topology or a name its "
                     "DNS has")


def schedule(sim: Any, client_name: str, at: float, to: str, kind: ProbeKind,
             wait: float) -> ProbeRecording:
    """Arrange for ``client_name`` to send the probe at ``at`` and for the devices to be
    recorded until ``at + wait``."""
    client = sim.client(client_name)
    rec = ProbeRecording(kind, at, resolve(sim, client, to))
    kernel = sim.kernel
    env = kernel.env

    def probe():
        yield env.timeout(at)
        host = client.host
        try:
            src = host.source_for(rec.destination)
        except LookupError:
            rec.error = f"{client_name} has no route to {rec.destination} at {at:g} s"
            return
        was_on, first = kernel.trace.on, len(kernel.trace.records)
        kernel.trace.on = True
        rec._window = (kernel.trace.records, first)
        taps = tap(all_interfaces(sim), rec.crossings)
        rec.sent = kind.packet(src, rec.destination)
        host.send(rec.sent)
        yield env.timeout(wait)
        untap(taps)
        rec._window = kernel.trace.records[first:]
        kernel.trace.on = was_on
        if not was_on:
            del kernel.trace.records[first:]

    env.process(probe())
    return rec
