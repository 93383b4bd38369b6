"""An explicit HTTP proxy at a network's edge (reached by clients on TCP 8080).

CONNECT host:port opens the proxy's own connection upstream (resolving the name with its own
DNS) and relays messages both ways (F5.6, S4). An authenticating proxy answers 407 with a
``Proxy-Authenticate`` challenge, which the Windows IP Helper service cannot answer
(MS-IPHTTPS product-behaviour note <1>; S5): IP-HTTPS through it fails. Upstream failures are
502 Bad Gateway (name not found, refused, reset) or 504 Gateway Timeout (no answer).

A TLS-inspecting proxy (F5.7, S7) is this proxy with an ``inspector``: after the 200 it runs
its own TLS handshake with the server, asks the inspector which chain to show instead of the
server's (re-signed by its CA), terminates the client's TLS with that chain, and relays the
application data between the two sessions. The client then sees the proxy's CA, not the
server's.

The proxy's own connections leave through the network's gateway like anyone's: exempting them
from the network's firewall is the scenario builder's job (``sim.scenario.build``), as a real
firewall rule for the proxy's address would be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.hashes import SHA256
from pydantic import Field, model_validator

from sim.config import Strict
from sim.net.dns import resolve
from sim.net.errors import WSAETIMEDOUT, WSATRY_AGAIN, SocketError
from sim.net.http import HttpRequest, HttpResponse, http_get
from sim.net.tcp import tcp_stack
from sim.net.tls import Certificate, TlsError, TlsServerSession, client_handshake

if TYPE_CHECKING:
    from sim.net.host import Host
    from sim.net.tcp import TcpConnection

_SHA256 = SHA256()
AUTH_SCHEMES = {"basic": "Basic realm=\"proxy\"", "ntlm": "NTLM", "negotiate": "Negotiate"}
PROXY_PORT = 8080


class ProxyConfig(Strict):
    """A network's ``proxy:``: its port, whether it asks for credentials, whether it inspects
    TLS and with which authority (a name under ``pki.authorities``) it re-signs."""

    auth: Literal["none", "basic", "ntlm", "negotiate"] = "none"
    inspect_tls: bool = False
    ca: str | None = None
    port: int = Field(default=PROXY_PORT, ge=1, le=65535)

    @model_validator(mode="after")
    def _ca(self) -> ProxyConfig:
        if self.inspect_tls and not self.ca:
            raise ValueError("inspect_tls needs ca: the authority that re-signs certificates")
        return self


def _size(message: Any) -> int:
    return getattr(message, "size", 0)


class Inspector(Protocol):
    """The TLS-inspection seam: given the chain the real server presented to the proxy, the
    chain the proxy presents to its client instead (:class:`ResigningInspector`
    re-signs the leaf with the inspection CA). The proxy calls it once per CONNECT, after its
    own handshake with the server and before it answers the client's ClientHello; returning
    the same list object for the same server lets the proxy encode it once."""

    def substitute(self, server_chain: list[Any]) -> list[Any]: ...


class HttpProxy:
    """A forward proxy on ``host``: CONNECT tunnels and absolute-form GETs (keep-alive).
    ``auth``: none, basic, ntlm or negotiate. ``requests`` logs (time, target, status)."""

    def __init__(self, host: Host, port: int = PROXY_PORT, auth: str = "none",
                 inspector: Inspector | None = None) -> None:
        if auth != "none" and auth not in AUTH_SCHEMES:
            raise ValueError(f"proxy auth {auth!r}: expected none or one of "
                             f"{sorted(AUTH_SCHEMES)}")
        self.host = host
        self.env = host.kernel.env
        self.port = port
        self.auth = auth
        self.inspector = inspector
        self.rng = host.kernel.rng(f"proxy:{host.name}")
        self.requests: list[tuple[float, str, int]] = []
        self._messages: dict[int, Certificate] = {}
        tcp_stack(host).listen(port, self._accept)

    def _accept(self, conn: TcpConnection) -> None:
        conn.on_message = lambda msg: self._dispatch(conn, msg)

    def _dispatch(self, conn: TcpConnection, msg: Any) -> None:
        conn.on_message = None   # later messages wait in the mailbox while this one is served
        self.env.process(self._request(conn, msg))

    def _answer(self, conn: TcpConnection, status: int, reason: str | None = None,
                headers: dict | None = None, target: str = "") -> None:
        resp = HttpResponse(status, reason, {"Content-Length": "0", **(headers or {})})
        self.requests.append((self.env.now, target, status))
        conn.send(resp, resp.size)

    def _next_request(self, conn: TcpConnection) -> None:
        """Keep-alive: serve the next request on the connection, queued or to come."""
        if conn.closed:
            return
        if conn.mailbox.pending():
            self._dispatch(conn, conn.mailbox.queue.popleft())
        else:
            conn.on_message = lambda msg: self._dispatch(conn, msg)

    def authorized(self, req: HttpRequest) -> bool:
        """Whether the request carries credentials for the proxy's scheme. The model checks
        only that a ``Proxy-Authorization`` of that scheme is present: a user-context client
        could send one, the IP Helper service never does (F5.6)."""
        if self.auth == "none":
            return True
        given = req.header("Proxy-Authorization") or ""
        return given.lower().startswith(self.auth.lower())

    def _request(self, conn: TcpConnection, msg: Any):
        if not isinstance(msg, HttpRequest):
            self._answer(conn, 400, target=str(type(msg).__name__))
            conn.close()
            return
        if not self.authorized(msg):
            self._answer(conn, 407, "Proxy Authentication Required",
                         {"Proxy-Authenticate": AUTH_SCHEMES.get(self.auth, self.auth)},
                         msg.target)
            self._next_request(conn)
            return
        if msg.method == "CONNECT":
            yield from self._connect(conn, msg.target)
            return
        if not msg.target.startswith("http://"):
            self._answer(conn, 400, target=msg.target)
            self._next_request(conn)
            return
        try:
            resp = yield from http_get(self.host, msg.target, resolve)
        except SocketError as exc:
            self._answer(conn, self.status_for(exc), target=msg.target)
        else:
            self.requests.append((self.env.now, msg.target, resp.status))
            conn.send(resp, resp.size)
        self._next_request(conn)

    @staticmethod
    def status_for(exc: SocketError) -> int:
        """504 when the upstream did not answer in time, 502 for any other failure."""
        return 504 if exc.code in (WSAETIMEDOUT, WSATRY_AGAIN) else 502

    def _connect(self, conn: TcpConnection, target: str):
        name, _, port = target.rpartition(":")
        try:
            addrs = yield from resolve(self.host, name)
            upstream = yield from tcp_stack(self.host).connect(addrs[0], int(port or 443))
        except SocketError as exc:
            self._answer(conn, self.status_for(exc), target=target)
            self._next_request(conn)
            return
        if conn.closed:                 # the client gave up meanwhile
            upstream.close()
            return
        resp = HttpResponse(200, "Connection established")   # RFC 9110 §9.3.6: no body
        self.requests.append((self.env.now, target, 200))
        conn.send(resp, resp.size)
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
            upstream.close()
            conn.close()
            return
        chain = self.inspector.substitute(seen["chain"])
        substitute = self._messages.get(id(chain))
        if substitute is None:   # encode each substituted chain once
            substitute = self._messages[id(chain)] = Certificate(chain)
        session = TlsServerSession(conn, substitute, self.rng,
                                   on_data=lambda m: upstream.send(m, _size(m)))
        conn.on_message = session.receive
        for queued in conn.mailbox.drain():   # the ClientHello that waited meanwhile
            session.receive(queued)
        upstream.on_message = lambda m: conn.send(m, _size(m))
        upstream.on_close = lambda _c: conn.close()
        conn.on_close = lambda _c: upstream.close()

    @staticmethod
    def _relay(a: TcpConnection, b: TcpConnection) -> None:
        """Splice two connections: what one receives the other sends, and a close on either
        side closes the other (after the data already relayed)."""
        a.on_message = lambda m: b.send(m, _size(m))
        b.on_message = lambda m: a.send(m, _size(m))
        a.on_close = lambda _c: b.close()
        b.on_close = lambda _c: a.close()
        for queued in a.mailbox.drain():
            b.send(queued, _size(queued))
        if a.closed:
            b.close()


def proxy_target(url: str) -> str:
    """The authority-form target of a CONNECT for ``url`` (``host:port``)."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


class Resigner(Protocol):
    """What re-signs for an inspecting proxy: a ``sim.pki`` authority (net never imports
    pki; the scenario builder hands one in)."""

    def resign(self, certificate: Any) -> Any: ...

    def chain(self) -> list[Any]: ...


class ResigningInspector:
    """A TLS-inspecting proxy's CA: it shows clients the server's certificate re-signed by
    itself, followed by its own chain (F5.7)."""

    def __init__(self, authority: Resigner) -> None:
        self.authority = authority
        self._made: dict[bytes, list] = {}

    def substitute(self, server_chain: list[Any]) -> list[Any]:
        """Re-signed once per server certificate, as inspection appliances cache them."""
        key = server_chain[0].fingerprint(_SHA256)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = [self.authority.resign(server_chain[0]),
                                      *self.authority.chain()]
        return made
