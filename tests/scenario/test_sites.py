"""Sites: a network with ``laptops_per_site`` is many instances (homes, hotels), each with its
own gateway, NAT and edge address; events act on all of them; roaming joins a site."""

from collections import Counter
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from sim.errors import InputError
from sim.scenario import load_scenario
from sim.scenario.build import Simulation
from sim.scenario.plan import EDGE_LIMIT, AddressPlan

ROOT = Path(__file__).resolve().parents[2]
MIXED = ROOT / "scenarios" / "mixed-fleet.yaml"
# 40 laptops, each home its own site, hotels of up to 3 guests (the rest as in the file)
SITES = {"clients.0.count": 40, "duration": 120, "networks.home.laptops_per_site": 1,
         "networks.hotel.laptops_per_site": 3}


def teredo_mapping(client) -> str | None:
    entries = client.interfaces.get("teredo") or [{}]
    return entries[-1].get("external_mapping")


@pytest.fixture(scope="module")
def sited():
    sim = Simulation(load_scenario(MIXED, SITES))
    return sim, sim.run()


def test_each_home_laptop_has_its_own_site_and_hotels_take_three_guests(sited):
    sim, _ = sited
    per_site = Counter(c.site for c in sim.clients)
    homes = [c for c in sim.clients if c.network == "home"]
    hotels = [c for c in sim.clients if c.network == "hotel"]
    assert len(homes) == 12 and len(hotels) == 8
    assert [c.site for c in homes] == ["home"] + [f"home#{i}" for i in range(2, 13)]
    assert [per_site[s] for s in ("hotel", "hotel#2", "hotel#3")] == [3, 3, 2]
    # networks without laptops_per_site stay one shared instance
    assert {c.site for c in sim.clients if c.network == "carrier-shared"} == {"carrier-shared"}
    assert len(sim.sites["home"]) == 12 and len(sim.sites["carrier-shared"]) == 1
    # each site is a gateway of its own, behind its own public edge address
    edges = [site.gateway.outside.address for site in sim.sites["home"]]
    assert len(set(edges)) == 12
    # …with the network's one private prefix, as every home has its 192.168.1.0/24
    assert {site.prefix for site in sim.sites["home"]} == {sim.networks["home"].prefix}


def test_home_laptops_reach_the_teredo_server_from_their_own_public_address(sited):
    sim, result = sited
    by_name = {c.name: c for c in result.clients}
    home = [by_name[c.name] for c in sim.clients if c.network == "home"]
    assert all(c.connected and c.method == "teredo" for c in home)
    addresses = {teredo_mapping(c).split(":")[0] for c in home}
    edges = {str(site.gateway.outside.address) for site in sim.sites["home"]}
    assert addresses == edges


def test_sites_do_not_change_which_method_each_network_gets(sited):
    _, result = sited
    one_each = {f"networks.{n}.laptops_per_site": None
                for n in ("home", "home-full-cone", "hotel", "hotel-inspecting", "phone")}
    shared = Simulation(load_scenario(MIXED, {"clients.0.count": 40, "duration": 120,
                                              **one_each})).run()
    assert len(shared.clients) == 40

    def outcome(r):
        return Counter((c.network, c.method, c.connected) for c in r.clients)

    assert outcome(result) == outcome(shared)


def test_a_nat_reboot_event_power_cycles_every_site_of_the_network():
    events = [{"at": 60, "action": "nat_reboot", "network": "home"}]
    sim = Simulation(load_scenario(MIXED, {**SITES, "events": events}))
    sim.kernel.run(until=60.0001)
    nats = [site.gateway.stages[-1] for site in sim.sites["home"]]
    assert len(nats) == 12 and all(n.counters["reboots"] == 1 for n in nats)
    hotel_nats = [site.gateway.stages[-1] for site in sim.sites["hotel"]]
    assert all(n.counters["reboots"] == 0 for n in hotel_nats)


def test_roaming_joins_a_site_and_uses_that_sites_proxy():
    # a home laptop walks into an inspecting hotel: its IP-HTTPS goes through that hotel's
    # proxy, which re-signs with a root the laptop does not trust (KB 2980667's error)
    overrides = {**SITES, "duration": 200, "networks.hotel-inspecting.laptops_per_site": 2}
    sim = Simulation(load_scenario(MIXED, overrides))
    laptop = next(c for c in sim.clients if c.network == "home")
    sim.kernel.env.process(_roam_at(sim, laptop, 30.0, "hotel-inspecting"))
    result = {c.name: c for c in sim.run().clients}[laptop.name]
    inspecting = [c for c in sim.clients if c.network == "hotel-inspecting"]
    assert laptop.site == f"hotel-inspecting#{(len(inspecting) + 1) // 2}"
    assert not result.connected and result.last_error == "0x800b0109"


def _roam_at(sim, client, at, network):
    yield sim.kernel.env.timeout(at)
    sim.roam(client, network)


def test_edge_addresses_go_on_past_the_documentation_range_then_stop_clearly():
    plan = AddressPlan(0)
    edges = [plan.edge() for _ in range(300)]
    assert edges[0] == IPv4Address("198.51.100.10") and edges[244] == IPv4Address(
        "198.51.100.254")
    assert edges[245] == IPv4Address("80.0.0.255") and len(set(edges)) == 300
    plan = AddressPlan(3)
    for _ in range(EDGE_LIMIT - 10):
        last = plan.edge()
    assert last == IPv4Address("80.3.15.255")
    with pytest.raises(InputError, match="network sites in one shard"):
        plan.edge()


NOT_HERE = "cannot have laptops_per_site: "


@pytest.mark.parametrize("overrides,why", [
    ({"networks.corp.laptops_per_site": 2}, NOT_HERE + "a corporate network is one site"),
    ({"networks.open": {"addressing": "public", "laptops_per_site": 2}},
     NOT_HERE + "its sites share one private prefix, so it needs a nat"),
    ({"networks.behind": {"nat": {"preset": "symmetric"}, "upstream": "home"},
      "networks.home.laptops_per_site": 1},
     NOT_HERE + "other networks name it as their upstream"),
    ({"networks.floor#1": {"nat": {"preset": "symmetric"}}}, "'#' is kept for naming"),
], ids=["corporate", "no-nat", "upstream", "hash-in-name"])
def test_sites_where_they_cannot_apply_are_a_clear_error(overrides, why):
    with pytest.raises(InputError, match=f"networks.*{why}"):
        load_scenario(MIXED, overrides)


def test_the_story_of_a_laptop_names_its_site(sited):
    from sim.report.narrative import narrate

    sim, result = sited
    laptop = [c for c in sim.clients if c.network == "home"][1]
    story = narrate({c.name: c for c in result.clients}[laptop.name].as_dict(),
                    laptop.da.state.timeline(), site=laptop.site)
    assert story.startswith(f"Client {laptop.name} on network home (site home#2):")
    shared = next(c for c in sim.clients if c.network == "carrier-shared")
    story = narrate({c.name: c for c in result.clients}[shared.name].as_dict(),
                    shared.da.state.timeline(), site=shared.site)
    assert story.startswith(f"Client {shared.name} on network carrier-shared:")


def test_each_site_draws_its_uplink_latency_from_the_networks_range(sited):
    sim, result = sited
    latencies = [site.gateway.outside.link.latency for site in sim.sites["home"]]
    assert all(0.005 <= x <= 0.040 for x in latencies) and len(set(latencies)) == 12
    # the same draws in a run with more laptops: a site's draw is its own stream's
    bigger = Simulation(load_scenario(MIXED, {**SITES, "clients.0.count": 80}))
    assert [s.gateway.outside.link.latency for s in bigger.sites["home"][:12]] == latencies
    # …so home laptops' times to connect spread instead of standing in one step
    by_name = {c.name: c for c in result.clients}
    home_ttc = {by_name[c.name].time_to_connect_s for c in sim.clients if c.network == "home"}
    assert len(home_ttc) == 12


def test_a_fixed_latency_and_milliseconds():
    sim = Simulation(load_scenario(MIXED, {**SITES, "networks.home.link": {"latency": "25ms"}}))
    assert {s.gateway.outside.link.latency for s in sim.sites["home"]} == {0.025}


def test_the_result_names_each_laptops_site_uniquely_across_a_fleets_shards():
    from sim.fleet.shards import Fleet

    fleet = Fleet(load_scenario(MIXED, {"clients.0.count": 40, "duration": 60,
                                        "shard_size": 20}))
    clients = [c.as_dict() for c in fleet.run(workers=1).clients]
    home = [c["site"] for c in clients if c["network"] == "home"]
    assert home[0] == "home" and home[-1].startswith("shard1/home")
    assert len(set(home)) == len(home) == 12   # one home each, none named twice
    assert all("site" not in c for c in clients if c["network"] == "carrier-shared")


def test_a_guests_story_blames_its_own_hotels_firewall_not_one_with_the_same_address():
    # every hotel hands out the same private addresses: the first guest of each has 10.3.0.10
    from sim.report.narrative import narrate

    sim = Simulation(load_scenario(MIXED, SITES), trace=True)
    result = {c.name: c for c in sim.run().clients}
    guests = [c for c in sim.clients if c.network == "hotel"]
    firsts = {c.site: c for c in reversed(guests)}   # the first guest of each hotel
    assert len(firsts) >= 2 and len({c.host.interfaces[0].addresses[0]
                                     for c in firsts.values()}) == 1
    for guest in firsts.values():
        story = narrate(result[guest.name].as_dict(), guest.da.state.timeline(),
                        sim.kernel.trace.records, guest.host, site=guest.site)
        blamed = [line.split(" at ")[1].split(" (")[0] for line in story.splitlines()
                  if "the network dropped its packets" in line]
        assert blamed == [f"{guest.site}-firewall"], story


def test_a_sequence_names_the_devices_of_the_laptops_own_site():
    from ipaddress import ip_address

    from sim.report.capture import names_by_address

    sim = Simulation(load_scenario(MIXED, SITES))
    second = sim.sites["hotel"][1]
    guest = next(c for c in sim.clients if c.site == second.name)
    gateway = second.gateway.interfaces[0].addresses[0]
    assert gateway == sim.sites["hotel"][0].gateway.interfaces[0].addresses[0]   # shared
    names = names_by_address(sim, guest.site)
    assert names[gateway] == f"{second.name}-gw"
    assert names[guest.host.interfaces[0].addresses[0]] == guest.name
    assert names_by_address(sim)[gateway] == "hotel-gw"
    assert names[ip_address(sim.server_host.interfaces[0].addresses[0])] == \
        sim.server_host.name


def test_each_carrier_subscriber_has_its_own_last_mile():
    # a carrier's subscribers share its NAT (one instance) but not their access latency
    def carrier_times(**overrides):
        sim = Simulation(load_scenario(MIXED, {**SITES, **overrides}))
        result = {c.name: c for c in sim.run().clients}
        lan = sim.sites["carrier-shared"][0].lan
        laptops = [c for c in sim.clients if c.network == "carrier-shared"]
        return ({c.name: result[c.name].time_to_connect_s for c in laptops},
                {c.name: lan.access.get(c.host.interfaces[0], 0.0) for c in laptops})

    base, none = carrier_times(**{"networks.carrier-shared.access_latency": "0ms"})
    fixed, delays = carrier_times(**{"networks.carrier-shared.access_latency": "40ms"})
    assert set(none.values()) == {0.0} and set(delays.values()) == {0.04}
    assert len(set(base.values())) == 1          # one shared instance: one time for all
    assert all(0.2 < fixed[n] - base[n] < 1.0 for n in base)   # several round trips slower
    spread, drawn = carrier_times(**{"networks.carrier-shared.access_latency": [0.015, 0.12]})
    assert len(set(drawn.values())) == len(drawn) and all(0.015 <= d <= 0.12
                                                          for d in drawn.values())
    assert len(set(spread.values())) > 1
    # the draw is the laptop's own: the same whatever else is in its shard
    _, alone = carrier_times(**{"networks.carrier-shared.access_latency": [0.015, 0.12],
                                "clients.0.count": 20})
    assert all(drawn[n] == d for n, d in alone.items())


def test_a_laptop_that_roams_away_leaves_its_last_mile_behind():
    sim = Simulation(load_scenario(MIXED, {**SITES,
                                           "networks.carrier-shared.access_latency": "40ms"}))
    laptop = next(c for c in sim.clients if c.network == "carrier-shared")
    lan = sim.sites["carrier-shared"][0].lan
    iface = laptop.host.interfaces[0]
    assert lan.access[iface] == 0.04
    sim.roam(laptop, "home")
    assert iface not in lan.access and laptop.host.interfaces[0] not in lan.access
