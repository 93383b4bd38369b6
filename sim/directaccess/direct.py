"""The methods that need no tunnel server's help beyond a relay: native IPv6 to the server,
and 6to4 when the client's own IPv4 address looks public (F1.1, F1.4, F4.11)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import TYPE_CHECKING

from sim.net.internet import PRIVATE_V4, SHARED_V4, SPECIAL_V4
from sim.transition.sixtofour import SIXTOFOUR_PREFIX, SixToFourTunnel
from sim.transition.teredo import TEREDO_PREFIX

if TYPE_CHECKING:
    from sim.net.host import Host

ULA = IPv6Network("fc00::/7")


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


class DirectMethods:
    """Native IPv6 and 6to4, tried in that order before Teredo and IP-HTTPS (F1.1); a part of
    :class:`~sim.directaccess.client.DirectAccessClient`."""

    def set_sixtofour_state(self, state: str) -> None:
        self.sixtofour_state = state
        self.sixtofour_history.append((self.env.now, state))

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

