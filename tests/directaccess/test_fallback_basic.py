"""Fallback order on topologies that need no NAT: public IPv4, protocol 41 blocked, UDP blocked."""

from ipaddress import IPv4Address

from sim.directaccess.client import DirectAccessClient
from sim.directaccess.profiles import profile
from sim.directaccess.server import DirectAccessServer
from sim.net.kernel import Kernel
from sim.net.packet import IPV6_IN_IPV4, UDP
from sim.net.topology import Topology

PRIMARY, SECONDARY = IPv4Address("131.107.0.1"), IPv4Address("131.107.0.2")


def outside(host):
    """An NLS probe stand-in for tests that are not about location detection."""
    yield host.kernel.env.timeout(0)
    return False, "NLS not reachable"


class Drop:
    def __init__(self, proto):
        self.proto = proto

    def outbound(self, pkt):
        return None if pkt.proto == self.proto else pkt

    def inbound(self, pkt):
        return None if pkt.proto == self.proto else pkt


def run_client(stage=None, profile_name="windows10", until=120):
    k = Kernel(seed=1, trace=True)
    topo = Topology(k)
    da_host = topo.add_public_host("da", [PRIMARY, SECONDARY])
    server = DirectAccessServer(da_host, [PRIMARY, SECONDARY], {"6to4", "teredo", "iphttps"})
    net = topo.add_network("net", "198.51.100.0/24", outside=["192.0.2.77"], routed=True)
    if stage:
        net.gateway.add_stage(stage)
    host = net.add_host("laptop")
    client = DirectAccessClient(host, server.policy(), profile(profile_name), outside)
    client.start()
    k.run(until=until)
    return client


def test_public_ipv4_connects_over_6to4():
    client = run_client()
    assert client.state.method == "6to4"
    assert client.state.connected_at < 0.1
    assert [a.result for a in client.state.attempts] == ["not_eligible", "connected"]


def test_protocol_41_blocked_falls_back_to_teredo_after_the_silent_6to4_timeout():
    client = run_client(stage=Drop(IPV6_IN_IPV4))
    assert client.state.method == "teredo"
    sixtofour = client.state.attempts[1]
    assert (sixtofour.method, sixtofour.result) == ("6to4", "failed")
    assert sixtofour.end_s == 12.0
    assert client.state.connected_at > 12.0


def test_udp_and_protocol_41_blocked_leaves_no_method_without_iphttps():
    class DropBoth:
        def outbound(self, pkt):
            return None if pkt.proto in (UDP, IPV6_IN_IPV4) else pkt

        def inbound(self, pkt):
            return pkt

    client = run_client(stage=DropBoth())
    teredo = client.state.attempts[2]
    assert (teredo.method, teredo.result) == ("teredo", "failed")
    assert teredo.end_s - teredo.start_s == 24.0
    assert client.state.method is None


def test_windows11_skips_6to4_and_teredo_by_default():
    client = run_client(profile_name="windows11")
    results = {a.method: a.result for a in client.state.attempts}
    assert results["6to4"] == "not_eligible" and results["teredo"] == "not_eligible"
