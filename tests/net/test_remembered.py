"""What the hot path remembers instead of working it out per packet (issue 22) follows every
change that could alter it: a host's source address per destination, the one-word draw."""

from ipaddress import ip_address

from sim.net.kernel import Kernel, Stream
from sim.net.link import Link
from sim.net.router import Router
from sim.net.topology import Topology

SERVER = ip_address("131.107.0.1")


def _home():
    k = Kernel(seed=3)
    topo = Topology(k)
    net = topo.add_network("home", "192.168.1.0/24", outside=["198.51.100.2"])
    return k, net, net.add_host("laptop")


def test_the_source_follows_a_changed_address():
    _k, _net, host = _home()
    iface = host.interfaces[0]
    first = host.source_for(SERVER)
    assert first == iface.addresses[0]
    host.add_address(iface, "192.168.1.77/24")
    host.remove_address(iface, first)
    assert host.source_for(SERVER) == ip_address("192.168.1.77")


def test_the_source_follows_a_changed_route():
    k, _net, host = _home()
    assert host.source_for(SERVER) == host.interfaces[0].addresses[0]
    other = Router(k, "other")
    link = Link(k, "second")
    other.add_interface(link, "10.9.0.1/24")
    second = host.add_interface(link, "10.9.0.2/24")
    host.add_route("131.107.0.0/16", second, via="10.9.0.1")
    assert host.source_for(SERVER) == ip_address("10.9.0.2")
    host.routes.remove("131.107.0.0/16")
    assert host.source_for(SERVER) == host.interfaces[0].addresses[0]


def test_a_word_drawn_alone_is_the_first_word_of_a_longer_draw():
    for seed in (0, 1, 2**63 + 5):
        alone, longer = Stream(seed), Stream(seed)
        assert alone.getrandbits(64) == longer.getrandbits(128) >> 64
        assert alone.getrandbits(64) == Stream(seed).getrandbits(192) >> 64 & (2**64 - 1)
