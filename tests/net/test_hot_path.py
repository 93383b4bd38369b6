"""The packet fast path (a cable's wire, ``Hop`` events) behaves exactly like the general one:
same arrival times, traces and captures; link settings changed mid-run take effect."""

from ipaddress import ip_address

import pytest

from sim.net.firewall import Firewall
from sim.net.host import Host
from sim.net.kernel import Kernel
from sim.net.link import Link
from sim.net.nat import Nat, nat_config
from sim.net.node import Interface
from sim.net.topology import Topology
from sim.transition.tunnel import TunnelInterface

SERVER = ip_address("131.107.0.1")


def _run(seed: int = 1):
    """Ping-pong through firewall + NAT with tracing and captures on; the access link goes
    lossy, then down, then back up with jitter and a bandwidth limit while packets fly."""
    k = Kernel(seed=seed, trace=True)
    topo = Topology(k)
    net = topo.add_network("home", "192.168.1.0/24", outside=["198.51.100.2"])
    net.gateway.add_stage(Firewall(k, "fw", ["udp/3478"], default="deny"))
    net.gateway.add_stage(Nat(k, "nat", ["198.51.100.2"], nat_config("linux-masquerade")))
    client = net.add_host("client")
    server = topo.add_public_host("server", [SERVER])
    echo = server.udp_open(3478)
    echo.on_packet = lambda p: echo.sendto(p.src, p.sport, None, 32, src=p.dst)
    caps = {"client": [], "gw-out": [], "server": []}
    client.interfaces[0].capture = caps["client"]
    net.gateway.outside.capture = caps["gw-out"]
    server.interfaces[0].capture = caps["server"]
    sock = client.udp_open()
    got = []

    def on_reply(p):
        got.append(k.now)
    sock.on_packet = on_reply
    uplink = net.gateway.outside.link

    def change(t, **settings):
        def apply(_ev):
            for name, value in settings.items():
                setattr(uplink, name, value)
        k.env.timeout(t).callbacks.append(apply)

    def client_proc():
        for _ in range(60):
            sock.sendto(SERVER, 3478, None, 32)
            yield k.env.timeout(0.05)

    change(0.5, loss=0.5)
    change(1.0, loss=0.0, up=False)
    change(1.5, up=True, jitter=0.004, bandwidth=1e5)
    change(2.5, jitter=0.0, bandwidth=None)
    k.env.process(client_proc())
    k.run()
    trace = [(r.t, r.node, r.kind, repr(r.fields)) for r in k.trace.records]
    caps = {name: [(t, d, repr(p)) for t, d, p in c] for name, c in caps.items()}
    return got, trace, caps


def test_fast_path_matches_the_general_path(monkeypatch):
    fast = _run()
    assert 0 < len(fast[0]) < 60  # some replies lost or dropped, some came back
    monkeypatch.setattr(Link, "_rewire", lambda self: [
        setattr(end, "_wire", None) for end in self.ends])
    slow = _run()
    assert fast == slow


def test_captures_see_every_packet_in_and_out():
    got, _trace, caps = _run()
    client = caps["client"]
    assert sum(d == "out" for _t, d, _p in client) == 60
    assert sum(d == "in" for _t, d, _p in client) == len(got)
    server = caps["server"]
    assert sum(d == "in" for _t, d, _p in server) == sum(d == "out" for _t, d, _p in server)


def test_same_seed_same_trace_other_seed_differs():
    assert _run(5) == _run(5)
    assert _run(5)[1] != _run(6)[1]


@pytest.mark.parametrize("setting, value, reason", [
    ("up", False, "is down"), ("loss", 1.0, "lost on link"),
])
def test_link_settings_changed_after_construction_take_effect(setting, value, reason):
    k = Kernel(seed=1, trace=True)
    topo = Topology(k)
    net = topo.add_network("home", "192.168.1.0/24", outside=["198.51.100.2"], routed=True)
    client = net.add_host("client")
    server = topo.add_public_host("server", [SERVER])
    got = []
    server.udp_open(7, on_packet=got.append)
    assert client.interfaces[0]._wire is not None
    setattr(net.lan, setting, value)
    assert client.interfaces[0]._wire is None
    client.udp_open().sendto(SERVER, 7)
    k.run()
    assert got == [] and reason in k.trace.of_kind("drop")[0].fields["reason"]


def test_a_third_end_turns_a_cable_into_a_segment():
    """Delivery by next hop on a segment, on the fast path too; an unknown next hop is
    reported by the general path."""
    k = Kernel(seed=1, trace=True)
    link = Link(k, "seg")
    a, b, c = Host(k, "a"), Host(k, "b"), Host(k, "c")
    ia = a.add_interface(link, "10.0.0.1/24")
    b.add_interface(link, "10.0.0.2/24")
    assert ia._wire[3] is None            # a cable: the other end, fixed
    c.add_interface(link, "10.0.0.3/24")
    assert ia._wire[3] is link.by_key     # a segment: the end that owns the next hop
    got = []
    c.udp_open(7, on_packet=got.append)
    a.udp_open().sendto(ip_address("10.0.0.3"), 7)
    a.udp_open().sendto(ip_address("10.0.0.9"), 7)   # nobody owns it
    k.run()
    assert len(got) == 1 and got[0].dst == ip_address("10.0.0.3")
    assert k.drops == 1
    assert "no host 10.0.0.9 on segment seg" in k.trace.of_kind("drop")[0].fields["reason"]


def test_interfaces_with_their_own_send_never_get_a_wire():
    class Counting(Interface):
        __slots__ = ("sent",)

        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            self.sent = 0

        def send(self, pkt, next_hop):
            self.sent += 1
            super().send(pkt, next_hop)

    k = Kernel(seed=1)
    link = Link(k, "cable")
    a, b = Host(k, "a"), Host(k, "b")
    ia = a.add_interface(link, "10.0.0.1/24", iface_class=Counting)
    b.add_interface(link, "10.0.0.2/24")
    assert ia._wire is None
    got = []
    b.udp_open(7, on_packet=got.append)
    a.udp_open().sendto(ip_address("10.0.0.2"), 7)
    k.run()
    assert ia.sent == 1 and len(got) == 1
    assert TunnelInterface(a, "t", None, ["2001:db8::1/64"])._wire is None


@pytest.mark.parametrize("fast", [True, False])
def test_one_packet_object_in_flight_twice_arrives_twice(fast):
    """A packet is its own event while it crosses a link; the same object sent again before
    it arrives (a shared inner packet) rides in a wrapper event, and both copies arrive, in
    order, on the fast path and on the general one."""
    from sim.net.packet import UDP, Packet

    k = Kernel(seed=1)
    link = Link(k, "cable", latency=0.01)
    a, b = Host(k, "a"), Host(k, "b")
    ia = a.add_interface(link, "10.0.0.1/24")
    b.add_interface(link, "10.0.0.2/24")
    if not fast:
        link.jitter = 0.0001   # any per-packet decision takes the general path
    assert (ia._wire is not None) is fast
    got = []
    b.udp_open(7, on_packet=lambda p: got.append((k.now, p)))
    pkt = Packet(ip_address("10.0.0.1"), ip_address("10.0.0.2"), UDP, 1000, 7, size=28)
    a.send(pkt)
    k.env.timeout(0.005).callbacks.append(lambda _e: a.send(pkt))
    k.run()
    assert [p for _, p in got] == [pkt, pkt]
    assert got[0][0] == pytest.approx(0.01, abs=2e-4)
    assert got[1][0] == pytest.approx(0.015, abs=2e-4)
    assert pkt.callbacks is None   # no longer in flight


@pytest.mark.parametrize("fast", [True, False])
def test_an_end_s_last_mile_delays_what_it_sends_and_receives(fast, monkeypatch):
    """A subscriber's own access delay on a segment (a carrier's LAN) and on a cable: every
    packet to or from it takes the link's latency plus the last miles of both ends, on the
    fast path and on the general one; the others' packets do not."""
    if not fast:
        monkeypatch.setattr(Link, "_rewire", lambda self: [
            setattr(end, "_wire", None) for end in self.ends])
    k = Kernel(seed=1)
    seg = Link(k, "seg", latency=0.001)
    a, b, c = Host(k, "a"), Host(k, "b"), Host(k, "c")
    ia = a.add_interface(seg, "10.0.0.1/24")
    b.add_interface(seg, "10.0.0.2/24")
    c.add_interface(seg, "10.0.0.3/24")
    seg.set_access_delay(ia, 0.040)
    cable = Link(k, "cable", latency=0.001)
    d, e = Host(k, "d"), Host(k, "e")
    id_ = d.add_interface(cable, "10.1.0.1/24")
    e.add_interface(cable, "10.1.0.2/24")
    cable.set_access_delay(id_, 0.010)
    assert (ia._wire is not None and id_._wire is not None) == fast   # last miles keep wires
    arrived = {}
    for host, port in ((a, 7), (b, 7), (c, 7), (e, 7)):
        host.udp_open(port, on_packet=lambda p, n=host.name: arrived.setdefault(n, k.now))
    b.udp_open().sendto(ip_address("10.0.0.1"), 7)   # to the subscriber
    a.udp_open().sendto(ip_address("10.0.0.3"), 7)   # from it
    c.udp_open().sendto(ip_address("10.0.0.2"), 7)   # between two others
    d.udp_open().sendto(ip_address("10.1.0.2"), 7)   # a cable
    k.run()
    assert arrived == pytest.approx({"a": 0.041, "c": 0.041, "b": 0.001, "e": 0.011})
    assert seg.access == {ia: 0.040}
    seg.detach(ia)
    assert seg.access == {} and ia.access_delay == 0.0
