"""IP-HTTPS (MS-IPHTTPS): IPv6 packets inside an HTTPS connection to the DirectAccess server.

Client (MS-IPHTTPS client role): resolve the URL's name, connect TCP (directly, or through an
explicit proxy with CONNECT), run TLS and verify the server's chain against the client's own
stores, POST to the URL's path with Content-Length 2^64−1 (F5.2), then router discovery inside
the tunnel (F5.5). Any failure leaves "Failed to connect to the IPHTTPS server" (in the client
release's words) with the error code, and a reconnect timer: 30 s after the first failure,
then the time elapsed since the first failure, capped at 15 minutes, reset by success (F2.10).
A certificate that does not match the URL shows 0x103, "No usable certificate found"
(KB 2980635).

Server: a listener that presents its certificate chain, accepts the POST with HTTP 200, answers
router solicitations with the IP-HTTPS /64 and forwards the clients' IPv6 packets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from sim.net.errors import WSAECONNABORTED, WSAECONNRESET, WSAHOST_NOT_FOUND, SocketError
from sim.net.http import HttpRequest, HttpResponse
from sim.net.icmpv6 import ALL_ROUTERS, RouterAdvertisement, RouterSolicitation
from sim.net.packet import ICMPV6, IPV6_HEADER, Packet
from sim.net.tls import (
    DEFAULT_SUITES,
    Certificate,
    TlsError,
    TlsServerSession,
    TlsTerminator,
    client_handshake,
)
from sim.transition.snapshot import Snapshot, text_or_empty
from sim.transition.tunnel import TunnelInterface

if TYPE_CHECKING:
    from sim.net.host import Host

CONTENT_LENGTH = 2**64 - 1          # MS-IPHTTPS: the POST body is an endless stream (F5.2)
BACKOFF_FIRST = 30.0                # MS-IPHTTPS client timers (F2.10)
BACKOFF_CAP = 900.0
IPHTTPS_MTU = 1280                  # F5.4
RS_TIMEOUT = 4.0                    # RFC 4861 §10 RTR_SOLICITATION_INTERVAL
RS_TRIES = 3                        # RFC 4861 §10 MAX_RTR_SOLICITATIONS
RESPONSE_TIMEOUT = 30.0             # assumption: wait for the HTTP answer to the POST
LINK_LOCAL_CLIENT = IPv6Address("fe80::1")

STATUS_ACTIVE = "IPHTTPS interface active"
# The seed's text (KB 2980667); a client profile gives its release's form (F1.26, N11.8).
STATUS_FAILED = "Failed to connect to the IPHTTPS server. Waiting to reconnect"
STATUS_DEACTIVATED = "IPHTTPS interface deactivated"
STATUS_CONNECTING = "connecting to the IPHTTPS server"
# KB 2980635 (Role: client): a certificate whose names do not match the IP-HTTPS URL (the
# wrong subject, extra data in the subject, or the right subject with a wrong SAN) shows
# 0x103 ERROR_NO_MORE_ITEMS, "No usable certificate found"; the chain engine's own code for
# the mismatch is CERT_E_CN_NO_MATCH (what ``dasim check-cert`` reports).
STATUS_NO_CERTIFICATE = "No usable certificate found"
ERROR_NO_MORE_ITEMS = 0x103
CERT_E_CN_NO_MATCH = 0x800B010F

# HTTP_E_STATUS_* HRESULTs are 0x80190000 + the HTTP status (winerror.h), e.g. 407 →
# 0x80190197 HTTP_E_STATUS_PROXY_AUTH_REQ. That IP-HTTPS reports this code for an
# authenticating proxy is an assumption (F5.6 says only that it fails).
HTTP_E_STATUS_BASE = 0x80190000
# A proxy that cannot resolve or reach the server answers CONNECT with 502 or 504; KB 2980635
# says IP-HTTPS then shows 0x2af9 although DNS and TCP 443 work from the laptop itself (E2).
# That the client maps both statuses to it is an assumption (P5 in docs/model.md).
CONNECT_ERRORS = {502: WSAHOST_NOT_FOUND, 504: WSAHOST_NOT_FOUND}


def backoff_wait(first_failure: float, now: float) -> float:
    """The reconnect timer after a failure at ``now`` (F2.10, F2.11)."""
    if now <= first_failure:
        return BACKOFF_FIRST
    return min(max(now - first_failure, BACKOFF_FIRST), BACKOFF_CAP)



def presented(result: Any) -> str:
    """Whose chain the client was shown, for a rejected certificate: the server's, or a
    device's on the path (a TLS-inspecting proxy, a captive portal), F5.7 and S3."""
    labels = getattr(result, "labels", ())
    return f" (chain presented: {' → '.join(labels)})" if labels else ""


class IpHttpsFailure(Exception):
    """A failed attempt: its code, why, and the Interface Status netsh shows (None: the
    release's "Failed to connect")."""

    def __init__(self, code: int, reason: str, status: str | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.status = status


@dataclass
class IpHttpsStatus:
    """The client interface (MS-IPHTTPS states) and what netsh prints about it."""

    state: str = "Disabled"          # Enabled, LinkDown, Established, LinkUp, Disabled (F2.12)
    last_error: int = 0
    interface_status: str = STATUS_DEACTIVATED
    reason: str = ""
    address: IPv6Address | None = None
    history: list[tuple[float, IpHttpsSnapshot]] = field(default_factory=list)

    def snapshot(self) -> IpHttpsSnapshot:
        return IpHttpsSnapshot(tuple(getattr(self, f) for f in IpHttpsSnapshot.fields))


class IpHttpsSnapshot(Snapshot):
    """What ``netsh interface httpstunnel show interfaces`` would have printed at one
    moment."""

    __slots__ = ()
    fields = ("state", "last_error", "interface_status", "reason", "address")
    convert: ClassVar[dict] = {"last_error": lambda e: f"0x{e:x}", "address": text_or_empty}


class IpHttpsClient:
    """The IP-HTTPS client interface of one host.

    ``resolve(host, name)`` and ``connect(host, address, port)`` are the network's DNS and TCP
    (generators raising errors with a ``code``); ``verify(chain, name)`` is the client's chain
    engine bound to its stores; ``proxy`` is an (address, port) pair or None;
    ``find_proxy(host, url)``, when given, decides the proxy anew for each attempt (a
    generator giving a route with ``server``, a (name or address, port) pair or None, and
    ``cancel``, a (code, reason) pair when the client gives the connection up itself).
    """

    last_detail: Any = None

    def __init__(self, host: Host, url: str, verify: Callable[[list, str], Any],
                 resolve: Callable, connect: Callable, proxy: tuple[Any, int] | None = None,
                 on_change: Callable[[IpHttpsStatus], None] | None = None,
                 find_proxy: Callable | None = None) -> None:
        self.host = host
        self.find_proxy = find_proxy
        self.kernel = host.kernel
        self.env = host.kernel.env
        self.url = url
        parts = urlsplit(url)
        self.server_name = parts.hostname or ""
        self.port = parts.port or 443
        self.path = parts.path or "/"
        self.verify = verify
        self.resolve = resolve
        self.connect = connect
        self.proxy = proxy
        self.on_change = on_change
        self.rng = host.kernel.rng(f"iphttps:{host.name}")
        self.status = IpHttpsStatus()
        self.conn: Any = None
        self.interface: TunnelInterface | None = None
        self.attempts: list[tuple[float, float, int, str]] = []
        self._ra = None
        self._lost = None
        self.process = None
        self.failed_status = STATUS_FAILED
        self.suites = DEFAULT_SUITES   # the client profile's offer to a DA server (F2)
        self.tcp_rtt: float | None = None   # the last SYN's round trip (F1.6's delay)

    def _set(self, state: str, status: str | None = None, error: int | None = None,
             reason: str | None = None) -> None:
        st = self.status
        st.state = state
        if status is not None:
            st.interface_status = status
        if error is not None:
            st.last_error = error
        if reason is not None:
            st.reason = reason
        st.history.append((self.env.now, st.snapshot()))
        self.kernel.log(self.host.name, "iphttps-state", state=state,
                        status=st.interface_status, error=f"0x{st.last_error:x}")
        if self.on_change is not None:
            self.on_change(st)

    # -- one connection attempt --------------------------------------------------------
    def connect_once(self):
        """One attempt; returns True when the tunnel carries IPv6, else records the error."""
        start = self.env.now
        self._set("Enabled", STATUS_CONNECTING)
        try:
            conn = yield from self._open()
            self.conn = conn
            yield from client_handshake(conn, self.server_name,
                                        lambda chain: self.verify(chain, self.server_name),
                                        self.rng, suites=self.suites)
            post = HttpRequest("POST", self.path, {
                "Host": self.server_name if self.port == 443 else
                f"{self.server_name}:{self.port}",
                "Content-Length": str(CONTENT_LENGTH),
                "Content-Type": "application/octet-stream"})
            conn.send(post, post.size)
            resp = yield conn.recv(RESPONSE_TIMEOUT)
            if not isinstance(resp, HttpResponse) or resp.status != 200:
                status = getattr(resp, "status", 0)
                raise IpHttpsFailure(HTTP_E_STATUS_BASE + status if status else 0x274C,
                                     f"the server answered the POST with {status or 'nothing'}")
            self._set("Established", STATUS_CONNECTING)
            conn.on_message = self._from_server
            self._lost = self.env.event()
            conn.on_close = self._closed
            prefix = yield from self._router_discovery()
            address = IPv6Address(int(prefix.network_address) | self.rng.getrandbits(64))
            self._bring_up(address)
        except IpHttpsFailure as exc:
            return self._failed(start, exc.code, exc.reason, status=exc.status)
        except TlsError as exc:
            if exc.code == CERT_E_CN_NO_MATCH:
                return self._failed(
                    start, ERROR_NO_MORE_ITEMS, f"no usable certificate found: no name of the "
                    f"certificate matches the URL's {self.server_name} (the chain engine says "
                    f"0x800b010f CERT_E_CN_NO_MATCH){presented(exc.detail)}", exc.detail,
                    STATUS_NO_CERTIFICATE)
            return self._failed(start, exc.code, f"TLS: {exc}{presented(exc.detail)}",
                                exc.detail)
        except Exception as exc:
            code = getattr(exc, "code", None)
            if code is None:
                raise
            return self._failed(start, code, str(exc))
        self.attempts.append((start, self.env.now, 0, "connected"))
        self._set("LinkUp", STATUS_ACTIVE, error=0, reason="")
        return True

    def _open(self):
        proxy, route = self.proxy, None
        if self.find_proxy is not None:
            route = yield from self.find_proxy(self.host, self.url)
            proxy = route.server
        if proxy is None:
            addresses = yield from self.resolve(self.host, self.server_name)
            sent = self.env.now
            conn = yield from self.connect(self.host, addresses[0], self.port)
            self.tcp_rtt = self.env.now - sent
            return conn
        addr, port = proxy
        label = getattr(route, "label", None) or f"{addr}:{port}"
        if isinstance(addr, str):   # a proxy by name: the laptop's own DNS resolves it
            try:
                addr = (yield from self.resolve(self.host, addr))[0]
            except SocketError as exc:
                raise IpHttpsFailure(exc.code, f"the proxy {label} does not resolve "
                                     f"({exc.hex} from the laptop's DNS)") from None
        sent = self.env.now
        conn = yield from self.connect(self.host, addr, port)
        self.tcp_rtt = self.env.now - sent
        target = f"{self.server_name}:{self.port}"
        req = HttpRequest("CONNECT", target, {"Host": target})
        conn.send(req, req.size)
        resp = yield conn.recv(RESPONSE_TIMEOUT)
        if not isinstance(resp, HttpResponse):
            raise IpHttpsFailure(0x274C, "the proxy did not answer CONNECT")
        if resp.status != 200:
            conn.close()
            raise IpHttpsFailure(CONNECT_ERRORS.get(resp.status,
                                                    HTTP_E_STATUS_BASE + resp.status),
                                 f"the proxy{' ' + label if route else ''} answered CONNECT "
                                 f"with {resp.status} {resp.reason}")
        if route is not None and route.cancel is not None:
            conn.close()
            code, reason = route.cancel
            raise IpHttpsFailure(code, reason, STATUS_CONNECTING)
        return conn

    def _router_discovery(self):
        for _ in range(RS_TRIES):
            self._ra = self.env.event()
            rs = RouterSolicitation()
            self.conn.send(Packet(LINK_LOCAL_CLIENT, ALL_ROUTERS, ICMPV6,
                                  size=IPV6_HEADER + rs.size, payload=rs), IPV6_HEADER + rs.size)
            result = yield self._ra | self.env.timeout(RS_TIMEOUT)
            if self._ra in result:
                return result[self._ra]
        raise IpHttpsFailure(0x274C, "no router advertisement inside the IP-HTTPS tunnel")

    def _from_server(self, msg: Any) -> None:
        if not isinstance(msg, Packet):
            return
        if isinstance(msg.payload, RouterAdvertisement):
            if self._ra is not None and not self._ra.triggered:
                self._ra.succeed(msg.payload.prefix)
            return
        if self.interface is not None:
            self.interface.receive_inner(msg)

    def _closed(self, conn: Any = None, *_: Any) -> None:
        if self._lost is not None and not self._lost.triggered:
            # the socket's own error: reset by the server, or its retransmissions gave up
            self._lost.succeed(getattr(conn, "error", None))

    def _bring_up(self, address: IPv6Address) -> None:
        if self.interface is None:
            self.interface = self.host.add_interface(
                None, name="IPHTTPSInterface", iface_class=TunnelInterface,
                encapsulate=self._send_inner)
        for old in list(self.interface.addresses):
            self.host.remove_address(self.interface, old)
        self.host.add_address(self.interface, f"{address}/128")
        self.status.address = address

    def _send_inner(self, inner: Packet) -> None:
        if self.conn is None or self.status.state != "LinkUp":
            self.kernel.drop(self.host.name, inner, "IP-HTTPS interface is not up")
            return
        self.conn.send(inner, inner.size)

    def _failed(self, start: float, code: int, reason: str, detail: Any = None,
                status: str | None = None) -> bool:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self.attempts.append((start, self.env.now, code, reason))
        self.last_detail = detail
        self._set("LinkDown", status or self.failed_status, error=code, reason=reason)
        return False

    # -- the interface's life ----------------------------------------------------------
    def run(self):
        """Connect, and reconnect on the MS-IPHTTPS back-off after failures or drops."""
        first_failure: float | None = None
        while True:
            ok = yield from self.connect_once()
            if ok:
                first_failure = None
                why = yield self._lost
                self.conn = None
                if why == WSAECONNABORTED:   # Winsock's code for a data time-out
                    self._set("LinkDown", self.failed_status, error=WSAECONNABORTED,
                              reason="the IP-HTTPS connection was aborted: the server "
                                     "stopped answering and TCP's retransmissions gave up")
                else:
                    self._set("LinkDown", self.failed_status, error=WSAECONNRESET,
                              reason="the IP-HTTPS connection was reset")
            now = self.env.now
            if first_failure is None:
                first_failure = now
            yield self.env.timeout(backoff_wait(first_failure, now))

    def shutdown(self, reason: str | None = None) -> None:
        """Stop using the interface (a network change, or offline while Teredo works): close
        the connection, drop the address; the owner interrupts the process that runs
        ``run``."""
        if self.conn is not None:
            self.conn.on_close = None
            self.conn.close()
            self.conn = None
        if self.interface is not None:
            for addr in list(self.interface.addresses):
                self.host.remove_address(self.interface, addr)
        self._set("Disabled", STATUS_DEACTIVATED, reason=reason)


class IpHttpsServer:
    """The DirectAccess server's IP-HTTPS listener and the clients' /64 behind it.
    ``terminator``: what terminates TLS in front of it, an SSL-offloading load balancer or ADC
    (None: the server itself, which takes any suite and prefers NULL encryption, F2). The
    device stands at the server's address; the leg behind it is not modelled."""

    def __init__(self, host: Host, listen: Callable, chain: list[Any], url: str,
                 prefix: IPv6Network, terminator: TlsTerminator | None = None) -> None:
        self.host = host
        self.kernel = host.kernel
        self.url = url
        parts = urlsplit(url)
        self.path = parts.path or "/"
        self.port = parts.port or 443
        self.prefix = prefix
        self.certificate = Certificate(chain)   # encoded once, sent to every client
        self.rng = host.kernel.rng(f"iphttps-server:{host.name}")
        self.clients: dict[IPv6Address, Any] = {}
        self._conns: dict[int, Any] = {}   # the same, by addr_key: read for every packet
        self.interface = host.add_interface(None, name="IPHTTPSInterface",
                                            iface_class=TunnelInterface,
                                            encapsulate=self._to_client)
        host.routes.add(prefix, self.interface)
        self.connections = 0
        self.terminator = terminator
        # other URLs the same listener serves (the KDC proxy at /KdcProxy/, A6): path -> a
        # function from the request to the response
        self.routes: dict[str, Callable[[HttpRequest], HttpResponse]] = {}
        listen(host, self.port, self._accept)

    def _accept(self, conn: Any) -> None:
        self.connections += 1
        state = {"posted": False}

        def on_data(msg: Any) -> None:
            if not state["posted"]:
                if isinstance(msg, HttpRequest) and msg.method == "POST" \
                        and msg.target.lower() == self.path.lower():
                    state["posted"] = True
                    resp = HttpResponse(200, "OK", {"Server": "Microsoft-HTTPAPI/2.0",
                                                    "Content-Length": str(CONTENT_LENGTH)})
                elif isinstance(msg, HttpRequest) and msg.target.lower() in self.routes:
                    resp = self.routes[msg.target.lower()](msg)
                else:
                    resp = HttpResponse(404, "Not Found", {"Server": "Microsoft-HTTPAPI/2.0"})
                conn.send(resp, resp.size)
                return
            if isinstance(msg, Packet):
                self._from_client(conn, msg)

        session = TlsServerSession(conn, self.certificate, self.rng, on_data,
                                   policy=self.terminator)
        conn.on_message = session.receive

    def _from_client(self, conn: Any, pkt: Packet) -> None:
        if isinstance(pkt.payload, RouterSolicitation):
            ra = RouterAdvertisement(self.prefix, IPHTTPS_MTU)
            reply = Packet(IPv6Address("fe80::2"), pkt.src, ICMPV6,
                           size=IPV6_HEADER + ra.size, payload=ra)
            conn.send(reply, reply.size)
            return
        if self._conns.get(pkt.skey) is not conn and pkt.src in self.prefix:
            self.clients[pkt.src] = conn
            self._conns[pkt.skey] = conn
        self.interface.receive_inner(pkt)

    def _to_client(self, pkt: Packet) -> None:
        conn = self._conns.get(pkt.dkey)
        if conn is None:
            self.kernel.drop(self.host.name, pkt, "IP-HTTPS: no client with this address")
            return
        conn.send(pkt, pkt.size)
