"""The network core: links, routing, gateways, the Internet, UDP sockets, determinism."""

from ipaddress import ip_address

from sim.net.host import Host
from sim.net.internet import Internet
from sim.net.kernel import Kernel
from sim.net.link import Link
from sim.net.router import Gateway


def build(kernel: Kernel, loss: float = 0.0):
    """client — LAN — gateway — access link — Internet — server."""
    inet = Internet(kernel)
    lan = Link(kernel, "lan", latency=0.002)
    access = Link(kernel, "access", latency=0.010, loss=loss)
    srv_link = Link(kernel, "srv", latency=0.005)
    client = Host(kernel, "client")
    client.add_interface(lan, "203.0.113.10/24")
    client.add_route("0.0.0.0/0", via="203.0.113.1")
    gw = Gateway(kernel, "gw")
    gw.add_interface(lan, "203.0.113.1/24")
    gw.set_outside(gw.add_interface(access, "198.51.100.2/30"))
    gw.add_route("0.0.0.0/0", via="198.51.100.1")
    inet_access = inet.add_interface(access, "198.51.100.1/30")
    inet.connect(inet_access, ["203.0.113.0/24"])
    server = Host(kernel, "server")
    server.add_interface(srv_link, "131.107.0.1/24")
    server.add_route("0.0.0.0/0", via="131.107.0.254")
    inet.add_interface(srv_link, "131.107.0.254/24")
    return client, gw, server, inet


def echo_server(server: Host, port: int = 7):
    sock = server.udp_open(port, on_packet=None)

    def on_packet(pkt):
        sock.sendto(pkt.src, pkt.sport, payload=pkt.payload, payload_size=pkt.size - 28)

    sock.on_packet = on_packet
    return sock


def test_udp_round_trip_takes_the_sum_of_link_latencies():
    k = Kernel(seed=1)
    client, _gw, server, _inet = build(k)
    echo_server(server)
    sock = client.udp_open()
    got = []

    def proc():
        sock.sendto(ip_address("131.107.0.1"), 7, payload="hi", payload_size=2)
        pkt = yield sock.recv(timeout=5)
        got.append((k.now, pkt.payload))

    k.env.process(proc())
    k.run()
    assert got == [(2 * (0.002 + 0.010 + 0.005), "hi")]


def test_internet_drops_private_destinations_with_the_reason():
    k = Kernel(seed=1, trace=True)
    client, _gw, _server, _inet = build(k)
    sock = client.udp_open()
    sock.sendto(ip_address("10.1.2.3"), 7)
    k.run()
    drops = k.trace.of_kind("drop")
    assert len(drops) == 1 and "RFC 1918" in drops[0].fields["reason"]


def test_recv_times_out_with_none():
    k = Kernel(seed=1)
    client, *_ = build(k)
    sock = client.udp_open()
    out = []

    def proc():
        pkt = yield sock.recv(timeout=4.0)
        out.append((k.now, pkt))

    k.env.process(proc())
    k.run()
    assert out == [(4.0, None)]


def _lossy_outcome(seed: int) -> list[bool]:
    k = Kernel(seed=seed, trace=True)
    client, _gw, server, _inet = build(k, loss=0.3)
    echo_server(server)
    sock = client.udp_open()
    answers = []

    def proc():
        for _ in range(40):
            sock.sendto(ip_address("131.107.0.1"), 7, payload_size=10)
            answers.append((yield sock.recv(timeout=1.0)) is not None)

    k.env.process(proc())
    k.run()
    return answers, [(r.t, r.node, r.kind, r.fields.get("reason")) for r in k.trace.records]


def test_same_seed_gives_identical_traces_and_another_seed_changes_a_lossy_link():
    a, trace_a = _lossy_outcome(7)
    b, trace_b = _lossy_outcome(7)
    c, _ = _lossy_outcome(8)
    assert a == b and trace_a == trace_b
    assert a != c
    assert 0 < sum(a) < len(a)


def test_named_streams_are_independent_of_creation_order():
    k1, k2 = Kernel(seed=3), Kernel(seed=3)
    k1.rng("other")
    assert k1.rng("link:x").random() == k2.rng("link:x").random()
