"""Teredo and IP-HTTPS qualify at the same time (TechNet ee844161, F1.6, N11.1): once Teredo
qualifies, IP-HTTPS waits offline for ten seconds (or longer on a slow TCP path) and stays
offline while corporate connectivity works over Teredo; otherwise it qualifies again."""

from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.directaccess.profiles import profile
from sim.directaccess.tunnels import TunnelMethods
from sim.net.icmpv6 import RouterAdvertisement
from sim.net.packet import ICMPV6, UDP
from sim.scenario import load_scenario
from sim.scenario.build import Simulation

from .conftest import SCENARIOS, by_name, run_file

HOME = str(SCENARIOS / "home-nat.yaml")
FULL_CONE = "networks.home.nat.preset=full-cone"


def steps(client):
    return [(a["method"], a["result"]) for a in client["attempts"]]


def test_hotel_blocking_udp_connects_windows10_over_iphttps_within_two_seconds():
    _, result = run_file("hotel-udp-blocked")
    laptop = by_name(result)["laptop"]
    assert laptop["method"] == "iphttps"
    assert laptop["time_to_connect_s"] < 2.0
    iphttps = next(a for a in laptop["attempts"] if a["method"] == "iphttps")
    teredo = next(a for a in laptop["attempts"] if a["method"] == "teredo")
    assert iphttps["start_s"] == teredo["start_s"]   # both start together
    assert teredo["result"] == "failed" and teredo["end_s"] > iphttps["end_s"] + 20


def netsh_iphttps(at: str, *sets: str) -> str:
    args = ["netsh", HOME, "--client", "laptop", "--at", at]
    for s in sets:
        args += ["--set", s]
    out = CliRunner().invoke(cli, [*args, "interface", "httpstunnel", "show", "interfaces"])
    assert out.exit_code == 0, out.output
    return out.output


@pytest.mark.parametrize("at", ["5s", "30s"])
def test_full_cone_home_keeps_iphttps_offline_while_teredo_carries_traffic(at):
    text = netsh_iphttps(at, FULL_CONE)
    assert "Last Error Code            : 0x0" in text
    assert "Interface Status           : IPHTTPS interface deactivated" in text


def test_full_cone_home_teredo_carries_and_iphttps_never_comes_up():
    sim = Simulation(load_scenario(HOME, {"networks.home.nat.preset": "full-cone"}))
    laptop = by_name(sim.run().as_dict())["laptop"]
    assert laptop["method"] == "teredo" and laptop["time_to_connect_s"] < 1.0
    assert ("iphttps", "standby") in steps(laptop)
    assert ("iphttps", "connected") not in steps(laptop)
    da = sim.client("laptop").da
    states = [(t, snap["state"]) for t, snap in da.iphttps.status.history]
    offline_at = next(t for t, s in states if s == "Disabled")
    assert offline_at < 1.0
    assert all(s == "Disabled" for t, s in states if t >= offline_at)   # never again
    told = [text for _, text in da.state.timeline()]
    assert "iphttps: stays offline: corporate connectivity works over Teredo" in told


def test_restricted_home_iphttps_carries_until_teredo_qualifies():
    _, result = run_file("home-nat")
    laptop = by_name(result)["laptop"]
    assert laptop["time_to_connect_s"] < 1.0 and laptop["method"] == "teredo"
    iphttps = next(a for a in laptop["attempts"] if a["method"] == "iphttps")
    teredo = next(a for a in laptop["attempts"] if a["method"] == "teredo")
    assert iphttps["result"] == "connected" and iphttps["end_s"] < 1.0
    assert teredo["result"] == "connected" and 12.0 < teredo["end_s"] < 12.5


class DropTeredoEchoReplies:
    """Teredo qualifies (RAs pass), but nothing from the intranet comes back over it, as
    when intranet hosts do not answer ICMPv6 echo (F1.35)."""

    def outbound(self, pkt):
        return pkt

    def inbound(self, pkt):
        inner = pkt.inner
        if pkt.proto == UDP and inner is not None and inner.proto == ICMPV6 \
                and not isinstance(inner.payload, RouterAdvertisement):
            return None
        return pkt


def test_iphttps_qualifies_again_when_teredo_brings_no_corporate_connectivity():
    sim = Simulation(load_scenario(HOME, {"networks.home.nat.preset": "full-cone"}))
    sim.topo.networks["home"].gateway.add_stage(DropTeredoEchoReplies())
    laptop = by_name(sim.run().as_dict())["laptop"]
    assert laptop["method"] == "iphttps"
    offline = next(a for a in laptop["attempts"] if a["result"] == "standby")
    again = [a for a in laptop["attempts"] if a["method"] == "iphttps"
             and a["start_s"] > offline["end_s"]]
    assert again[0]["result"] == "connected"
    assert 10.0 <= again[0]["start_s"] - offline["end_s"] < 10.1   # after the 10 s delay
    assert ("teredo", "failed") in steps(laptop)


def delay(rtt):
    client = SimpleNamespace(profile=profile("windows10"), iphttps=SimpleNamespace(tcp_rtt=rtt))
    return TunnelMethods.iphttps_offline_delay(client)


def test_offline_delay_is_ten_seconds_or_longer_on_a_slow_tcp_path():
    assert delay(None) == 10.0       # no TCP round trip measured yet
    assert delay(0.1) == 10.0
    assert delay(2.9) == 10.0       # 3 × 2.9 s is still under ten seconds
    profile_slow = profile("windows10").with_overrides(tcp_initial_rto=6.0)
    slow = SimpleNamespace(profile=profile_slow, iphttps=SimpleNamespace(tcp_rtt=5.0))
    assert TunnelMethods.iphttps_offline_delay(slow) == pytest.approx(15.0)
    assert delay(3.5) == 10.0        # a retransmitted SYN is no round-trip sample (Karn)


def test_iphttps_enabled_state_never_steps_aside():
    sim = Simulation(load_scenario(HOME, {"clients.0.iphttps": "enabled"}))
    laptop = by_name(sim.run().as_dict())["laptop"]
    assert ("iphttps", "standby") not in steps(laptop)
    assert sim.client("laptop").da.iphttps.status.state == "LinkUp"
