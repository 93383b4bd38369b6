"""The DirectAccess server's Internet edge: 6to4 relay, Teredo server and relay, IP-HTTPS
listener, and the intranet behind it (DA-PLAN, F1.33, F1.34).

What the server offers follows from its addresses, as on a real Remote Access server: Teredo
needs two consecutive public IPv4 addresses; 6to4 needs a public address on the server itself;
behind an edge NAT with one public address only IP-HTTPS remains (F1.33, S16). The intranet
(domain controllers, internal servers) is collapsed into addresses of one prefix that the
server answers for once a client's packets have crossed a tunnel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from typing import TYPE_CHECKING, Any

from sim.net.internet import PRIVATE_V4, SHARED_V4
from sim.transition.sixtofour import SIXTOFOUR_PREFIX, SixToFourTunnel
from sim.transition.teredo_server import TeredoServer

if TYPE_CHECKING:
    from sim.net.host import Host

INTRANET_PREFIX = IPv6Network("2001:db8:1::/48")   # documentation prefix for the intranet
DC_ADDRESS = IPv6Address("2001:db8:1::10")           # a domain controller behind the server
IPHTTPS_PREFIX = IPv6Network("2001:db8:1:1000::/64")  # handed out to IP-HTTPS clients (F5.5)
# the DNS64 on the server's internal adapter, in the "…3333::1" style of the wizard (B5)
DNS64_ADDRESS = IPv6Address("2001:db8:1:3333::1")


def is_public_ipv4(addr: IPv4Address) -> bool:
    return not (any(addr in n for n in PRIVATE_V4) or addr in SHARED_V4)


@dataclass(frozen=True)
class ServerPolicy:
    """What the DirectAccess Group Policy tells clients about the server."""

    teredo_server: IPv4Address | None
    teredo_secondary: IPv4Address | None
    relay: IPv4Address | None            # the 6to4 relay (F1.29)
    iphttps_url: str | None
    nls_url: str | None
    ipv6: tuple[IPv6Address, ...] = ()   # public IPv6 addresses, for native IPv6 clients
    force_tunnel: bool = False
    intranet: IPv6Address = DC_ADDRESS   # what the client probes through a tunnel
    dns64: IPv6Address | None = None     # where the NRPT's rules send names (None: no NRPT)
    nat64: IPv6Network | None = None     # the NAT64 prefix clients route into the tunnel
    methods: frozenset[str] = field(default_factory=lambda: frozenset(
        {"6to4", "teredo", "iphttps"}))


class DirectAccessServer:
    """The Remote Access server's edge functions on ``host``."""

    def __init__(self, host: Host, ipv4: list[Any], methods: set[str] | frozenset[str],
                 ipv6: list[Any] = (), public_ipv4: list[Any] | None = None,
                 iphttps: Any = None, nls_url: str | None = None,
                 force_tunnel: bool = False, dns64: Any = None,
                 nat64: IPv6Network | None = None) -> None:
        self.host = host
        self.kernel = host.kernel
        self.ipv4 = [ip_address(a) for a in ipv4]
        self.public_ipv4 = [ip_address(a) for a in (public_ipv4 or ipv4)]
        self.ipv6 = [ip_address(a) for a in ipv6]
        self.methods = frozenset(methods)
        self.nls_url = nls_url
        self.force_tunnel = force_tunnel
        intranet = host.add_interface(None, f"{DC_ADDRESS}/128", name="intranet")
        # the DNS64 listens on its own internal address, reached through the tunnels only
        self.dns64 = None if dns64 is None else ip_address(dns64)
        self.nat64 = nat64
        if self.dns64 is not None:
            host.add_address(intranet, f"{self.dns64}/128")
        self.teredo: TeredoServer | None = None
        self.sixtofour: SixToFourTunnel | None = None
        self.iphttps = iphttps
        self.ipsec: Any = None   # the IPsec responder, when the scenario models IPsec
        primary = self.ipv4[0]
        own_public = is_public_ipv4(primary)
        if "teredo" in self.methods and own_public and len(self.ipv4) >= 2 \
                and int(self.ipv4[1]) == int(primary) + 1:
            self.teredo = TeredoServer(host, primary, self.ipv4[1])
        if "6to4" in self.methods and own_public:
            self.sixtofour = SixToFourTunnel(host, primary, relay=None, name="6to4-relay")
            host.routes.add(SIXTOFOUR_PREFIX, self.sixtofour.interface)

    def policy(self) -> ServerPolicy:
        """The client settings the DA wizard would write into Group Policy."""
        url = getattr(self.iphttps, "url", None)
        return ServerPolicy(
            teredo_server=self.teredo.primary if self.teredo else None,
            teredo_secondary=self.teredo.secondary if self.teredo else None,
            relay=self.sixtofour.ipv4 if self.sixtofour else None,
            iphttps_url=url,
            nls_url=self.nls_url,
            ipv6=tuple(self.ipv6),
            force_tunnel=self.force_tunnel,
            methods=self.methods,
            dns64=self.dns64,
            nat64=self.nat64,
        )

    def down(self) -> None:
        self.host.up = False
        if self.ipsec is not None:   # a restart forgets every security association
            self.ipsec.forget()
        self.kernel.log(self.host.name, "server-down")

    def up(self) -> None:
        self.host.up = True
        self.kernel.log(self.host.name, "server-up")
