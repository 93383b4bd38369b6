"""Jitter keeps each flow's order (a real path queues, it does not reorder a flow); a link
asked to reorder (``reorder``) lets each packet's jitter be its own."""

from ipaddress import ip_address
from itertools import pairwise

from sim.net.kernel import Kernel
from sim.net.topology import Topology

SERVER = ip_address("131.107.0.1")


def _arrivals(reorder: bool, flows: int = 1, packets: int = 200):
    """``packets`` numbered datagrams per flow, one every millisecond, over an uplink of 40 ms
    with 5 ms of jitter; what the server received, as (time, flow, number)."""
    k = Kernel(seed=3)
    topo = Topology(k)
    net = topo.add_network("home", "192.0.2.0/24", outside=["198.51.100.2"], latency=0.040,
                           link_options={"jitter": 0.005, "reorder": reorder})
    client = net.add_host("laptop")
    server = topo.add_public_host("server", [SERVER])
    got = []
    sink = server.udp_open(3478)
    sink.on_packet = lambda p: got.append((k.now, p.sport, p.payload))
    socks = [client.udp_open() for _ in range(flows)]

    def send():
        for n in range(packets):
            for sock in socks:
                sock.sendto(SERVER, 3478, n, 32)
            yield k.env.timeout(0.001)

    k.env.process(send())
    k.run()
    return got, [s.port for s in socks]


def test_jitter_keeps_a_flows_order():
    got, _ports = _arrivals(reorder=False)
    assert [n for _t, _f, n in got] == list(range(200))
    times = [t for t, _f, _n in got]
    gaps = {round(b - a, 6) for a, b in pairwise(times)}
    assert len(gaps) > 20   # still jittered: the gaps vary


def test_jitter_delays_a_packet_no_more_than_its_flow_needs():
    """Two flows: each keeps its order, and one flow's packets may overtake the other's."""
    got, ports = _arrivals(reorder=False, flows=2)
    for port in ports:
        assert [n for _t, f, n in got if f == port] == list(range(200))
    overtaken = sum(1 for (_t, fa, na), (_u, fb, nb) in pairwise(got)
                    if fa != fb and nb < na)
    assert overtaken > 0


def test_reorder_lets_a_flows_packets_overtake_each_other():
    got, _ports = _arrivals(reorder=True)
    numbers = [n for _t, _f, n in got]
    assert sorted(numbers) == list(range(200))   # nothing lost
    assert numbers != list(range(200))


def test_a_flow_in_order_sees_the_same_jitter_draws_as_one_reordered():
    """Keeping order only holds a packet back: the one that would overtake arrives just after
    its predecessor, never earlier than its own draw."""
    ordered, _ = _arrivals(reorder=False)
    free, _ = _arrivals(reorder=True)
    own = {n: t for t, _f, n in free}
    for t, _f, n in ordered:
        assert t >= own[n] - 1e-12
    assert sum(t == own[n] for t, _f, n in ordered) > 100
