"""The DirectAccess client: inside/outside detection, then the transition methods in Windows'
order (F1.1–F1.7): native IPv6, 6to4, then Teredo and IP-HTTPS qualifying in parallel.

Nothing here looks at what kind of network the client is on. Each method is tried by sending
packets; whether they come back depends on the NATs, firewalls and proxies on the path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import simpy

from sim.directaccess.assistant import ConnectivityAssistant
from sim.directaccess.direct import ULA, DirectMethods, has_global_ipv6, looks_public
from sim.directaccess.profiles import ClientProfile
from sim.directaccess.state import Attempt, ClientState
from sim.directaccess.tunnels import FORCE_TUNNEL, TunnelMethods
from sim.transition.teredo import REFRESH_INTERVAL

if TYPE_CHECKING:
    from sim.directaccess.server import ServerPolicy
    from sim.net.host import Host
    from sim.transition.sixtofour import SixToFourTunnel
    from sim.transition.teredo import TeredoClient

__all__ = ["FORCE_TUNNEL", "METHOD_ORDER", "ULA", "Attempt", "ClientState",
           "DirectAccessClient", "guarded", "has_global_ipv6", "looks_public"]

METHOD_ORDER = ("native", "6to4", "teredo", "iphttps")


def guarded(gen):
    """Run ``gen`` as a process that ends quietly when interrupted by a network change."""
    try:
        return (yield from gen)
    except simpy.Interrupt:
        return None


class DirectAccessClient(DirectMethods, ConnectivityAssistant, TunnelMethods):
    """One Windows DirectAccess client on ``host``."""

    def __init__(self, host: Host, policy: ServerPolicy, profile: ClientProfile,
                 nls_probe: Any, iphttps_factory: Any = None, managed_probe: Any = None,
                 teredo_type: str | None = None, sixtofour: str = "default",
                 iphttps: str = "default", probe_interval: float | None = None,
                 teredo_refresh: float | None = None, nrpt: Any = None) -> None:
        self.host = host
        self.nrpt = nrpt   # the Name Resolution Policy Table, applied outside (B1)
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
        self.ipsec: Any = None   # the IPsec layer above the tunnel (sim.directaccess.ipsec)

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
        if method is not None:
            # a method carries the traffic: the errors before it are history (netsh shows
            # 0x0 on the interface in use); the result's last error is one since then
            self.state.last_error = None
            if self.state.connected_at is None:
                self.state.connected_at = self.env.now
        if self.policy.dns64 is not None:   # the NRPT's DNS server and the NAT64 prefix are
            self._route_into_tunnel(method)  # reached over the tunnel in use
        if method is not None and self.nrpt is not None and self.state.location == "outside":
            self.env.process(self._check_location_again(self.connectivity_changed))
        if method is not None and self.probe_interval and not self._probing:
            self._start_probes()
        if method:
            self.note("DirectAccess traffic now uses ", method)
        else:
            self.note("DirectAccess has no usable connectivity")
        if self.ipsec is not None:
            self.ipsec.transport_changed(method, self.interface_of(method))

    def _route_into_tunnel(self, method: str | None) -> None:
        iface = self.interface_of(method)
        for prefix in (self.policy.dns64, self.policy.nat64):
            if prefix is not None:
                self.host.routes.remove(prefix)
                if iface is not None:
                    self.host.routes.add(prefix, iface)

    def _check_location_again(self, mark: Any):
        """NLA checks the location again when an interface comes up (F1.20), the tunnel's
        too, with the NRPT in force: an NLS name it sends to the DNS64 is reached through
        the tunnel, and the laptop believes it is inside (B3, B8; assumption N7)."""
        inside, reason = yield from self.nls_probe(self.host)
        if not inside or mark is not self.connectivity_changed or \
                self.state.location != "outside":
            return
        self.note("network location: inside (", reason, " through the DirectAccess tunnel: "
                  "the NRPT sends the NLS's name to the DNS64)")
        self.state.location = "inside"
        self.state.nls_through_tunnel += 1
        self.host.name_policy = None
        self.restart("DirectAccess turns itself off inside", relocate=False)
        if self.ipsec is not None:
            self.ipsec.located_inside()
        self.restart("its DirectAccess interfaces went away: the location is checked again")

    def interface_of(self, method: str | None) -> Any:
        """The transition interface of ``method`` (None for native IPv6: routed)."""
        machine = {"teredo": self.teredo, "iphttps": self.iphttps,
                   "6to4": self.sixtofour}.get(method or "")
        return None if machine is None else machine.interface

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
        self._teredo_up = False
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
        if self.nrpt is not None:   # outside, names follow the NRPT; inside, the adapter's DNS
            self.host.name_policy = None if inside else self.nrpt.policy(self.host)
        if inside:
            self._signal_change()
            if self.ipsec is not None:   # no tunnel inside: DirectAccess is not used
                self.ipsec.located_inside()
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

