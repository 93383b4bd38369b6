"""Starting over (a roam, an IP Helper restart) at awkward moments: before the laptop has
started, in the middle of an attempt, while Teredo carries its traffic, and away from a
network whose proxy IP-HTTPS used."""

from pathlib import Path

from sim.scenario import load_scenario
from sim.scenario.build import Simulation

SCEN = Path(__file__).resolve().parents[2] / "scenarios"


def run(name: str, overrides: dict) -> tuple[dict, list[str]]:
    sim = Simulation(load_scenario(SCEN / name, overrides))
    result = sim.run().as_dict()["clients"][0]
    return result, [text for _t, text in sim.clients[0].da.state.timeline()]


def test_a_restart_before_the_laptop_starts_does_not_start_it_twice():
    result, story = run("hotel-udp-blocked.yaml", {
        "clients.0.start_at": 100,
        "events": [{"at": 50, "action": "restart_ip_helper", "client": "laptop"}]})
    assert [a["method"] for a in result["attempts"]].count("teredo") == 1
    assert all(a["start_s"] >= 100 for a in result["attempts"])
    assert result["connected"]
    assert story[0] == "IP Helper service restarted"


def test_an_attempt_cut_short_by_a_restart_ends_as_interrupted():
    result, _ = run("hotel-udp-blocked.yaml", {
        "events": [{"at": 10, "action": "restart_ip_helper", "client": "laptop"}]})
    cut = [a for a in result["attempts"] if a["start_s"] < 10 and a["method"] == "teredo"]
    assert [(a["result"], a["end_s"]) for a in cut] == [("interrupted", 10.0)]
    assert all(a["end_s"] is not None for a in result["attempts"])


def test_a_roam_off_teredo_is_a_network_change_not_a_lost_tunnel():
    result, story = run("home-nat.yaml", {
        "events": [{"at": 100, "action": "roam", "client": "laptop", "network": "corp"}]})
    assert "network change: roamed to network corp" in story
    assert not any("tunnel lost" in line for line in story)
    assert result["location"] == "inside"


def test_after_a_roam_iphttps_uses_the_new_networks_proxy_or_none():
    sim = Simulation(load_scenario(SCEN / "enterprise-proxy.yaml", {
        "networks.home": {"nat": {"preset": "port-restricted-cone"},
                          "firewall": {"default": "deny", "allow": ["udp/53", "tcp/443"]}},
        "events": [{"at": 100, "action": "roam", "client": "laptop-open",
                    "network": "home"}]}))
    result = sim.run().as_dict()["clients"][0]
    assert result["connected"] and result["method"] == "iphttps"
    after = [a for a in result["attempts"] if a["start_s"] >= 100 and a["method"] == "iphttps"]
    assert after and after[0]["result"] == "connected"
    assert sim.clients[0].da.iphttps.proxy is None
    history = sim.clients[0].da.iphttps.status.history   # netsh's, across both networks
    assert history[0][0] < 100 < history[-1][0]
