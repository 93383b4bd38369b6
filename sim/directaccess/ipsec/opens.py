"""What the user opens once DirectAccess is connected: a web address or a file share, by name
or by address (``clients[].opens``), and whether it answers.

A name is resolved as Windows would, so the NRPT sends an intranet name to the server's DNS64,
whose AAAA answer (real, or synthesised from an A record in the NAT64 prefix) is reached
through the tunnel (C1, C2). An IPv4 address is not: DirectAccess carries IPv6 only, so the
laptop's IPv4 routing table sends it to the local network's gateway, where an intranet address
means nothing, and the connection times out (C3). Either way the verdict comes from the
packets: a SYN-ACK through ESP, or the TCP stack's own connect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

from sim.directaccess import services
from sim.directaccess.dns64 import embedded
from sim.net.dns import resolve
from sim.net.errors import NAMES, WSAECONNREFUSED, WSAETIMEDOUT, WSANO_DATA, SocketError
from sim.net.packet import ACK, IPV6_HEADER, RST, SYN, TCP, TCP_HEADER, Packet

UNC = re.compile(r"^\\\\([^\\/]+)(?:[\\/].*)?$")
PORTS = {"http": 80, "https": 443, "smb": 445}
OPEN_TIMEOUT = 21.0   # Windows' TCP connect: the SYN and its two retransmissions (3 + 6 + 12 s)


def target(text: str) -> tuple[str, int]:
    """The host and TCP port of a URL (``http://app2.corp.contoso.com/``) or a UNC path
    (``\\\\10.0.0.4\\data``: SMB, 445). Raises ValueError for anything else."""
    unc = UNC.match(text.strip())
    if unc:
        return unc.group(1).strip("[]"), PORTS["smb"]
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r}: expected a URL (http://app2.corp.contoso.com/) or a UNC "
                         "path (\\\\app2.corp.contoso.com\\share)")
    return parts.hostname, parts.port or PORTS[parts.scheme]


@dataclass
class Opened:
    """One thing the user opened: when, at which address, and what came of it."""

    target: str
    at: float
    ok: bool
    address: str | None = None
    error: str | None = None
    why: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "t": round(self.at, 3), "ok": self.ok,
                "address": self.address, "error": self.error, "why": self.why}


def _literal(host: str) -> Any:
    try:
        return ip_address(host)
    except ValueError:
        return None


class OpenMethods:
    """A part of :class:`~sim.directaccess.ipsec.session.IpsecSession`."""

    opens: tuple[str, ...] = ()
    opened: tuple[Opened, ...] = ()
    _opening = False

    def open_all(self):
        """A generator: open each of the user's targets once, in order."""
        self._opening, self.opened = True, ()
        for text in self.opens:
            self.opened = (*self.opened, (yield from self._open(text)))

    def _open(self, text: str):
        host, port = target(text)
        start = self.env.now
        address = literal = _literal(host)
        if address is None and "." not in host and self.deployment.suffix:
            host = f"{host}.{self.deployment.suffix}"   # a single label gets the suffix (B2)
        if address is None:
            try:
                address = (yield from resolve(self.host, host, "AAAA"))[0]
            except SocketError as exc:
                if exc.code != WSANO_DATA:
                    return Opened(text, start, False, None, exc.hex, exc.detail)
                try:   # no IPv6 address: what the application gets is the A record
                    address = (yield from resolve(self.host, host, "A"))[0]
                except SocketError as again:
                    return Opened(text, start, False, None, again.hex, again.detail)
        if any(address in net for net in self.deployment.prefixes if
               net.version == address.version):
            return (yield from self._through_tunnel(text, start, address, port))
        return (yield from self._direct(text, start, address, port,
                                        None if literal is not None else host))

    def _through_tunnel(self, text: str, start: float, address: Any, port: int):
        """A SYN inside ESP through the tunnel that reaches the intranet."""
        tunnel = "infrastructure" if self.deployment.single_tunnel else "intranet"
        waiter = self.env.event()
        self.teredo_echo(address, tunnel, waiter.succeed)   # over Teredo, an echo first (C4)
        if not (yield waiter):
            return Opened(text, start, False, str(address), f"0x{WSAETIMEDOUT:x}",
                          f"through the {tunnel} tunnel over Teredo: {address} does not "
                          "answer ICMPv6 echo, which Teredo needs of a destination")
        local = self._next()
        inner = Packet(self._source(), address, TCP, local, port, IPV6_HEADER + TCP_HEADER,
                       flags=SYN, seq=0)
        answer = yield from self.ask(("tcp", local), inner, tunnel, OPEN_TIMEOUT)
        nat64 = self.deployment.nat64
        how = f"through the {tunnel} tunnel"
        if nat64 is not None and address in nat64:
            how += (f" to the server's NAT64, which translates it to "
                    f"{embedded(nat64, address)} (the DNS64's AAAA from an A record)")
        if answer is not None and answer.flags == SYN | ACK:
            return Opened(text, start, True, str(address), None, how)
        code = WSAECONNREFUSED if answer is not None and answer.flags & RST else WSAETIMEDOUT
        return Opened(text, start, False, str(address), f"0x{code:x}",
                      f"{how}: {NAMES[code]}")

    def _direct(self, text: str, start: float, address: Any, port: int, name: str | None):
        """The laptop's own TCP connect: what an address outside the tunnel's routes gets."""
        hop = self.host.routes.lookup(address)
        where = "no route" if hop is None else f"the route via {hop[0].name}"
        what = f"{address} is an IPv4 address" if name is None else \
            f"{name} has no IPv6 address, only the IPv4 address {address}"
        why = (f"{what}: DirectAccess carries IPv6 only, so it went by {where} to the local "
               "network, not into a tunnel"
               if address.version == 4 else f"{address} is not behind the tunnel ({where})")
        try:
            conn = yield from services.connector(self.da.profile)(self.host, address, port)
        except SocketError as exc:
            return Opened(text, start, False, str(address), exc.hex, why)
        conn.close()
        return Opened(text, start, True, str(address), None, why)
