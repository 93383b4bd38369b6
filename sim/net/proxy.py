"""An explicit HTTP proxy at a network's edge (reached by clients on TCP 8080).

CONNECT host:port opens the proxy's own connection upstream and relays both ways (F5.6). An
authenticating proxy answers 407, which the Windows IP Helper service cannot answer
(MS-IPHTTPS note <1>): IP-HTTPS through it fails. A TLS-inspecting proxy terminates the
client's TLS with a certificate re-signed by its own CA (``inspector``) and talks TLS to the
server itself (F5.7): the client then sees the proxy's CA, not the server's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from sim.net.dns import resolve
from sim.net.errors import SocketError
from sim.net.http import HttpRequest, HttpResponse, http_get
from sim.net.tcp import tcp_stack
from sim.net.tls import Certificate, TlsError, TlsServerSession, client_handshake

if TYPE_CHECKING:
    from sim.net.host import Host

AUTH_SCHEMES = {"basic": "Basic realm=\"proxy\"", "ntlm": "NTLM", "negotiate": "Negotiate"}


class Inspector(Protocol):
    """What a TLS-inspecting proxy does with the server's chain: the chain it shows instead."""

    def substitute(self, server_chain: list[Any]) -> list[Any]: ...


class HttpProxy:
    """A forward proxy on ``host``: CONNECT tunnels and absolute-form GETs."""

    def __init__(self, host: Host, port: int = 8080, auth: str = "none",
                 inspector: Inspector | None = None) -> None:
        self.host = host
        self.env = host.kernel.env
        self.port = port
        self.auth = auth
        self.inspector = inspector
        self.rng = host.kernel.rng(f"proxy:{host.name}")
        self.requests: list[tuple[float, str, int]] = []
        self._messages: dict[int, Certificate] = {}
        tcp_stack(host).listen(port, self._accept)

    def _accept(self, conn: Any) -> None:
        conn.on_message = lambda msg: self.env.process(self._request(conn, msg))

    def _answer(self, conn: Any, status: int, reason: str, headers: dict | None = None,
                target: str = "") -> None:
        resp = HttpResponse(status, reason, headers or {})
        self.requests.append((self.env.now, target, status))
        conn.send(resp, resp.size)

    def _request(self, conn: Any, msg: Any):
        conn.on_message = None  # one request per connection; a tunnel takes over after it
        if not isinstance(msg, HttpRequest):
            return
        if self.auth != "none":
            self._answer(conn, 407, "Proxy Authentication Required",
                         {"Proxy-Authenticate": AUTH_SCHEMES.get(self.auth, self.auth)},
                         msg.target)
            return
        if msg.method == "CONNECT":
            yield from self._connect(conn, msg.target)
        elif msg.method == "GET":
            try:
                resp = yield from http_get(self.host, msg.target, resolve)
            except SocketError:
                self._answer(conn, 502, "Bad Gateway", target=msg.target)
                return
            self.requests.append((self.env.now, msg.target, resp.status))
            conn.send(resp, resp.size)

    def _connect(self, conn: Any, target: str):
        name, _, port = target.rpartition(":")
        try:
            addrs = yield from resolve(self.host, name)
            upstream = yield from tcp_stack(self.host).connect(addrs[0], int(port or 443))
        except SocketError:
            self._answer(conn, 502, "Bad Gateway", target=target)
            return
        self._answer(conn, 200, "Connection established", target=target)
        if self.inspector is None:
            self._relay(conn, upstream)
            return
        # Inspection: learn the server's chain by our own handshake, then show ours.
        seen: dict[str, Any] = {}

        def accept_any(chain: list[Any]) -> Any:
            seen["chain"] = chain
            return None

        try:
            yield from client_handshake(upstream, name, accept_any, self.rng)
        except TlsError:
            conn.close()
            return
        chain = self.inspector.substitute(seen["chain"])
        substitute = self._messages.get(id(chain))
        if substitute is None:   # encode each substituted chain once
            substitute = self._messages[id(chain)] = Certificate(chain)
        session = TlsServerSession(conn, substitute, self.rng,
                                   on_data=lambda m: upstream.send(m, getattr(m, "size", 0)))
        conn.on_message = session.receive
        for queued in list(conn.mailbox.queue):   # the ClientHello that waited meanwhile
            session.receive(queued)
        conn.mailbox.queue.clear()
        upstream.on_message = lambda m: conn.send(m, getattr(m, "size", 0))
        upstream.on_close = lambda _c: conn.close()
        conn.on_close = lambda _c: upstream.close()

    @staticmethod
    def _relay(a: Any, b: Any) -> None:
        a.on_message = lambda m: b.send(m, getattr(m, "size", 0))
        b.on_message = lambda m: a.send(m, getattr(m, "size", 0))
        a.on_close = lambda _c: b.close()
        b.on_close = lambda _c: a.close()
        for queued in list(a.mailbox.queue):
            b.send(queued, getattr(queued, "size", 0))
        a.mailbox.queue.clear()


def proxy_target(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
