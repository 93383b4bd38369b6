"""A client's DirectAccess over IPsec, over time: which tunnels it brings up through the
transition interface that carries its traffic, when (before logon, after it), with which
credentials, what it reaches of the intranet, and the status Get-DAConnectionStatus shows.

Certificate deployment (A1, A3): the infrastructure tunnel (computer certificate, then NTLMv2)
as soon as a transition interface works; after logon a user ticket from a domain controller
over that tunnel, then the intranet tunnel (computer certificate, then user Kerberos). The
simplified deployment (A6): one tunnel authenticated by Kerberos tickets got through the KDC
proxy. Windows Firewall off: no connection security rules, so no tunnel at all (A4).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address, IPv6Network
from typing import TYPE_CHECKING, Any

from sim.directaccess.ipsec import codes
from sim.directaccess.ipsec.initiator import Initiator
from sim.directaccess.ipsec.kerberos import KERBEROS_PORT, KerberosRequest
from sim.directaccess.ipsec.opens import OpenMethods
from sim.directaccess.ipsec.probes import ProbeMethods
from sim.directaccess.ipsec.responder import ENDPOINT
from sim.directaccess.ipsec.wire import IsakmpMessage
from sim.net.fastpath import call_later

if TYPE_CHECKING:
    from sim.directaccess.client import DirectAccessClient

KDC_TIMEOUT, KDC_TRIES = 3.0, 3     # Kerberos over UDP: 3 s per try (KDC retry defaults)
TICKET_MARGIN = 300.0               # a ticket about to expire is renewed first (assumption)

# Get-DAConnectionStatus statuses (A14, A15; ConnectedRemotely/Locally, Connecting and the
# firewall's are UNCONFIRMED names, see docs/model.md)
CONNECTED = "ConnectedRemotely"
LOCAL = "ConnectedLocally"
CONNECTING = "Connecting"
NO_SERVER = "CouldNotContactDirectAccessServer"
AUTH_FAILURE = "RemoteNetworkAuthenticationFailure"
FIREWALL_OFF = "WindowsFirewallDisabled"


@dataclass(frozen=True)
class Deployment:
    """What the DirectAccess Group Policy and the intranet give every client."""

    single_tunnel: bool
    infrastructure: frozenset[str]                       # host names of the first tunnel
    # (name, IPv6 address or None, services, DNS name)
    hosts: tuple[tuple[str, IPv6Address | None, tuple[str, ...], str], ...]
    dc: IPv6Address
    qm_lifetime: float
    qm_lifetime_kb: int
    mm_lifetime: float = 480 * 60.0
    # what the connection security rules send into the tunnels: the intranet's prefixes
    # and the NAT64's
    prefixes: tuple[IPv6Network, ...] = ()
    nat64: IPv6Network | None = None
    suffix: str = ""   # the primary DNS suffix a single-label name gets (B2)


@dataclass
class Credentials:
    """One computer's: its name, its computer certificate chain (None: none enrolled), its
    Windows Firewall, its clock, whether it can use a KDC proxy, when its user logs on."""

    computer: str
    chain: list | None
    cert_valid: Any                  # fn() -> bool: within the certificate's validity now
    firewall_on: bool = True
    clock_skew: float = 0.0
    kdc_proxy: Any = None            # generator fn(host, KerberosRequest) or None
    logon_at: float | None = 0.0


class IpsecSession(ProbeMethods, OpenMethods):
    """The IPsec layer of ``da`` (a DirectAccessClient)."""

    _ticket_problem = ""
    _told: tuple | None = None
    reason: str | None = None   # why the last failure happened, for the result and explain
    server_log: Any = staticmethod(lambda _name: None)   # the server's reason, if it told one

    def __init__(self, da: DirectAccessClient, deployment: Deployment, creds: Credentials,
                 probe_interval: float, probe_timeout: float,
                 opens: tuple[str, ...] = ()) -> None:
        self.da = da
        self.opens = opens
        self.env = da.env
        self.host = da.host
        self.deployment = deployment
        self.creds = creds
        self.ike = Initiator(self.host, self._inner)
        self.tunnels: dict[str, str] = dict.fromkeys(self.tunnel_names(), "down")
        self.status, self.error = NO_SERVER, None
        self.history: list[tuple[float, str, int | None, tuple]] = []
        self.resources = {host[0]: False for host in deployment.hosts}
        self.resource_history: list[tuple[float, str, bool]] = []
        # (t, add | del | rekey, tunnel, local, remote, auth1, auth2, SPI): netsh's SAs
        self.sa_log: list[tuple] = []
        self.logged_on = creds.logon_at == 0.0
        self.generation = 0
        self.cookies: dict[str, int] = {}
        self._tickets: dict[str, Any] = {}   # the Kerberos ticket cache (klist)
        self._told_v4: set[str] = set()        # IPv4-only hosts already explained
        self._echoed: set = set()
        self.mm_since: dict[str, float] = {}  # when each tunnel's main mode SA was made
        self.iface: Any = None
        self.endpoint: Any = ENDPOINT
        self._pending: dict[tuple, Any] = {}
        self._seq = 0
        self.probe_interval, self.probe_timeout = probe_interval, probe_timeout
        self._probe_callback = self._probe_answer   # one bound method, compared by identity
        self._record()
        if creds.logon_at:
            call_later(self.env, creds.logon_at, lambda _t: self.logon())

    def tunnel_names(self) -> tuple[str, ...]:
        return ("infrastructure",) if self.deployment.single_tunnel else \
            ("infrastructure", "intranet")

    # -- what the result and netsh read ---------------------------------------------------
    def _record(self) -> None:
        snap = (self.status, self.error, tuple(self.tunnels.items()))
        history, now = self.history, self.env.now
        if history and history[-1][0] == now:   # one entry per instant: the last word
            history.pop()
        if not history or history[-1][1:] != snap:
            history.append((now, *snap))

    def _set(self, status: str, error: codes.IkeCode | None = None) -> None:
        self.status = status
        self.error = None if error is None else error.code
        if error is None:
            self.reason = None
        self._record()

    def _tunnel(self, name: str, state: str) -> None:
        before = self.tunnels.get(name)
        self.tunnels[name] = state
        if before == "up" and state != "up":
            self.sa_log.append((self.env.now, "del", name))
            self.ike.forget(name)
            self.da.note("ipsec: ", name, " tunnel ", state)
        elif state == "up" and before != "up":
            self.mm_since[name] = self.env.now
            self._log_sa("add", name)
        self._record()

    def _log_sa(self, action: str, name: str) -> None:
        auth1, auth2 = self.auth_methods(name)
        out = self.ike.outbound.get(name)
        self.sa_log.append((self.env.now, action, name, self._source(), self.endpoint,
                            auth1, auth2, out[0] if out else 0))

    def auth_methods(self, tunnel: str) -> tuple[str, str]:
        """netsh's Auth1 / Auth2 of the tunnel's main mode SA (A4, A6)."""
        if self.deployment.single_tunnel:
            return "ComputerKerb", "UserKerb" if self.logged_on else "None"
        return "ComputerCert", "UserNTLM" if tunnel == "infrastructure" else "UserKerb"

    def _fail(self, tunnel: str, error: codes.IkeCode, why: str) -> None:
        """A tunnel failed; told once per tunnel and code (the retries are not news)."""
        self._tunnel(tunnel, "failed")
        log = self.server_log(self.creds.computer) if error is not codes.TIMED_OUT else None
        self.reason = f"{tunnel} tunnel: {why}" + (f"; the server's log: {log}" if log else "")
        if self._told != (tunnel, error.code):
            self._told = (tunnel, error.code)
            self.da.note("ipsec: ", tunnel, " tunnel failed: ", str(error.code), " ",
                         error.name, " (", why, ")",
                         *(("; the server's log: ", log) if log else ()))
        self._set(NO_SERVER if error is codes.TIMED_OUT else AUTH_FAILURE, error)
        self.start_probes()   # the assistant's next round tries again

    # -- the transition below ----------------------------------------------------------
    def transport_changed(self, method: str | None, iface: Any) -> None:
        """The transition interface that carries DirectAccess traffic changed: every SA is
        gone (the client's address changed), and the tunnels start again over the new one."""
        self.generation += 1
        self.stop_probes()
        for name in self.tunnels:
            if self.tunnels[name] != "down":
                self._tunnel(name, "down")
        self.cookies.clear()
        self.iface, self._src = iface, None
        self._echoed.clear()   # Teredo's checks of its destinations start over (C4)
        self.endpoint = self.da.policy.ipv6[0] if method == "native" else ENDPOINT
        if method is None:
            self._set(NO_SERVER)
            self._resources_changed()
            return
        self.da.spawn(self.bring_up(self.generation))

    def located_inside(self) -> None:
        """The NLS answered: the client is on the corporate network and uses no tunnel
        (B1); its intranet is reached directly, which the model does not check."""
        self.generation += 1
        self.stop_probes()
        self._set(LOCAL)

    def reach_dc(self):
        """A generator: whether a domain controller answers (SMB) through the
        infrastructure tunnel — what Group Policy needs outside."""
        if self.tunnels.get("infrastructure") != "up":
            return False
        from sim.directaccess.ipsec.config import SERVICE_PORTS

        waiter = self.env.event()
        self.check(self.deployment.dc, SERVICE_PORTS["smb"], "infrastructure", waiter.succeed)
        return (yield waiter)

    def bring_up(self, generation: int):
        """The tunnels, in order (A1, A3, A6)."""
        if not self.creds.firewall_on:
            self.da.note("ipsec: Windows Firewall is off: no connection security rules, so no "
                         "IPsec tunnel (DirectAccess needs the firewall on)")
            self._set(FIREWALL_OFF)
            return
        if self.error is None:   # a retry after a failure keeps showing it until it works
            self._set(CONNECTING)
        first = yield from self._computer_credentials()
        if generation != self.generation:
            return
        if isinstance(first, codes.IkeCode):
            self._fail("infrastructure", first, self._why_no_credentials(first))
            return
        second = ("ntlmv2", self.creds.computer) if not self.deployment.single_tunnel else None
        error, cookie = yield from self.ike.negotiate(self.iface, self.endpoint,
                                                      "infrastructure", first, second)
        if generation != self.generation:
            return
        if error is not None:
            self._fail("infrastructure", error, "the server did not answer IKE"
                       if error is codes.TIMED_OUT else
                       "the server refused the computer's credentials")
            return
        self.cookies["infrastructure"] = cookie
        self._tunnel("infrastructure", "up")
        self.da.note("ipsec: infrastructure tunnel up (", "ComputerKerb" if
                     self.deployment.single_tunnel else self._auth_text("infrastructure"), ")")
        self._rekey_later("infrastructure", generation)
        if self.logged_on:
            yield from self.user_tunnel(generation)
        self._after_change()

    def _computer_credentials(self):
        """Main mode's first authentication: the computer certificate, or a computer ticket
        through the KDC proxy."""
        if self.deployment.single_tunnel:
            ticket = yield from self._ticket("computer", via_proxy=True)
            return ticket if isinstance(ticket, codes.IkeCode) else ("kerberos", ticket)
        if self.creds.chain is None or not self.creds.cert_valid():
            yield from self.ike.exchange(self.iface, self.endpoint, IsakmpMessage(
                "main", 1, self.ike.cookie(), "infrastructure"))
            return codes.NO_CERT
        return ("certificate", self.creds.computer, self.creds.chain)

    def _why_no_credentials(self, error: codes.IkeCode) -> str:
        if error is not codes.NO_CERT:
            return "no Kerberos ticket: " + self._ticket_problem
        if self.creds.chain is None:
            return "no computer certificate is enrolled in the computer's Personal store"
        leaf = self.creds.chain[0]
        return (f"the computer certificate is valid from {leaf.not_valid_before_utc:%Y-%m-%d} "
                f"to {leaf.not_valid_after_utc:%Y-%m-%d}: not now")

    def _auth_text(self, tunnel: str) -> str:
        if self.deployment.single_tunnel:
            return "ComputerKerb" + (" + UserKerb" if self.logged_on else "")
        return "computer certificate + " + ("NTLMv2" if tunnel == "infrastructure"
                                            else "user Kerberos V5")

    # -- the user ------------------------------------------------------------------------
    def logon(self) -> None:
        """The user logs on: the intranet tunnel (or the user's authentication) follows."""
        if self.logged_on:
            return
        self.logged_on = True
        self.da.note("the user logs on")
        if self.tunnels.get("infrastructure") == "up":
            self.da.spawn(self._user_then_check(self.generation))

    def _user_then_check(self, generation: int):
        yield from self.user_tunnel(generation)
        self._after_change()

    def user_tunnel(self, generation: int):
        """A user ticket (from a DC over the infrastructure tunnel, or through the KDC
        proxy), then the intranet tunnel, or extended mode on the single tunnel."""
        single = self.deployment.single_tunnel
        ticket = yield from self._ticket("user", via_proxy=single)
        if generation != self.generation:
            return
        tunnel = "infrastructure" if single else "intranet"
        if isinstance(ticket, codes.IkeCode):
            if single:
                self.da.note("ipsec: user authentication failed: ", self._ticket_problem)
                self._set(AUTH_FAILURE, ticket)
            else:
                self._fail(tunnel, ticket, "no user Kerberos ticket: " + self._ticket_problem)
            return
        if single:
            error = yield from self.ike.extended(self.iface, self.endpoint, tunnel,
                                                 self.cookies[tunnel], ("kerberos", ticket))
        else:
            error, cookie = yield from self.ike.negotiate(
                self.iface, self.endpoint, tunnel,
                ("certificate", self.creds.computer, self.creds.chain), ("kerberos", ticket))
        if generation != self.generation:
            return
        if error is not None:
            self._fail(tunnel, error, "the server refused the user's credentials")
            return
        if single:
            self._log_sa("update", tunnel)   # Auth2 is now the user's Kerberos
        else:
            self.cookies[tunnel] = cookie
            self._tunnel(tunnel, "up")
            self._rekey_later(tunnel, generation)
        self.da.note("ipsec: the user authenticated (UserKerb): every resource" if single else
                     f"ipsec: {tunnel} tunnel up ({self._auth_text(tunnel)})")

    def _ticket(self, kind: str, via_proxy: bool):
        """The computer's or the user's ticket: the cached one while it is valid, else an AS
        exchange (a Ticket, or the IKE code). Through the KDC proxy the computer asks for
        the user's ticket too when a user is logged on: one HTTPS connection for both."""
        cached = self._tickets.get(kind)
        if cached is not None and cached.valid_until > self.env.now + TICKET_MARGIN:
            return cached
        kinds = [kind]
        if via_proxy and kind == "computer" and self.logged_on:
            kinds.append("user")
        reqs = [KerberosRequest(self._principal(k), k, self.env.now + self.creds.clock_skew)
                for k in kinds]
        if via_proxy:
            if self.creds.kdc_proxy is None:
                self._ticket_problem = ("this Windows release has no KDC proxy client "
                                        "(Windows 7 cannot use the simplified deployment)")
                return codes.KERBEROS_ERROR
            replies = yield from self.creds.kdc_proxy(self.host, reqs)
        else:
            replies = [(yield from self._kdc_over_tunnel(reqs[0]))]
        for k, reply in zip(kinds, replies, strict=True):
            if reply is not None and reply.ticket is not None:
                self._tickets[k] = reply.ticket
        reply = replies[0]
        if reply is None:
            self._ticket_problem = "no answer from a domain controller"
            return codes.KERBEROS_ERROR
        if reply.ticket is None:
            self._ticket_problem = (f"the KDC answered KRB_AP_ERR_SKEW: the clock is "
                                    f"{self.creds.clock_skew:+g} s off, more than 5 minutes")
            return codes.KERBEROS_ERROR
        return reply.ticket

    def _principal(self, kind: str) -> str:
        return self.creds.computer if kind == "computer" else \
            f"CORP\\{self.creds.computer}-user"

    def _kdc_over_tunnel(self, req: KerberosRequest):
        from sim.net.packet import IPV6_HEADER, UDP, UDP_HEADER, Packet

        for _ in range(KDC_TRIES):
            port = self._next()
            inner = Packet(self._source(), self.deployment.dc, UDP, port, KERBEROS_PORT,
                           IPV6_HEADER + UDP_HEADER + 260, payload=req)
            reply = yield from self.ask(("udp", port), inner, "infrastructure", KDC_TIMEOUT)
            if reply is not None:
                return reply.payload
        return None

    # -- rekeys ----------------------------------------------------------------------------
    def _rekey_later(self, tunnel: str, generation: int) -> None:
        """Quick mode again when the SA's lifetime ends (A12: 60 min)."""
        def due(_t: Any) -> None:
            if generation == self.generation and self.tunnels.get(tunnel) == "up":
                self.da.spawn(self._rekey(tunnel, generation))
        call_later(self.env, self.deployment.qm_lifetime, due)

    def _rekey(self, tunnel: str, generation: int):
        """Quick mode on the main mode SA (the old SA carries traffic meanwhile); once the
        main mode SA is past its lifetime (480 min), every tunnel is negotiated again."""
        if self.env.now - self.mm_since.get(tunnel, self.env.now) >= self.deployment.mm_lifetime:
            self._renegotiate(self._probe_round)
            return
        error, _ = yield from self.ike.negotiate(self.iface, self.endpoint, tunnel, None,
                                                 cookie=self.cookies.get(tunnel))
        if generation != self.generation:
            return
        if error is not None:
            self._fail(tunnel, error, "quick mode rekey")
            self._resources_changed()
            return
        self._log_sa("rekey", tunnel)
        self._rekey_later(tunnel, generation)
