"""What a Windows client does on the network besides the tunnels: resolve names, open TCP with
its release's SYN timing, fetch CRLs over HTTP before it verifies a chain, probe the NLS, and
find out whether a domain controller is reachable.

Each is a generator that crosses the simulated network, so a CDP published only inside fails
from outside for the same reason a real download would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from sim.net.dns import resolve
from sim.net.errors import SocketError
from sim.net.http import HttpServer, http_get
from sim.net.tcp import TcpConfig, tcp_stack
from sim.net.tls import Certificate, TlsError, TlsServerSession, client_handshake
from sim.pki.hresult import CRYPT_E_REVOCATION_OFFLINE

if TYPE_CHECKING:
    from sim.directaccess.profiles import ClientProfile
    from sim.net.host import Host
    from sim.pki import MachineStores

__all__ = ["connector", "crl_urls", "listen", "resolve"]

DC_NAME = "dc.corp.contoso.com"
NLS_TIMEOUT = 30.0   # F1.24: UNCONFIRMED; one HTTPS GET bounded by the TCP and HTTP timers


def connector(profile: ClientProfile) -> Callable:
    """TCP connect with the profile's SYN timing (KB 2786464; F2.18)."""
    config = TcpConfig(initial_rto=profile.tcp_initial_rto,
                       max_syn_retransmissions=profile.tcp_syn_retries)

    def connect(host: Host, address: Any, port: int):
        conn = yield from tcp_stack(host).connect(address, port, config)
        return conn

    return connect


def listen(host: Host, port: int, on_accept: Callable) -> None:
    tcp_stack(host).listen(port, on_accept)


def crl_urls(chain: list[x509.Certificate]) -> list[str]:
    """The CRL distribution point URLs named by the certificates of ``chain``."""
    urls: list[str] = []
    for cert in chain:
        try:
            cdp = cert.extensions.get_extension_for_oid(
                ExtensionOID.CRL_DISTRIBUTION_POINTS).value
        except (x509.ExtensionNotFound, ValueError):
            continue
        for point in cdp:
            for name in point.full_name or []:
                if isinstance(name, x509.UniformResourceIdentifier) and \
                        name.value.startswith("http") and name.value not in urls:
                    urls.append(name.value)
    return urls


def chain_verifier(host: Host, stores: MachineStores, now: Callable[[], dt.datetime],
                   enforce_crl: bool, proxy: tuple[Any, int] | None = None,
                   proxy_for: Callable | None = None) -> Callable:
    """The client's SSL policy check bound to its stores: a generator that first downloads
    the chain's CRLs (those not already cached) across the network, then verifies.
    ``proxy``: the proxy (address, port) of the downloads; ``proxy_for(host, url)``, when
    given, decides it per URL instead (a generator giving (name or address, port) or None:
    the laptop's proxy settings, ``sim.directaccess.proxysettings``)."""

    def verify(chain: list[x509.Certificate], server_name: str):
        at = now()
        fetched: dict[str, bytes | None] = {}
        why: list[str] = []   # what stopped a download (an NRPT rule, B4), for the message
        if enforce_crl:
            for url in crl_urls(chain):
                if stores.crl_cache.get(url, at) is not None:
                    continue
                try:
                    via = proxy
                    if proxy_for is not None:
                        via = yield from proxy_for(host, url)
                        if via is not None and isinstance(via[0], str):
                            via = ((yield from resolve(host, via[0]))[0], via[1])
                    resp = yield from http_get(host, url, resolve, via)
                    fetched[url] = resp.body if resp.status == 200 else None
                except SocketError as exc:
                    fetched[url] = None
                    if "NRPT" in (exc.detail or "") and exc.detail not in why:
                        why.append(exc.detail)
        result = stores.verify(chain, host=server_name, at=at, fetch=fetched.get,
                               check_revocation=enforce_crl)
        if why and result.hresult == CRYPT_E_REVOCATION_OFFLINE.code:
            result = replace(result, message=f"{result.message} ({'; '.join(why)})")
        return result

    return verify


def nls_prober(url: str, verify: Callable | None, connect: Callable) -> Callable:
    """The NLS check (F1.18): inside if an HTTPS GET to the NLS succeeds with a valid
    certificate, outside otherwise. Returns (inside, reason)."""
    parts = urlsplit(url)
    name, port = parts.hostname or "", parts.port or 443

    def probe(host: Host):
        env = host.kernel.env
        try:
            addrs = yield from resolve(host, name)
            conn = yield from connect(host, addrs[0], port)
        except SocketError as exc:
            return False, f"NLS {name} not reachable: {exc.hex} {exc}"
        try:
            check = verify if verify is not None else (lambda chain: None)
            yield from client_handshake(conn, name, lambda chain: check(chain, name),
                                        host.kernel.rng(f"nls:{host.name}"))
        except TlsError as exc:
            conn.close()
            return False, f"NLS {name} certificate rejected ({exc.hex})"
        from sim.net.http import HttpRequest, HttpResponse

        req = HttpRequest("GET", parts.path or "/", {"Host": name})
        conn.send(req, req.size)
        resp = yield conn.recv(NLS_TIMEOUT)
        conn.close()
        if isinstance(resp, HttpResponse) and resp.status == 200:
            return True, f"NLS {name} answered over HTTPS at t={env.now:.1f} s"
        return False, f"NLS {name} gave no valid answer"

    return probe


def domain_prober() -> Callable:
    """Is a domain controller reachable from here (the domain firewall profile, F1.23)?
    Windows locates one through DNS; the name resolves only on the corporate network."""

    def probe(host: Host):
        try:
            yield from resolve(host, DC_NAME)
        except SocketError:
            return False
        return True

    return probe


class HttpsSite:
    """A web server over TLS (the NLS): presents ``chain`` and answers every GET with 200."""

    def __init__(self, host: Host, chain: list[x509.Certificate], port: int = 443) -> None:
        from sim.net.http import HttpRequest, HttpResponse

        self.certificate = Certificate(chain)
        self.rng = host.kernel.rng(f"https:{host.name}")
        self.hits = 0

        def accept(conn: Any) -> None:
            def on_data(msg: Any) -> None:
                if isinstance(msg, HttpRequest):
                    self.hits += 1
                    resp = HttpResponse(200, "OK", {"Content-Length": "0"})
                    conn.send(resp, resp.size)
            conn.on_message = TlsServerSession(conn, self.certificate, self.rng,
                                               on_data).receive

        tcp_stack(host).listen(port, accept)


def web_server(host: Host, serve: Callable[[str], bytes | None]) -> HttpServer:
    """An HTTP server whose answers come from ``serve(url)`` (CRLs and CA certificates)."""
    from sim.net.http import HttpResponse

    def handler(req: Any) -> Any:
        url = f"http://{req.headers.get('Host', '')}{req.target}" if req.target.startswith(
            "/") else req.target
        body = serve(url)
        if body is None:
            return HttpResponse(404, "Not Found")
        return HttpResponse(200, "OK", {"Content-Type": "application/pkix-crl",
                                        "Content-Length": str(len(body))}, body)

    return HttpServer(host, handler)
