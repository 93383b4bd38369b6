"""The connectivity assistant (DCA on Windows 7, NCA later): checks through the tunnel
while DirectAccess has a method."""

from __future__ import annotations

from typing import Any

from sim.net.kernel import call_later


class ConnectivityAssistant:
    """A part of :class:`~sim.directaccess.client.DirectAccessClient`."""

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
        call_later(self.env, self.probe_interval, self._probe_due, round_)

    def _probe_due(self, timer: Any) -> None:
        self._probe(timer._value)   # the round the timer was set in (no closure per probe)

    def _probe(self, round_: int) -> None:
        if round_ != self._probe_round:
            return
        if self.state.method is None:
            self._probing = False
            return

        sent = self.env.now

        def answered(rtt: float | None) -> None:
            if round_ != self._probe_round:
                return
            if rtt is None:
                self.state.probes_failed += 1
                if self.kernel.trace.on:   # for explain: which device lost it
                    self.kernel.log(self.host.name, "check-lost", sent=sent,
                                    method=self.state.method)
            else:
                self.state.probes_ok += 1
            if self.state.method is None:
                self._probing = False
            else:
                self._next_probe(round_)

        self.host.echo(self.policy.intranet, self.profile.tunnel_probe_timeout, answered)

