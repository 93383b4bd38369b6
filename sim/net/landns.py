"""A network's own DNS server and its WPAD web server: what a hotel's or a partner office's
DHCP hands out besides an address.

The connection-specific DNS suffix (DHCP option 15) is what WPAD's DNS discovery builds its
name from (``wpad.<suffix>``, then ``http://wpad.<suffix>/wpad.dat``, fact E4). The site's
resolver answers the names under its suffix from its own records (``proxy.<suffix>`` for the
network's proxy, ``wpad.<suffix>`` for its PAC server) and every other name from the public
view, as a recursive resolver would. Those names exist only there: from another network they
are NXDOMAIN, which is how a proxy remembered from here fails elsewhere (KB 2980635, E2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from ipaddress import ip_address
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from sim.config import Strict
from sim.net.dns import NOERROR, NXDOMAIN, QTYPES, DnsAnswer, DnsMessage, DnsServer
from sim.net.http import HttpRequest, HttpResponse, HttpServer

if TYPE_CHECKING:
    from sim.net.host import Host

PAC_TYPE = "application/x-ns-proxy-autoconfig"   # the PAC file's media type (Netscape, 1996)
WPAD_PATH = "/wpad.dat"                          # WPAD draft (Gauthier et al., 1999) §4.4.1


class LanDnsConfig(Strict):
    """A network's ``dns:``: its DNS suffix and, optionally, the PAC file its WPAD server
    serves (JavaScript defining ``FindProxyForURL(url, host)``)."""

    suffix: str = Field(min_length=1)
    pac: str | None = None
    pac_path: str = WPAD_PATH

    @field_validator("suffix")
    @classmethod
    def _name(cls, v: str) -> str:
        labels = v.strip(".").split(".")
        if not all(labels) or any(not lab.replace("-", "").isalnum() for lab in labels):
            raise ValueError(f"{v!r} is not a DNS suffix like hotel.example")
        return v.strip(".").lower()

    @field_validator("pac")
    @classmethod
    def _script(cls, v: str | None) -> str | None:
        if v is not None and "FindProxyForURL" not in v:
            raise ValueError("a PAC file defines function FindProxyForURL(url, host)")
        return v

    @field_validator("pac_path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError(f"{v!r}: a path starts with /")
        return v


class LanDns(DnsServer):
    """The site's resolver: its own names first, then the public view (``upstream``: the
    name → addresses table the public resolver answers from, read at query time)."""

    def __init__(self, host: Host, upstream: Mapping[str, Iterable[Any]],
                 local: dict[str, list[Any]] | None = None) -> None:
        super().__init__(host, local)
        self.upstream = upstream

    def answer(self, query: DnsMessage) -> DnsMessage:
        name = query.qname.lower().rstrip(".")
        if name in self.records:
            return super().answer(query)
        found = self.upstream.get(name)
        if found is None:
            return DnsMessage(query.id, query.qname, query.qtype, True, NXDOMAIN)
        version = 4 if query.qtype == QTYPES["A"] else 6
        answers = [DnsAnswer(ip_address(a), self.ttl) for a in found
                   if ip_address(a).version == version]
        return DnsMessage(query.id, query.qname, query.qtype, True, NOERROR, answers)


def pac_server(host: Host, script: str, path: str = WPAD_PATH) -> HttpServer:
    """The WPAD web server: the PAC file at ``path``, 404 elsewhere."""
    body = script.encode()

    def serve(req: HttpRequest) -> HttpResponse:
        return HttpResponse(200, "OK", {"Content-Type": PAC_TYPE,
                                        "Content-Length": str(len(body))}, body)

    server = HttpServer(host, {})
    server.route(path, serve)
    return server


def lan_services(add_host: Callable[[str], Host], name: str, config: LanDnsConfig,
                 upstream: Mapping[str, Iterable[Any]], proxy: Any = None) -> LanDns:
    """A site's resolver (and WPAD server if it has a PAC file) on hosts of their own;
    ``proxy``: the network's proxy address, published as ``proxy.<suffix>``."""
    dns_host = add_host(f"{name}-dns")
    dns = LanDns(dns_host, upstream)
    if proxy is not None:
        dns.add(f"proxy.{config.suffix}", proxy)
    if config.pac is not None:
        web = add_host(f"{name}-wpad")
        web.dns_servers = [dns_host.interfaces[0].address]
        pac_server(web, config.pac, config.pac_path)
        dns.add(f"wpad.{config.suffix}", web.interfaces[0].address)
    return dns
