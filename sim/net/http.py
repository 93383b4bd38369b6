"""HTTP/1.1 messages (RFC 9112) and tiny servers and clients over the simulated TCP: the NLS
probe, CRL downloads, the IP-HTTPS POST and a proxy's CONNECT all use them.

A message travels as one object in one TCP segment; its ``size`` is the length of its text
form (start line and headers) plus ``body_size``. The IP-HTTPS POST announces a
Content-Length of 2**64 - 1 (F5.2) but has ``body_size`` 0: its "body" is the stream of IPv6
packets that follow as separate messages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sim.net.dns import resolve as dns_resolve
from sim.net.errors import WSAECONNRESET, WSAETIMEDOUT, SocketError
from sim.net.tcp import tcp_stack

if TYPE_CHECKING:
    from sim.net.host import Host
    from sim.net.packet import Address
    from sim.net.tcp import TcpConnection

RESPONSE_TIMEOUT = 30.0   # assumption: WinHTTP's receive timeout is longer; 30 s bounds a run
USER_AGENT = "Microsoft-CryptoAPI/10.0"   # what CryptoAPI sends when it fetches a CRL

REASONS = {200: "OK", 302: "Found", 400: "Bad Request", 404: "Not Found",
           407: "Proxy Authentication Required", 502: "Bad Gateway", 504: "Gateway Timeout"}


class _Message(ABC):
    """What requests and responses share: headers, a body, their size on the wire."""

    __slots__ = ("body", "body_size", "headers")

    @abstractmethod
    def start_line(self) -> str:
        """The request line or the status line."""

    def text(self) -> str:
        """The start line and headers as they go on the wire."""
        lines = [self.start_line()]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        return "\r\n".join(lines) + "\r\n\r\n"

    @property
    def size(self) -> int:
        return len(self.text()) + self.body_size

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header by case-insensitive name."""
        low = name.lower()
        for k, v in self.headers.items():
            if k.lower() == low:
                return v
        return default


class HttpRequest(_Message):
    """A request: ``target`` is origin-form (``/path``), absolute-form (``http://host/path``,
    to a proxy) or authority-form (``host:port``, CONNECT)."""

    __slots__ = ("method", "target")

    def __init__(self, method: str, target: str, headers: dict[str, str] | None = None,
                 body: bytes | None = None, body_size: int = 0) -> None:
        self.method = method
        self.target = target
        self.headers = headers or {}
        self.body = body
        self.body_size = body_size or (len(body) if body else 0)

    def start_line(self) -> str:
        return f"{self.method} {self.target} HTTP/1.1"

    def __repr__(self) -> str:
        return f"<HttpRequest {self.method} {self.target}>"


class HttpResponse(_Message):
    """A response; ``body`` holds real bytes when they matter (a CRL), else only
    ``body_size`` counts."""

    __slots__ = ("reason", "status")

    def __init__(self, status: int, reason: str | None = None,
                 headers: dict[str, str] | None = None, body: bytes | None = None,
                 body_size: int = 0) -> None:
        self.status = status
        self.reason = reason if reason is not None else REASONS.get(status, "")
        self.headers = headers or {}
        self.body = body
        self.body_size = body_size or (len(body) if body else 0)

    def start_line(self) -> str:
        return f"HTTP/1.1 {self.status} {self.reason}"

    def __repr__(self) -> str:
        return f"<HttpResponse {self.status} {self.reason}>"


Handler = Callable[[HttpRequest], HttpResponse]


class HttpServer:
    """Plain HTTP on ``port``: each request on a connection (keep-alive) is answered by the
    handler of the longest matching path prefix in ``routes`` (a single handler serves every
    path), or 404."""

    def __init__(self, host: Host, handler: Handler | Mapping[str, Handler],
                 port: int = 80) -> None:
        self.routes: dict[str, Handler] = (dict(handler) if isinstance(handler, Mapping)
                                           else {"/": handler})
        self.requests = 0
        self.log: list[tuple[float, str, str, int]] = []   # (time, method, target, status)
        self.env = host.kernel.env
        tcp_stack(host).listen(port, self._accept)

    @property
    def handler(self) -> Handler:
        return self.routes["/"]

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def respond(self, req: HttpRequest) -> HttpResponse:
        path = (urlsplit(req.target).path or "/") if "://" in req.target else \
            req.target.partition("?")[0]
        best = max((p for p in self.routes if path.startswith(p)), key=len, default=None)
        if best is None:
            return HttpResponse(404, "Not Found", {"Content-Length": "0"})
        return self.routes[best](req)

    def _accept(self, conn: TcpConnection) -> None:
        def on_message(msg: Any) -> None:
            if isinstance(msg, HttpRequest):
                self.requests += 1
                resp = self.respond(msg)
                self.log.append((self.env.now, msg.method, msg.target, resp.status))
                conn.send(resp, resp.size)
        conn.on_message = on_message


def _default_connect(host: Host, address: Address, port: int):
    conn = yield from tcp_stack(host).connect(address, port)
    return conn


def http_get(host: Host, url: str, resolve: Callable | None = None,
             proxy: tuple[Any, int] | None = None, timeout: float = RESPONSE_TIMEOUT,
             connect: Callable | None = None,
             headers: dict[str, str] | None = None) -> Generator[Any, Any, HttpResponse]:
    """GET an ``http://`` URL (a generator for SimPy processes): the response, whatever its
    status, or SocketError (name resolution, connect, or no answer: 0x274c; connection reset:
    0x2746). With ``proxy`` (address, port) the request goes to the proxy in absolute form,
    as WinHTTP does, and the proxy resolves the name. ``resolve(host, name)`` and
    ``connect(host, address, port)`` default to the host's DNS and TCP stack (a client
    passes its own: NRPT, its release's SYN timing)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"http_get: {url!r} is not an http:// URL")
    if resolve is None:
        resolve = dns_resolve
    connect = connect or _default_connect
    if proxy is None:
        addrs = yield from resolve(host, parts.hostname)
        conn = yield from connect(host, addrs[0], parts.port or 80)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
    else:
        conn = yield from connect(host, proxy[0], proxy[1])
        target = url
    req = HttpRequest("GET", target, {"Host": parts.netloc, "User-Agent": USER_AGENT,
                                      **(headers or {})})
    conn.send(req, req.size)
    resp = yield conn.recv(timeout)
    ended = conn.closed          # the server closed or reset the connection without answer
    conn.close()
    if resp is None:
        raise SocketError(WSAECONNRESET if ended else WSAETIMEDOUT,
                          f"no HTTP answer from {parts.netloc}")
    return resp
