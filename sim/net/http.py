"""HTTP/1.1 messages and tiny servers over the simulated TCP: the NLS probe, CRL downloads,
the IP-HTTPS POST and a proxy's CONNECT all use them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sim.net.errors import WSAECONNRESET, WSAETIMEDOUT, SocketError
from sim.net.tcp import tcp_stack

if TYPE_CHECKING:
    from sim.net.host import Host

RESPONSE_TIMEOUT = 30.0   # assumption: WinHTTP's receive timeout is longer; 30 s bounds a run


class HttpRequest:
    __slots__ = ("body", "body_size", "headers", "method", "target")

    def __init__(self, method: str, target: str, headers: dict[str, str] | None = None,
                 body: bytes | None = None, body_size: int = 0) -> None:
        self.method = method
        self.target = target
        self.headers = headers or {}
        self.body = body
        self.body_size = body_size or (len(body) if body else 0)

    def text(self) -> str:
        lines = [f"{self.method} {self.target} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        return "\r\n".join(lines) + "\r\n\r\n"

    @property
    def size(self) -> int:
        return len(self.text()) + (self.body_size if self.method != "POST" else 0)


class HttpResponse:
    __slots__ = ("body", "body_size", "headers", "reason", "status")

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None,
                 body: bytes | None = None, body_size: int = 0) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers or {}
        self.body = body
        self.body_size = body_size or (len(body) if body else 0)

    def text(self) -> str:
        lines = [f"HTTP/1.1 {self.status} {self.reason}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        return "\r\n".join(lines) + "\r\n\r\n"

    @property
    def size(self) -> int:
        return len(self.text()) + (self.body_size if self.body_size < 2**32 else 0)


Handler = Callable[[HttpRequest], HttpResponse]


class HttpServer:
    """Plain HTTP on ``port``: each request is answered by ``handler``."""

    def __init__(self, host: Host, handler: Handler, port: int = 80) -> None:
        self.handler = handler
        self.requests = 0
        tcp_stack(host).listen(port, self._accept)

    def _accept(self, conn: Any) -> None:
        def on_message(msg: Any) -> None:
            if isinstance(msg, HttpRequest):
                self.requests += 1
                resp = self.handler(msg)
                conn.send(resp, resp.size)
        conn.on_message = on_message


def http_get(host: Host, url: str, resolve: Callable, proxy: tuple[Any, int] | None = None,
             timeout: float = RESPONSE_TIMEOUT):
    """GET ``url`` (a generator): the response, or SocketError. With ``proxy`` the request goes
    to the proxy in absolute form, as WinHTTP does."""
    parts = urlsplit(url)
    port = parts.port or 80
    if proxy is None:
        addrs = yield from resolve(host, parts.hostname or "")
        conn = yield from tcp_stack(host).connect(addrs[0], port)
        target = parts.path or "/"
    else:
        conn = yield from tcp_stack(host).connect(proxy[0], proxy[1])
        target = url
    req = HttpRequest("GET", target, {"Host": parts.netloc, "User-Agent":
                                      "Microsoft-CryptoAPI/10.0"})
    conn.send(req, req.size)
    resp = yield conn.recv(timeout)
    conn.close()
    if resp is None:
        raise SocketError(WSAECONNRESET if conn.closed and conn.error else WSAETIMEDOUT,
                          f"no HTTP answer from {parts.netloc}")
    return resp
