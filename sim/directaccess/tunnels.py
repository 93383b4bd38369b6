"""Teredo and IP-HTTPS, which qualify in parallel (F1.6), and how their interfaces'
changes become the client's attempts and method."""

from __future__ import annotations

from sim.directaccess.state import Attempt
from sim.transition.teredo import TeredoClient, TeredoConfig

# Force tunnelling sends everything through the tunnel, and only IP-HTTPS carries it (F1.5).
FORCE_TUNNEL = "force tunnelling uses IP-HTTPS only"


class TunnelMethods:
    """A part of :class:`~sim.directaccess.client.DirectAccessClient`."""

    _teredo_lost = None
    _stopping = False
    _teredo_up = False
    _teredo_qualified = None
    _iphttps_attempt: Attempt | None = None

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
        """Teredo and IP-HTTPS start qualifying at the same time (F1.6, N11.1)."""
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
                self.host.routes.remove(self.policy.intranet)
                self.host.routes.add(self.policy.intranet, self.teredo.interface)
                self.end(attempt, "connected", f"Teredo qualified behind a {status.nat} NAT "
                         f"as {status.address}")
                self.use("teredo")
                done.succeed(True)
                return
        self.end(attempt, "failed", "Teredo qualified but the intranet does not answer over it")
        done.succeed(False)

    def _teredo_changed(self, status) -> None:
        if self._stopping:
            return
        up, self._teredo_up = self._teredo_up, status.state == "qualified"
        if self._teredo_up and not up:
            qualified = self._teredo_qualified
            if qualified is not None and not qualified.triggered:
                qualified.succeed()
        if status.state != "qualified" and self.state.method == "teredo":
            self.note("teredo: tunnel lost: ", status.error or f"the client is {status.state}")
            self.host.routes.remove(self.policy.intranet)
            self.use(None)
            lost = self._teredo_lost
            if lost is not None and not lost.triggered:
                lost.succeed()

    def run_iphttps(self):
        """IP-HTTPS qualifies from the start. Whenever Teredo qualifies, IP-HTTPS (in its
        default state) goes offline for a computed delay; it stays offline while corporate
        connectivity works over Teredo, and otherwise qualifies again (F1.6, TechNet
        ee844161). In the Enabled state (F1.7) it never steps aside."""
        if self.iphttps is None:
            self.iphttps = self.iphttps_factory(self)
        self.iphttps.on_change = self._iphttps_changed
        self.iphttps.failed_status = self.profile.iphttps_status_failed
        self.iphttps.suites = self.profile.iphttps_suites
        if self.iphttps_setting == "enabled":
            self._iphttps_attempt = self.begin("iphttps")
            yield from self.iphttps.run()
            return
        while True:
            self._iphttps_attempt = self.begin("iphttps")
            proc = self.spawn(self.iphttps.run())
            self._teredo_qualified = self.env.event()
            yield self._teredo_qualified
            delay = self.iphttps_offline_delay()
            if proc.is_alive:
                proc.interrupt("Teredo qualified")
            self._iphttps_offline(delay)
            yield self.env.timeout(delay)
            if self.state.method != "teredo":
                self.note("iphttps: no corporate connectivity over Teredo within ",
                          f"{delay:g}", " s: IP-HTTPS qualifies again")
                continue
            self.note("iphttps: stays offline: corporate connectivity works over Teredo")
            while self.state.method == "teredo":
                self._teredo_lost = self.env.event()
                yield self._teredo_lost

    def iphttps_offline_delay(self) -> float:
        """F1.6: "either ten seconds or a network delay larger than ten seconds based on the
        round trip time of TCP packets". The formula is undocumented: here a multiple of the
        round trip of the IP-HTTPS connection's last SYN answered without a retransmission
        (``iphttps_wait_rtt_multiple``, an assumption)."""
        prof = self.profile
        rtt = getattr(self.iphttps, "tcp_rtt", None)
        if rtt is None or rtt >= prof.tcp_initial_rto:
            return prof.iphttps_wait_after_teredo
        return max(prof.iphttps_wait_after_teredo, prof.iphttps_wait_rtt_multiple * rtt)

    def _iphttps_offline(self, delay: float) -> None:
        """Take IP-HTTPS offline: its attempt ends as standby, its connection closes."""
        why = f"offline for {delay:g} s: Teredo qualified"
        attempt = self._iphttps_attempt
        if attempt is not None and attempt.end_s is None:
            self.end(attempt, "standby", why)
        else:
            self.note("iphttps: ", why)
        self.iphttps.shutdown(why)
        if self.state.method == "iphttps":
            self.host.routes.remove(self.policy.intranet)
            self.use(None)

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
