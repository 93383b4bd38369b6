"""Cut-through (``sim.net.cutthrough``): packets cross the Internet in one event, with the
same results as hop by hop, also when the Internet's routes and links change while packets
are on their way to it."""

from ipaddress import ip_address, ip_network

import pytest

from sim.net.fastpath import events_scheduled
from sim.net.kernel import Kernel
from sim.net.topology import Topology
from sim.scenario import load_scenario
from sim.scenario.build import Simulation
from tests.scenario_library.conftest import SCENARIOS

A, B = ip_address("192.0.2.1"), ip_address("198.51.100.1")
LIBRARY = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


def _both_ways(monkeypatch, run):
    """``run()`` hop by hop, then with cut-through: both results and event counts."""
    monkeypatch.setattr(Kernel, "cut_through", False)
    hop_by_hop = run()
    monkeypatch.setattr(Kernel, "cut_through", True)
    return hop_by_hop, run()


def _stream():
    """A sends a datagram to B every millisecond for a second; meanwhile B's access link
    gets slower, the Internet loses and regains its route to B, and the link goes down and
    up, each while packets are on their way to the Internet."""
    k = Kernel(seed=1)
    topo = Topology(k)
    a = topo.add_public_host("a", [A], latency=0.004)
    b = topo.add_public_host("b", [B], latency=0.003)
    got = []
    sink = b.udp_open(9)
    sink.on_packet = lambda p: got.append((k.now, p.payload))
    sock = a.udp_open()
    b_link = b.interfaces[0].link
    inet = topo.internet
    to_b = next(i for i in inet.interfaces if i.link is b_link)

    def send():
        for n in range(1000):
            sock.sendto(B, 9, n, 32)
            yield k.env.timeout(0.001)

    def at(t, change):
        k.env.timeout(t).callbacks.append(lambda _e: change())

    at(0.2505, lambda: setattr(b_link, "latency", 0.020))
    at(0.4005, lambda: inet.routes.remove(ip_network(f"{B}/32")))
    at(0.5005, lambda: inet.routes.add(ip_network(f"{B}/32"), to_b))
    at(0.6005, lambda: setattr(b_link, "up", False))
    at(0.7005, lambda: setattr(b_link, "up", True))
    at(0.8005, lambda: setattr(b_link, "loss", 0.3))
    at(0.9005, lambda: setattr(b_link, "loss", 0.0))
    k.env.process(send())
    k.run()
    return got, k.drops, events_scheduled(k.env)


def test_changes_while_packets_are_on_their_way_apply_as_hop_by_hop(monkeypatch):
    (got, drops, events), (got_cut, drops_cut, events_cut) = _both_ways(monkeypatch, _stream)
    assert got == got_cut and drops == drops_cut
    assert 200 < drops < 260 and len(got) + drops == 1000
    assert events_cut < events   # the hops into the Internet were cut through


@pytest.mark.parametrize("name", LIBRARY)
def test_every_library_scenario_gives_the_same_result_both_ways(monkeypatch, name):
    overrides = {"clients.0.count": 30, "duration": 900} if name in (
        "mixed-fleet", "fleet-rollout", "gpo-rollout") else {}

    def run():
        sim = Simulation(load_scenario(SCENARIOS / f"{name}.yaml", overrides))
        return sim.run().as_dict(), events_scheduled(sim.kernel.env)

    (result, events), (result_cut, events_cut) = _both_ways(monkeypatch, run)
    assert result == result_cut
    assert events_cut < events


def test_a_traced_run_forwards_hop_by_hop():
    """Whoever reads a trace sees every hop: with tracing on nothing is cut through."""
    def events(trace):
        k = Kernel(seed=1, trace=trace)
        topo = Topology(k)
        a = topo.add_public_host("a", [A])
        topo.add_public_host("b", [B]).udp_open(9)
        a.udp_open().sendto(B, 9, None, 32)
        k.run()
        return events_scheduled(k.env)

    assert events(trace=True) == events(trace=False) + 1
