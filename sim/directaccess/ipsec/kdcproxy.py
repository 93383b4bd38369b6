"""The client side of the KDC proxy (MS-KKDCP): an AS exchange carried in an HTTPS POST to
``https://<ConnectTo>/KdcProxy/`` on the IP-HTTPS listener (A6), so that a client outside can
get Kerberos tickets before any tunnel is up. It crosses the same proxies, NATs and firewalls as
IP-HTTPS, and the TLS handshake verifies the IP-HTTPS certificate."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sim.directaccess.ipsec.kerberos import (
    KDC_PROXY_PATH,
    KerberosReply,
    KerberosRequest,
    decode_reply,
    encode_request,
)
from sim.net.errors import SocketError
from sim.net.http import HttpRequest, HttpResponse
from sim.net.tls import TlsError, client_handshake

if TYPE_CHECKING:
    from sim.net.host import Host

KDC_PROXY_TIMEOUT = 30.0   # assumption: as long as the IP-HTTPS client waits for its POST


def kdc_proxy_client(iphttps_url: str, verify: Callable, connect: Callable,
                     resolve: Callable) -> Callable:
    """A generator function ``(host, requests) -> [KerberosReply | None, …]``: the requests
    one after the other on one HTTPS connection (keep-alive), None for each unanswered."""
    parts = urlsplit(iphttps_url)
    name, port = parts.hostname or "", parts.port or 443

    def ask(host: Host, requests: list[KerberosRequest]):
        replies: list[KerberosReply | None] = [None] * len(requests)
        try:
            addrs = yield from resolve(host, name)
            conn = yield from connect(host, addrs[0], port)
        except SocketError:
            return replies
        try:
            yield from client_handshake(conn, name, lambda chain: verify(chain, name),
                                        host.kernel.rng(f"kdcproxy:{host.name}"))
        except TlsError:
            conn.close()
            return replies
        for i, req in enumerate(requests):
            body = encode_request(req)
            post = HttpRequest("POST", KDC_PROXY_PATH, {
                "Host": name, "Content-Type": "application/kerberos",
                "Content-Length": str(len(body))}, body)
            conn.send(post, post.size)
            resp: Any = yield conn.recv(KDC_PROXY_TIMEOUT)
            if not (isinstance(resp, HttpResponse) and resp.status == 200):
                break
            replies[i] = decode_reply(resp.body)
        conn.close()
        return replies

    return ask


def kdc_proxy_handler(answer: Callable[[KerberosRequest], KerberosReply]) -> Callable:
    """The server's ``/KdcProxy/`` route: the body in, the KDC's answer out."""
    from sim.directaccess.ipsec.kerberos import decode_request, encode_reply

    def handle(req: HttpRequest) -> HttpResponse:
        krb = decode_request(req.body)
        if krb is None:
            return HttpResponse(400, "Bad Request", {"Server": "Microsoft-HTTPAPI/2.0"})
        body = encode_reply(answer(krb))
        return HttpResponse(200, "OK", {"Server": "Microsoft-HTTPAPI/2.0",
                                        "Content-Type": "application/kerberos",
                                        "Content-Length": str(len(body))}, body)

    return handle
