"""``NatConfig.unreplied_hold``: Linux conntrack's UNREPLIED entry for an inbound UDP datagram
that no mapping admits holds its (external port, remote) for 30 s, re-armed by each such
datagram, so a later flow from inside to that remote leaves by another port. Measured with
iptables MASQUERADE in network namespaces (tests/realsoftware, docs/crosscheck.md)."""

from ipaddress import ip_address

import pytest

from sim.net.kernel import Kernel
from sim.net.nat import UDP_UNREPLIED, Nat, NatConfig, nat_config
from sim.net.topology import Topology

A, B = ip_address("131.107.0.1"), ip_address("131.107.0.2")
EXT = ip_address("192.0.2.77")


def ports_seen(gap: float, preset: str = "linux-masquerade", hold: float = UDP_UNREPLIED):
    """The laptop (port 40000) sends to A:3544; B:3544 sends to the mapping (filtered);
    ``gap`` s later the laptop sends to B, then to A, then B answers the port B saw. Returns
    the external ports A and B saw, in order, and what came back to the laptop."""
    k = Kernel(seed=1, trace=True)
    topo = Topology(k)
    net = topo.add_network("home", "192.168.1.0/24", outside=[str(EXT)])
    net.gateway.add_stage(Nat(k, "nat", [EXT], nat_config(preset, unreplied_hold=hold)))
    laptop = net.add_host("laptop").udp_open(40000)
    back = []
    laptop.on_packet = lambda p: back.append((p.src, p.sport))
    seen = []
    server = topo.add_public_host("server", [A, B]).udp_open(
        3544, on_packet=lambda p: seen.append((p.dst, p.sport)))
    steps = [(0, lambda: laptop.sendto(A, 3544)),
             (1, lambda: server.sendto(EXT, 40000, src=B)),
             (1 + gap, lambda: laptop.sendto(B, 3544)),
             (2 + gap, lambda: laptop.sendto(A, 3544)),
             (3 + gap, lambda: server.sendto(EXT, seen[1][1], src=B))]

    def script():
        for t, act in steps:
            yield k.env.timeout(t - k.env.now)
            act()
    k.env.process(script())
    k.run(until=5 + gap)
    return [(str(dst), port) for dst, port in seen], back


def test_a_filtered_datagram_holds_its_port_towards_its_sender():
    seen, back = ports_seen(gap=10)
    (a1, p1), (b, p2), (a2, p3) = seen
    assert (a1, b, a2) == (str(A), str(B), str(A))
    assert p1 == p3 == 40000 != p2          # B gets another port; A keeps the preserved one
    assert back == [(B, 3544)]              # and B's answer to that port gets in


def test_the_hold_ends_30_s_after_the_filtered_datagram():
    seen, _ = ports_seen(gap=31)
    assert [port for _, port in seen] == [40000, 40000, 40000]


def test_without_the_hold_the_mapping_is_endpoint_independent():
    seen, _ = ports_seen(gap=10, hold=0)
    assert [port for _, port in seen] == [40000, 40000, 40000]


@pytest.mark.parametrize("preset", ["linux-masquerade", "linux-masquerade-random-fully",
                                    "port-restricted-cone"])
def test_the_presets_ship_without_the_hold_and_the_measured_value_is_30_s(preset):
    # off until the modeled Windows order is settled (docs/crosscheck.md)
    assert nat_config(preset).unreplied_hold == 0 and UDP_UNREPLIED == 30.0


def test_a_negative_hold_is_refused():
    with pytest.raises(ValueError, match="unreplied_hold"):
        NatConfig(unreplied_hold=-1)
