"""A hotel's captive portal as a gateway stage: until the guest logs in, web traffic is
answered by the portal and everything else is dropped (S3; "Teredo at the Library").

Before login:
- DNS (UDP 53) passes both ways, so names (the portal's own among them) resolve;
- TCP 80 is answered by the portal itself, spoofing the server the client asked for: a real
  TCP endpoint (the portal's hidden web server, ``sim.net.tcp``) accepts the connection and
  answers any request with "302 Found" to the login page, then closes;
- TCP 443, by ``https``: ``drop`` (the default: the client's connect times out, 0x274c),
  ``reset`` (the portal refuses with a RST: 0x274d) or ``intercept`` (the portal accepts and
  runs TLS with its own certificate chain, ``certificate``, then redirects; the client's
  chain check fails on that chain, as S3 describes);
- everything else is dropped, inbound too.
After ``login()`` every packet passes; connections the portal had accepted are simply
abandoned (their next segments reach the real server, which resets them). ``login(address)``
lets one guest through (a portal authorises each guest's device), the others still wait.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BeforeValidator, model_validator

from sim.config import Strict, duration_range
from sim.net.fastpath import addr_key
from sim.net.host import Host
from sim.net.http import HttpRequest, HttpResponse
from sim.net.packet import TCP, UDP, Packet
from sim.net.tcp import TcpConnection, tcp_stack
from sim.net.tls import Certificate, TlsServerSession

if TYPE_CHECKING:
    from sim.net.kernel import Kernel
    from sim.net.router import Gateway

HTTPS_MODES = ("drop", "reset", "intercept")


class PortalConfig(Strict):
    """A network's ``captive_portal:``. ``login_at``: when the guests log in, a time (the
    whole site at once) or a range from which each guest draws its own delay after it joins
    the site (they do not all log in at once); None: only a ``portal_login`` event lets them
    through. ``https``: TCP 443 before login is dropped, reset, or intercepted by the
    portal's own TLS server presenting ``certificate`` (a name under ``pki.certificates``),
    so the client's chain check fails on the portal's chain."""

    login_at: Annotated[float | list[float],
                        BeforeValidator(duration_range("login_at"))] | None = None
    https: Literal["drop", "reset", "intercept"] = "drop"
    certificate: str | None = None

    @model_validator(mode="after")
    def _certificate(self) -> PortalConfig:
        if self.https == "intercept" and not self.certificate:
            raise ValueError("https: intercept needs certificate: the portal's certificate, "
                             "a name under pki.certificates")
        return self


class PortalWebServer(Host):
    """The portal's web server: not on any link; it answers for whatever address the client
    asked for and sends its segments straight out of the gateway's inside."""

    def __init__(self, kernel: Kernel, name: str, gateway: Gateway) -> None:
        super().__init__(kernel, name)
        self.gateway = gateway

    def send(self, pkt: Packet) -> bool:
        return self.gateway.send(pkt)


class CaptivePortal:
    """The stage. ``login_url`` is where the 302 points; ``certificate`` is the chain
    presented on 443 when ``https`` is ``intercept``."""

    def __init__(self, kernel: Kernel, name: str, https: str = "drop",
                 login_url: str = "http://portal.hotel.example/login",
                 certificate: list[Any] | None = None) -> None:
        if https not in HTTPS_MODES:
            raise ValueError(f"captive portal https {https!r}: expected one of "
                             f"{', '.join(HTTPS_MODES)}")
        if https == "intercept" and not certificate:
            raise ValueError("captive portal https intercept needs the portal's certificate "
                             "chain")
        self.kernel = kernel
        self.name = name
        self.https = https
        self.login_url = login_url
        self.certificate = certificate
        self.logged_in = False   # the whole site (everyone passes)
        self.guests: set[int] = set()   # guests who logged in, by inside address (addr_key)
        # each guest logs in this long after it arrives (a scenario's login_at: [low, high])
        self.login_range: list[float] | None = None
        self.gateway: Gateway | None = None
        self.web: PortalWebServer | None = None
        self.redirects = 0

    def attach(self, gateway: Gateway) -> None:
        """Called by ``Gateway.add_stage``: the portal's web server answers through it."""
        self.gateway = gateway
        self.web = PortalWebServer(self.kernel, f"{self.name}-web", gateway)
        stack = tcp_stack(self.web)
        stack.listen(80, self._serve_http)
        if self.https == "intercept":
            message = Certificate(self.certificate or [])
            rng = self.kernel.rng(f"portal:{self.name}:tls")

            def serve_https(conn: TcpConnection) -> None:
                conn.on_message = TlsServerSession(
                    conn, message, rng, lambda msg: self._redirect(conn, msg)).receive

            stack.listen(443, serve_https)

    def login(self, address: Any = None) -> None:
        """A guest accepted the terms: from now on its traffic passes (``address``: its
        device's inside address), or everyone's (no address: the whole site)."""
        if address is not None:
            self.guests.add(addr_key(address))
            self.kernel.log(self.name, "portal-login", guest=str(address))
        elif not self.logged_in:
            self.logged_in = True
            self.kernel.log(self.name, "portal-login")

    def schedule_login(self, at: float, address: Any = None) -> None:
        """Log in at simulated time ``at`` (absolute): one guest, or the whole site."""
        env = self.kernel.env
        env.timeout(max(at - env.now, 0.0)).callbacks.append(lambda _e: self.login(address))

    # -- the stage -----------------------------------------------------------------------
    def outbound(self, pkt: Packet) -> Packet | None:
        if self.logged_in or pkt.skey in self.guests:
            return pkt
        proto = pkt.proto
        if proto == UDP and pkt.dport == 53:
            return pkt
        if proto == TCP:
            dport = pkt.dport
            if dport == 80 or (dport == 443 and self.https != "drop"):
                # intercept: the web server listens on 443; reset: it does not, so its
                # stack answers the SYN with a RST (RFC 9293 §3.10.7.1)
                self.web.tcp.receive(pkt)
                return None
        self.kernel.drop(self.name, pkt, "captive portal: not logged in yet")
        return None

    def inbound(self, pkt: Packet) -> Packet | None:
        if self.logged_in or pkt.dkey in self.guests or (pkt.proto == UDP and
                                                            pkt.sport == 53):
            return pkt
        self.kernel.drop(self.name, pkt, "captive portal: not logged in yet")
        return None

    # -- the portal's web server -----------------------------------------------------------
    def _serve_http(self, conn: TcpConnection) -> None:
        conn.on_message = lambda msg: self._redirect(conn, msg)

    def _redirect(self, conn: TcpConnection, msg: Any) -> None:
        if not isinstance(msg, HttpRequest):
            return
        self.redirects += 1
        resp = HttpResponse(302, "Found", {"Location": self.login_url, "Content-Length": "0",
                                           "Connection": "close"})
        conn.send(resp, resp.size)
        conn.close()
        self.kernel.log(self.name, "portal-redirect", client=str(conn.remote),
                        target=msg.target)
