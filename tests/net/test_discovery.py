"""RFC 5780 behaviour discovery inside the simulator: a probe client behind NATs and a server
with two addresses and two ports classify what the path does."""

from ipaddress import ip_address

import pytest

from sim.net.discovery import DiscoveryServer, NatBehaviourReport, discover
from sim.net.firewall import Firewall
from sim.net.kernel import Kernel
from sim.net.nat import ADF, ADM, APDF, APDM, EIF, EIM, Behaviour, Nat, NatConfig, nat_config
from sim.net.topology import Topology

P, A = ip_address("131.107.0.1"), ip_address("131.107.0.2")
ALL = [EIM, ADM, APDM]


def world(seed: int = 1):
    k = Kernel(seed=seed, trace=True)
    topo = Topology(k)
    server = topo.add_public_host("stun", [P, A])
    DiscoveryServer(server, P, A)
    return k, topo


def run_discovery(k: Kernel, host) -> NatBehaviourReport:
    proc = k.env.process(discover(host, P))
    k.run(until=120)
    assert proc.triggered
    return proc.value


def behind_one_nat(mapping: Behaviour, filtering: Behaviour, **kw) -> NatBehaviourReport:
    k, topo = world()
    net = topo.add_network("home", "192.168.1.0/24", outside=["198.51.100.2"])
    net.gateway.add_stage(Nat(k, "nat", ["198.51.100.2"],
                              NatConfig(mapping=mapping, filtering=filtering, **kw)))
    return run_discovery(k, net.add_host("probe"))


@pytest.mark.parametrize("filtering", ALL, ids=lambda b: f"{b.abbrev}F")
@pytest.mark.parametrize("mapping", ALL, ids=lambda b: f"{b.abbrev}M")
def test_each_of_the_nine_mapping_and_filtering_combinations_is_classified(mapping, filtering):
    report = behind_one_nat(mapping, filtering)
    assert (report.mapping, report.filtering) == (mapping, filtering)
    assert report.behind_nat and report.mapped[0] == ip_address("198.51.100.2")


@pytest.mark.parametrize("alloc", ["preservation", "sequential", "random"])
def test_classification_does_not_depend_on_port_allocation(alloc):
    report = behind_one_nat(APDM, ADF, port_allocation=alloc)
    assert (report.mapping, report.filtering) == (APDM, ADF)


@pytest.mark.parametrize(("home", "carrier"), [
    ("full-cone", "linux-masquerade"),        # EIM/EIF behind EIM/APDF
    ("restricted-cone", "full-cone"),         # EIM/ADF behind EIM/EIF
    ("symmetric", "full-cone"),               # APDM/APDF behind EIM/EIF
    ("full-cone", "symmetric"),               # the typical CGN wins
    ({"mapping": "ADM", "filtering": "EIF"}, {"mapping": "EIM", "filtering": "ADF"}),
])
def test_home_nat_behind_a_cgn_is_classified_by_its_outer_behaviour(home, carrier):
    k, topo = world()
    cgn_cfg, home_cfg = nat_config(carrier), nat_config(home)
    cgn = topo.add_network("carrier", "100.64.0.0/10", outside=["198.51.100.9"])
    cgn.gateway.add_stage(Nat(k, "cgn", ["198.51.100.9"], cgn_cfg))
    net = topo.add_network("home", "192.168.1.0/24", outside=["100.64.0.2"],
                           upstream="carrier")
    net.gateway.add_stage(Nat(k, "home-nat", ["100.64.0.2"], home_cfg))
    report = run_discovery(k, net.add_host("probe"))
    assert report.mapping == max(home_cfg.mapping, cgn_cfg.mapping)
    assert report.filtering == max(home_cfg.filtering, cgn_cfg.filtering)
    assert report.mapped[0] == ip_address("198.51.100.9")


def test_udp_blocked_is_reported_when_no_answer_comes():
    k, topo = world()
    net = topo.add_network("hotel", "192.168.1.0/24", outside=["198.51.100.2"])
    net.gateway.add_stage(Firewall(k, "fw", ["tcp/443"], default="deny"))
    net.gateway.add_stage(Nat(k, "nat", ["198.51.100.2"]))
    report = run_discovery(k, net.add_host("probe"))
    assert report.udp_blocked and report.classic_name == "UDP blocked"
    assert "UDP is blocked" in report.describe()


def test_a_public_address_is_reported_as_no_nat():
    k, topo = world()
    net = topo.add_network("lab", "203.0.113.0/24", outside=["198.51.100.2"], routed=True)
    report = run_discovery(k, net.add_host("probe"))
    assert not report.behind_nat
    assert (report.mapping, report.filtering) == (EIM, EIF)
    assert report.classic_name == "open Internet"


def test_a_stateful_firewall_without_nat_shows_as_filtering_only():
    k, topo = world()
    net = topo.add_network("lab", "203.0.113.0/24", outside=["198.51.100.2"], routed=True)
    net.gateway.add_stage(Firewall(k, "fw"))
    report = run_discovery(k, net.add_host("probe"))
    assert not report.behind_nat and report.filtering == APDF
    assert report.classic_name == "no NAT, filtering firewall"


def test_the_report_reads_as_an_answer():
    report = behind_one_nat(EIM, APDF, port_allocation="preservation")
    text = report.describe()
    assert "mapping:         endpoint-independent (EIM)" in text
    assert "filtering:       address-and-port-dependent (APDF)" in text
    assert "NAT type:        port-restricted cone" in text


def test_discovery_takes_simulated_time_only_for_tests_that_get_no_answer():
    k, topo = world()
    net = topo.add_network("home", "192.168.1.0/24", outside=["198.51.100.2"])
    net.gateway.add_stage(Nat(k, "nat", ["198.51.100.2"], nat_config("full-cone")))
    proc = k.env.process(discover(net.add_host("probe"), P))
    k.run(until=proc)
    assert k.now < 0.5          # five answered round trips, no timeouts
