"""The DirectAccess client: inside/outside detection, then the transition methods in Windows'
order (F1.1–F1.7): native IPv6, 6to4, then Teredo and IP-HTTPS qualifying in parallel.

Nothing here looks at what kind of network the client is on. Each method is tried by sending
packets; whether they come back depends on the NATs, firewalls and proxies on the path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import TYPE_CHECKING, Any

import simpy

from sim.directaccess.profiles import ClientProfile
from sim.net.internet import PRIVATE_V4, SHARED_V4, SPECIAL_V4
from sim.net.kernel import call_later
from sim.transition.sixtofour import SIXTOFOUR_PREFIX, SixToFourTunnel
from sim.transition.teredo import REFRESH_INTERVAL, TEREDO_PREFIX, TeredoClient, TeredoConfig

if TYPE_CHECKING:
    from sim.directaccess.server import ServerPolicy
    from sim.net.host import Host

METHOD_ORDER = ("native", "6to4", "teredo", "iphttps")
ULA = IPv6Network("fc00::/7")
# Force tunnelling sends everything through the tunnel, and only IP-HTTPS carries it (F1.5).
FORCE_TUNNEL = "force tunnelling uses IP-HTTPS only"


@dataclass(slots=True)
class Attempt:
    """One try of one method: when, how it ended, why, and the Windows error if any."""

    method: str
    start_s: float
    end_s: float | None = None
    # connected | failed | not_eligible | running | standby | interrupted (by a restart)
    result: str = "running"
    reason: str = ""
    error: str | None = None


@dataclass
class ClientState:
    """Everything a result, a netsh rendering or a narrative needs about one client."""

    location: str | None = None
    method: str | None = None
    connected_at: float | None = None
    last_error: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    method_history: list[tuple[float, str | None]] = field(default_factory=list)
    events: list[tuple[float, tuple[str, ...]]] = field(default_factory=list)
    probes_ok: int = 0          # connectivity-assistant checks answered through the tunnel
    probes_failed: int = 0

    def timeline(self) -> list[tuple[float, str]]:
        """The recorded lines, oldest first."""
        return [(t, "".join(parts)) for t, parts in self.events]


def looks_public(addr: IPv4Address, treats_100_64_as_public: bool) -> bool:
    """Windows' view of its own IPv4 address (F1.1, F1.4, F4.8): anything outside RFC 1918
    and the special ranges looks public — including a carrier's pseudo-public space."""
    if any(addr in n for n in PRIVATE_V4) or any(addr in n for n in SPECIAL_V4):
        return False
    return not (addr in SHARED_V4 and not treats_100_64_as_public)


def has_global_ipv6(host: Host) -> IPv6Address | None:
    """A native global IPv6 address of the host (not link-local, ULA, Teredo or 6to4)."""
    for iface in host.interfaces:
        if iface.link is None:
            continue  # tunnel pseudo-interfaces do not count
        for addr in iface.addresses:
            if addr.version == 6 and not (addr.is_link_local or addr in ULA
                                          or addr.is_loopback
                                          or addr in TEREDO_PREFIX
                                          or addr in SIXTOFOUR_PREFIX):
                return addr
    return None


def guarded(gen):
    """Run ``gen`` as a process that ends quietly when interrupted by a network change."""
    try:
        return (yield from gen)
    except simpy.Interrupt:
        return None


class DirectAccessClient:
    """One Windows DirectAccess client on ``host``."""

    def __init__(self, host: Host, policy: ServerPolicy, profile: ClientProfile,
                 nls_probe: Any, iphttps_factory: Any = None, managed_probe: Any = None,
                 teredo_type: str | None = None, sixtofour: str = "default",
                 iphttps: str = "default", probe_interval: float | None = None,
                 teredo_refresh: float | None = None) -> None:
        self.host = host
        self.kernel = host.kernel
        self.env = host.kernel.env
        self.policy = policy
        self.profile = profile
        self.nls_probe = nls_probe                  # generator fn(host) -> (inside, reason)
        self.iphttps_factory = iphttps_factory      # fn(client) -> IP-HTTPS machine
        self.managed_probe = managed_probe          # generator fn(host) -> bool
        self.managed = False
        self.teredo_type = teredo_type or profile.teredo
        self.sixtofour_setting = sixtofour
        self.iphttps_setting = iphttps if iphttps != "default" else profile.iphttps
        self.probe_interval = probe_interval        # connectivity assistant (DCA/NCA)
        # Group Policy "Set Teredo Refresh Rate" (ADMX-TCPIP); None: RFC 4380's 30 s
        self.teredo_refresh = teredo_refresh or REFRESH_INTERVAL
        self._probing = False
        self._probe_round = 0      # a restart starts a new round of connectivity checks
        self.state = ClientState()
        self.teredo: TeredoClient | None = None
        self.sixtofour: SixToFourTunnel | None = None
        self.iphttps: Any = None
        self.sixtofour_state = "disabled"
        self.sixtofour_history: list[tuple[float, str]] = []
        self.process = None
        self._procs: list = []
        self.connectivity_changed = self.env.event()   # fires on roaming and tunnel changes

    # -- bookkeeping -------------------------------------------------------------------
    def note(self, *parts: str) -> None:
        """Record a line of the client's timeline. The parts are joined when the timeline is
        read: they are strings the client holds anyway, and a fleet writes millions of
        lines that nobody reads."""
        self.state.events.append((self.env.now, parts))
        if self.kernel.trace.on:
            self.kernel.log(self.host.name, "da", text="".join(parts))

    def begin(self, method: str) -> Attempt:
        attempt = Attempt(method, self.env.now)
        self.state.attempts.append(attempt)
        return attempt

    def end(self, attempt: Attempt, result: str, reason: str, error: str | None = None) -> None:
        attempt.end_s = self.env.now
        attempt.result = result
        attempt.reason = reason
        attempt.error = error
        if error is not None:
            self.state.last_error = error
        self.note(attempt.method, ": ", result, ": ", reason)

    def skip(self, method: str, reason: str) -> None:
        attempt = self.begin(method)
        self.end(attempt, "not_eligible", reason)

    def _signal_change(self) -> None:
        fired, self.connectivity_changed = self.connectivity_changed, self.env.event()
        fired.succeed()

    def use(self, method: str | None) -> None:
        """Route DirectAccess traffic over ``method``'s interface (None: no connectivity)."""
        if method == self.state.method:
            return
        self._signal_change()
        self.state.method = method
        self.state.method_history.append((self.env.now, method))
        if method is not None and self.state.connected_at is None:
            self.state.connected_at = self.env.now
        if method is not None and self.probe_interval and not self._probing:
            self._start_probes()
        if method:
            self.note("DirectAccess traffic now uses ", method)
        else:
            self.note("DirectAccess has no usable connectivity")

    def set_sixtofour_state(self, state: str) -> None:
        self.sixtofour_state = state
        self.sixtofour_history.append((self.env.now, state))

    def _start_probes(self) -> None:
        """The connectivity assistant (DCA on Windows 7, NCA later): while DirectAccess has
        a method, ping the intranet through it every ``probe_interval`` seconds after the
        previous answer or time-out (DCA 1.5 polls every 30 s: Microsoft Edge Access blog,
        "DirectAccess Connectivity Assistant polling interval"). The echo crosses the tunnel
        and every device on its path, so a fleet's tunnels carry traffic, not only their
        set-up. Timer callbacks rather than a process; a restart ends the round by changing
        ``_probe_round``."""
        self._probing = True
        self._probe_round += 1
        self._next_probe(self._probe_round)

    def _next_probe(self, round_: int) -> None:
        call_later(self.env, self.probe_interval, lambda _t: self._probe(round_))

    def _probe(self, round_: int) -> None:
        if round_ != self._probe_round:
            return
        if self.state.method is None:
            self._probing = False
            return

        def answered(rtt: float | None) -> None:
            if round_ != self._probe_round:
                return
            if rtt is None:
                self.state.probes_failed += 1
            else:
                self.state.probes_ok += 1
            if self.state.method is None:
                self._probing = False
            else:
                self._next_probe(round_)

        self.host.echo(self.policy.intranet, self.profile.tunnel_probe_timeout, answered)

    # -- the run -----------------------------------------------------------------------
    def spawn(self, gen) -> Any:
        """Start a sub-process that a network change can stop."""
        proc = self.env.process(guarded(gen))
        self._procs.append(proc)
        return proc

    def start(self):
        self.process = self.spawn(self.run())
        return self.process

    def restart(self, reason: str, relocate: bool = True) -> None:
        """Stop every method and start over. A network change (roaming) also forgets the
        location: Windows re-runs NLS detection whenever an interface changes (F1.20). A
        restart of the IP Helper service (``relocate`` false), which runs 6to4, Teredo and
        IP-HTTPS, tries the methods again at once where the laptop is (KB 2980667's "restart
        the IP Helper service", F6.6): no back-off left to wait out. A laptop that has not
        started yet (``start_at``) starts later where it is then."""
        self.note(reason)
        if self.process is None:
            return
        self._stopping = True   # the methods' own "tunnel lost" callbacks stay quiet
        for proc in self._procs:
            if proc.is_alive:
                proc.interrupt(reason)
        self._procs = []
        self._probe_round += 1
        self._probing = False
        for attempt in self.state.attempts:
            if attempt.end_s is None:
                self.end(attempt, "interrupted", reason)
        if self.teredo is not None:
            self.teredo.shutdown()
            self.teredo = None
        if self.iphttps is not None:
            self.iphttps.shutdown()
            if relocate:   # the new network's proxy; netsh keeps one history across networks
                status = self.iphttps.status
                self.iphttps = self.iphttps_factory(self)
                self.iphttps.status = status
        if self.sixtofour is not None:
            self.sixtofour.close()
            self.sixtofour = None
        self._stopping = False
        self.host.routes.remove(self.policy.intranet)
        self.use(None)
        self._signal_change()
        if relocate or self.state.location is None:
            self.state.location = None
            self.start()
        elif self.state.location == "outside":
            self.process = self.spawn(self.connect())

    def run(self):
        inside, reason = yield from self.nls_probe(self.host)
        self.state.location = "inside" if inside else "outside"
        self.note("network location: ", self.state.location, " (", reason, ")")
        if inside:
            self._signal_change()
            return
        yield from self.connect()

    def connect(self):
        """Outside: bring up the first method that works, in Windows' order."""
        if self.teredo_type == "client" and self.managed_probe is not None:
            self.managed = yield from self.managed_probe(self.host)
        if not self.policy.force_tunnel:
            if (yield from self.try_native()):
                return
            if (yield from self.try_6to4()):
                return
        else:   # Teredo is skipped by teredo_and_iphttps, with the same reason
            for method in ("native", "6to4"):
                self.skip(method, FORCE_TUNNEL)
        yield from self.teredo_and_iphttps()

    def try_native(self):
        addr = has_global_ipv6(self.host)
        if addr is None:
            self.skip("native", "no global IPv6 address on this network")
            return False
        if not self.policy.ipv6:
            self.skip("native", "the DirectAccess server has no public IPv6 address")
            return False
        attempt = self.begin("native")
        for _ in range(self.profile.tunnel_probe_tries):
            rtt = yield from self.host.ping(self.policy.ipv6[0],
                                            timeout=self.profile.tunnel_probe_timeout)
            if rtt is not None:
                self.end(attempt, "connected", f"native IPv6 reaches the server (RTT "
                         f"{rtt * 1000:.0f} ms)")
                self.use("native")
                return True
        self.end(attempt, "failed", "no IPv6 reply from the server over native IPv6")
        return False

    def _own_ipv4(self) -> IPv4Address | None:
        return next((a for a in self.host.interfaces[0].addresses if a.version == 4), None)

    def try_6to4(self):
        setting = self.sixtofour_setting
        enabled = setting == "enabled" or (setting == "default" and self.profile.sixtofour)
        if not enabled:
            self.skip("6to4", "6to4 is disabled on this client")
            return False
        if self.policy.relay is None:
            self.skip("6to4", "the DirectAccess server offers no 6to4 relay")
            return False
        ipv4 = self._own_ipv4()
        if ipv4 is None or not looks_public(ipv4, self.profile.treats_100_64_as_public):
            self.skip("6to4", f"the client's address {ipv4} is not public")
            return False
        attempt = self.begin("6to4")
        self.sixtofour = SixToFourTunnel(self.host, ipv4, self.policy.relay)
        self.set_sixtofour_state("enabled")
        for _ in range(self.profile.sixtofour_probe_tries):
            rtt = yield from self.host.ping(self.policy.intranet, via=self.sixtofour.interface,
                                            timeout=self.profile.sixtofour_probe_timeout)
            if rtt is not None:
                self.host.routes.add(self.policy.intranet, self.sixtofour.interface)
                self.end(attempt, "connected",
                         f"6to4 from {ipv4} through relay {self.policy.relay}")
                self.use("6to4")
                return True
        self.end(attempt, "failed",
                 f"no reply through the 6to4 relay {self.policy.relay} after "
                 f"{self.profile.sixtofour_probe_tries} probes: 6to4 fails silently")
        self.sixtofour.close()
        self.set_sixtofour_state("failed")
        return False

    # -- Teredo and IP-HTTPS -----------------------------------------------------------
    def teredo_eligible(self) -> str | None:
        """None if Teredo may run, else why not."""
        if self.policy.force_tunnel:
            return FORCE_TUNNEL
        if self.teredo_type == "disabled":
            return "Teredo is disabled on this client"
        if self.policy.teredo_server is None:
            return "the DirectAccess server offers no Teredo server (it needs two consecutive " \
                   "public IPv4 addresses)"
        if self.teredo_type == "client" and self.managed:
            return "client is in a managed network"
        return None

    def teredo_and_iphttps(self):
        why_not = self.teredo_eligible()
        teredo_done = self.env.event()
        if why_not is None:
            self.spawn(self.run_teredo(self.begin("teredo"), teredo_done))
        else:
            self.skip("teredo", why_not)
            teredo_done.succeed(False)
        if self.iphttps_setting == "disabled" or "iphttps" not in self.policy.methods \
                or self.iphttps_factory is None:
            self.skip("iphttps", "IP-HTTPS is disabled" if self.iphttps_setting == "disabled"
                      else "the DirectAccess server offers no IP-HTTPS")
            yield teredo_done
            if not teredo_done.value:
                self.use(None)
            return
        teredo_ok = yield teredo_done
        if teredo_ok and self.iphttps_setting != "enabled":
            # F1.6: IP-HTTPS waits at least 10 s, then stays offline if corporate
            # connectivity works over Teredo.
            yield self.env.timeout(self.profile.iphttps_wait_after_teredo)
            while self.state.method == "teredo":
                self._teredo_lost = self.env.event()
                yield self._teredo_lost
        yield from self.run_iphttps()

    def run_teredo(self, attempt: Attempt, done):
        """Qualify Teredo, then check that the intranet answers through it."""
        config = TeredoConfig(requalify_after_fail=self.profile.teredo_requalify_after_fail,
                              refresh_interval=self.teredo_refresh)
        self.teredo = TeredoClient(self.host, self.policy.teredo_server,
                                   self.policy.teredo_secondary, config, self.teredo_type,
                                   on_change=self._teredo_changed)
        settled = self.teredo.settled
        self.teredo.start()
        qualified = yield settled
        status = self.teredo.status
        if not qualified:
            self.end(attempt, "failed", status.error or "Teredo went offline")
            done.succeed(False)
            return
        for _ in range(self.profile.tunnel_probe_tries):
            rtt = yield from self.host.ping(self.policy.intranet, via=self.teredo.interface,
                                            timeout=self.profile.tunnel_probe_timeout)
            if rtt is not None:
                self.host.routes.add(self.policy.intranet, self.teredo.interface)
                self.end(attempt, "connected", f"Teredo qualified behind a {status.nat} NAT "
                         f"as {status.address}")
                self.use("teredo")
                done.succeed(True)
                return
        self.end(attempt, "failed", "Teredo qualified but the intranet does not answer over it")
        done.succeed(False)

    _teredo_lost = None

    _stopping = False

    def _teredo_changed(self, status) -> None:
        if self._stopping:
            return
        if status.state != "qualified" and self.state.method == "teredo":
            self.note("teredo: tunnel lost: ", status.error or f"the client is {status.state}")
            self.host.routes.remove(self.policy.intranet)
            self.use(None)
            lost = self._teredo_lost
            if lost is not None and not lost.triggered:
                lost.succeed()

    def run_iphttps(self):
        if self.iphttps is None:
            self.iphttps = self.iphttps_factory(self)
        self.iphttps.on_change = self._iphttps_changed
        self._iphttps_attempt = self.begin("iphttps")
        yield from self.iphttps.run()

    _iphttps_attempt: Attempt | None = None

    def _iphttps_changed(self, status) -> None:
        """Each IP-HTTPS connect attempt becomes an attempt of the result; the interface
        carries DirectAccess traffic while it is up."""
        if self._stopping:
            return
        attempt = self._iphttps_attempt
        if status.state == "LinkUp":
            self.host.routes.remove(self.policy.intranet)
            self.host.routes.add(self.policy.intranet, self.iphttps.interface)
            if attempt is not None and attempt.end_s is None:
                self.end(attempt, "connected", f"IP-HTTPS tunnel up as {status.address}")
            self.use("iphttps")
        elif status.state == "LinkDown":
            if attempt is not None and attempt.end_s is None:
                self.end(attempt, "failed", status.reason, f"0x{status.last_error:x}")
            else:
                self.state.last_error = f"0x{status.last_error:x}"
                self.note("iphttps: tunnel lost (", self.state.last_error, "): ",
                          status.reason or status.interface_status)
            if self.state.method == "iphttps":
                self.host.routes.remove(self.policy.intranet)
                self.use(None)
        elif status.state == "Enabled" and (attempt is None or attempt.end_s is not None):
            self._iphttps_attempt = self.begin("iphttps")
