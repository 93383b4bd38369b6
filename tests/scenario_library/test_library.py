"""Every scenario in the library runs, and its outcome (method, error, times) is the one its
header describes — each emerging from the topology, never from the scenario's name."""

import pytest

from .conftest import SCENARIOS, by_name, run_file

EXPECTED = {
    # scenario: {client: (method or None, last error or None, (min, max) time to connect)};
    # a connected client has no last error (netsh shows 0x0 on the interface in use)
    "kb2980667-untrusted-root": {"laptop": ("iphttps", None, (600, 1200))},
    # first usable over IP-HTTPS, which qualifies alongside Teredo (F1.6); Teredo carries
    # the traffic once it qualifies
    "home-nat": {"laptop": ("teredo", None, (0.2, 1.0))},
    "home-public-ipv4": {"laptop": ("6to4", None, (0.0, 0.5))},
    "hotel-udp-blocked": {"laptop": ("iphttps", None, (0.2, 1.0))},
    # the server's public name under the NRPT's internal namespace (KB 3052855)
    "nrpt-public-name-not-exempt": {"laptop": (None, "0x2afc", None)},
    # up and off again every 0.4 s: the NLS reached through the tunnel (test_nrpt.py)
    "nrpt-nls-not-exempt": {"laptop": (None, None, None)},
    # IP-HTTPS up; what the NAT64 reaches above it: tests/directaccess/test_nat64.py
    "nat64-ipv4-only-server": {"laptop": ("iphttps", None, (0.2, 1.0))},
    "hotel-captive-portal": {"laptop": ("iphttps", None, (90.0, 300.0))},
    "hotel-tls-inspection": {"laptop": (None, "0x800b0109", None)},
    "cgn-shared-100-64": {"laptop": ("teredo", None, (0.2, 1.0))},
    "cgn-pseudo-public": {"laptop": ("iphttps", None, (12.0, 13.0))},   # after 6to4's 12 s
    # up, but degraded (tests/scenario_library/test_degraded.py)
    "cgn-short-udp-timeout": {"laptop": ("teredo", None, (12.0, 13.0))},
    "mobile-symmetric-nat": {"laptop": ("iphttps", None, (0.2, 1.0))},
    "enterprise-proxy": {"laptop-open": ("iphttps", None, (0.2, 1.0)),
                         "laptop-auth": (None, "0x80190197", None)},
    "crl-inside-only": {"laptop-win7": (None, "0x80092013", None),
                        "laptop-win10": ("iphttps", None, (0.2, 1.0))},
    "expired-certificate": {"laptop-win10": (None, "0x800b0101", None),
                            "laptop-win11": (None, "0x800b0101", None)},
    "server-behind-nat": {"laptop": ("iphttps", None, (0.0, 1.0))},
    "iphttps-name-mismatch": {"laptop": (None, "0x103", None)},
    "iphttps-adc-offload": {"laptop-win10": (None, "0x80090326", None),
                            "laptop-win7": ("iphttps", None, (0.2, 1.0))},
    "nls-outage": {"desk": (None, None, None), "roamer": ("iphttps", None, (90.0, 130.0))},
    # the transition is up for every laptop; what IPsec does above it: test_above_tunnel.py
    "ipsec-certificates": {name: ("iphttps", None, (0.2, 1.0)) for name in (
        "laptop", "no-certificate", "other-ca", "win7", "skewed", "firewall-off")},
    # IP-HTTPS back on its retry at 370 s, after 0x274c while the server was down
    "ipsec-server-outage": {"win10": ("iphttps", None, (0.2, 1.0)),
                            "win7": ("iphttps", None, (0.2, 1.0))},
    # the client's proxy settings (tests/scenario_library/test_proxy_settings.py): KB 3017472's
    # static proxy cancelled on Windows 10 (0x3e3, assumption P4), used by Windows 7
    "kb3017472-static-proxy": {"laptop-win10": (None, "0x3e3", None),
                               "laptop-win7": ("iphttps", None, (0.2, 1.0))},
    # connected through the WPAD proxy first; the 0x2af9 of the stale cached proxy after the
    # roam ends with the ProxyMgr fix at 600 s
    "proxy-cache-stale-after-roam": {"laptop": ("iphttps", None, (0.2, 1.0))},
    "pac-per-url": {"pac-direct": ("iphttps", None, (0.1, 1.0)),
                    "pac-proxy": (None, "0x3e3", None),
                    "wpad-proxy": ("iphttps", None, (0.1, 1.0))},
}


FLEETS = {"mixed-fleet", "gpo-rollout", "fleet-rollout"}


def test_every_library_file_has_an_expectation():
    assert {p.stem for p in SCENARIOS.glob("*.yaml")} == set(EXPECTED) | FLEETS


def test_mixed_fleet_outcome_follows_each_network():
    _, result = run_file("mixed-fleet")
    per_net: dict = {}
    for c in result["clients"]:
        per_net.setdefault(c["network"], set()).add((c["method"], c["last_error"]
                                                    if not c["connected"] else None))
    assert per_net["home"] == {("teredo", None)}
    assert per_net["home-full-cone"] == {("teredo", None)}
    assert per_net["hotel"] == {("iphttps", None)}
    assert per_net["hotel-inspecting"] == {(None, "0x800b0109")}
    assert per_net["carrier-shared"] == {("teredo", None)}
    assert per_net["carrier-pseudo-public"] == {("iphttps", None)}
    assert per_net["phone"] == {("iphttps", None)}
    assert result["summary"]["clients"] == 240


def test_gpo_rollout_reaches_clients_through_working_tunnels_and_the_office_only():
    _, result = run_file("gpo-rollout")
    clients = result["clients"]
    home = [c for c in clients if c["network"] == "home"]
    office = [c for c in clients if c["name"].startswith("office")]
    visited = [c for c in clients if c["name"] in {f"hotel-{i:05d}" for i in range(1, 6)}]
    stayed = [c for c in clients if c["name"].startswith("hotel") and c not in visited]
    assert all(c["method"] == "teredo" for c in home)       # Teredo needs no certificate
    assert all(c["location"] == "inside" for c in office)
    assert all(c["method"] == "iphttps" for c in visited)   # root received in the office
    assert all(not c["connected"] and c["last_error"] == "0x800b0109" for c in stayed)
    first_fix = min(c["time_to_connect_s"] for c in visited)
    assert first_fix >= 86400  # not before their first office visit on day 1


def test_fleet_rollout_fixes_the_away_laptops_that_visit_the_office():
    from sim.scenario import load_scenario
    from sim.scenario.build import Simulation

    # 40 of the file's 100 laptops, the same three days: 20 at home, 12 in hotels, 8 on
    # pseudo-public carriers
    sim = Simulation(load_scenario(SCENARIOS / "fleet-rollout.yaml", {"clients.0.count": 40}))
    clients = by_name(sim.run().as_dict())
    visited = {c.name for c in sim.clients
               if any("roamed to network corp" in "".join(p) for _, p in c.da.state.events)}
    away = {n for n, c in clients.items() if c["network"] != "home"}
    assert len(away) == 20 and 0 < len(visited & away) < len(away)
    assert all(clients[n]["method"] == "teredo" for n in clients if n not in away)
    for n in away:
        c = clients[n]
        if n in visited:   # the root came by Group Policy in the office: IP-HTTPS works
            assert c["method"] == "iphttps" and c["time_to_connect_s"] >= 86400, n
        else:              # still without the root: KB 2980667
            assert not c["connected"] and c["last_error"] == "0x800b0109", n


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_library_scenario_outcome(name):
    _, result = run_file(name)
    clients = by_name(result)
    for client, (method, error, window) in EXPECTED[name].items():
        c = clients[client]
        assert c["method"] == method, (client, c["attempts"])
        assert c["last_error"] == error, (client, c["attempts"])
        if window is None:
            assert c["time_to_connect_s"] is None or method is None
        else:
            assert window[0] <= c["time_to_connect_s"] <= window[1]


def attempts(name, client):
    _, result = run_file(name)
    return [(a["method"], a["result"]) for a in by_name(result)[client]["attempts"]]


def test_pseudo_public_tries_6to4_silently_then_teredo_fails_on_the_symmetric_cgn():
    steps = attempts("cgn-pseudo-public", "laptop")
    assert steps[:4] == [("native", "not_eligible"), ("6to4", "failed"),
                         ("teredo", "failed"), ("iphttps", "connected")]


def test_server_with_one_public_address_offers_no_teredo():
    _, result = run_file("server-behind-nat")
    teredo = next(a for a in by_name(result)["laptop"]["attempts"] if a["method"] == "teredo")
    assert teredo["result"] == "not_eligible" and "two consecutive" in teredo["reason"]


def test_home_nat_takes_iphttps_offline_once_teredo_carries_traffic():
    sim, result = run_file("home-nat")
    assert by_name(result)["laptop"]["method"] == "teredo"
    assert sim.client("laptop").da.iphttps.status.state == "Disabled"


def test_nls_reachable_means_inside_and_no_tunnel():
    _, result = run_file("nls-outage")
    desk = by_name(result)["desk"]
    assert desk["location"] == "inside" and desk["attempts"] == []
