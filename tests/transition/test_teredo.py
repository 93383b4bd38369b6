"""Teredo addresses and qualification across the modeled network (RFC 4380 §4, §5.2.1)."""

from ipaddress import IPv4Address, IPv6Address

import pytest
from scapy.utils6 import teredoAddrExtractInfo

from sim.net.kernel import Kernel
from sim.net.packet import UDP
from sim.net.topology import Topology
from sim.transition.teredo import (
    TeredoClient,
    TeredoServer,
    parse_teredo_address,
    teredo_address,
)

PRIMARY, SECONDARY = IPv4Address("131.107.0.1"), IPv4Address("131.107.0.2")


def test_rfc4380_worked_example_decodes_like_scapy():
    addr = IPv6Address("2001:0:4136:e378:8000:63bf:3fff:fdd2")
    info = parse_teredo_address(addr)
    assert (str(info.server), info.port, str(info.mapped), info.cone) == (
        "65.54.227.120", 40000, "192.0.2.45", True)
    server, _flags, client, port = teredoAddrExtractInfo(str(addr))
    assert (server, port, client) == ("65.54.227.120", 40000, "192.0.2.45")
    assert teredo_address(IPv4Address("65.54.227.120"), IPv4Address("192.0.2.45"), 40000,
                          cone=True) == addr


@pytest.mark.parametrize("bits", [0, 1, 0xFFF, 0x5A5])
def test_windows_random_flag_bits_keep_cone_and_ug_bits(bits):
    addr = teredo_address(PRIMARY, IPv4Address("192.0.2.45"), 40000, cone=False,
                          random_bits=bits)
    flags = parse_teredo_address(addr).flags
    assert flags & 0x8000 == 0 and flags & 0x0300 == 0  # C, U and G stay clear (RFC 5991)
    assert parse_teredo_address(addr).port == 40000


def microsoft_example_obfuscation():
    # WIN32-TEREDO: port 5000 -> 0xEC77; 131.107.0.1 -> 7C94:FFFE
    addr = teredo_address(PRIMARY, IPv4Address("131.107.0.1"), 5000, cone=False)
    return int(addr) >> 32 & 0xFFFF, int(addr) & 0xFFFFFFFF


def test_port_and_address_are_obfuscated_like_microsofts_example():
    assert microsoft_example_obfuscation() == (0xEC77, 0x7C94FFFE)


class DropUdp:
    """A firewall-like stage that drops every outbound UDP datagram (a hotel)."""

    def outbound(self, pkt):
        return None if pkt.proto == UDP else pkt

    def inbound(self, pkt):
        return pkt


def world(client_prefix="198.51.100.0/24", routed=True, stage=None):
    k = Kernel(seed=1, trace=True)
    topo = Topology(k)
    server = topo.add_public_host("da", [PRIMARY, SECONDARY])
    TeredoServer(server, PRIMARY, SECONDARY)
    net = topo.add_network("net", client_prefix, outside=["192.0.2.77"], routed=routed)
    if stage is not None:
        net.gateway.add_stage(stage)
    client = net.add_host("laptop")
    return k, client


def test_public_client_qualifies_as_cone_in_one_round_trip():
    k, client = world()
    teredo = TeredoClient(client, PRIMARY, SECONDARY)
    k.env.process(teredo.qualify())
    k.run(until=30)
    st = teredo.status
    assert (st.state, st.nat) == ("qualified", "cone")
    assert st.history[-1][0] < 0.1 and st.history[-1][1]["state"] == "qualified"
    info = parse_teredo_address(st.address)
    assert info.mapped == IPv4Address("198.51.100.10") and info.server == PRIMARY


def test_udp_blocked_goes_offline_after_two_phases_of_three_solicitations():
    k, client = world(stage=DropUdp())
    teredo = TeredoClient(client, PRIMARY, SECONDARY)
    k.env.process(teredo.qualify())
    k.run(until=60)
    assert teredo.status.state == "offline"
    assert teredo.status.history[-1][0] == pytest.approx(24.0)


def test_server_drops_solicitations_from_non_global_sources():
    # A routed private network: 10.x reaches the server without NAT (F3.9, S21).
    k, client = world(client_prefix="10.9.0.0/24")
    teredo = TeredoClient(client, PRIMARY, SECONDARY)
    k.env.process(teredo.qualify())
    k.run(until=60)
    assert teredo.status.state == "offline"
    reasons = [r.fields["reason"] for r in k.trace.of_kind("drop")]
    assert any("not global" in r for r in reasons)


def behind_nat(preset: str, **overrides):
    from sim.net.nat import Nat, nat_config

    k = Kernel(seed=1, trace=True)
    topo = Topology(k)
    server = topo.add_public_host("da", [PRIMARY, SECONDARY])
    TeredoServer(server, PRIMARY, SECONDARY)
    net = topo.add_network("home", "192.168.1.0/24", outside=["192.0.2.77"])
    net.gateway.add_stage(Nat(k, "home-nat", ["192.0.2.77"], nat_config(preset, **overrides)))
    client = net.add_host("laptop")
    teredo = TeredoClient(client, PRIMARY, SECONDARY)
    k.env.process(teredo.qualify())
    k.run(until=60)
    return teredo


def test_full_cone_nat_qualifies_as_cone_in_one_round_trip():
    teredo = behind_nat("full-cone")
    assert (teredo.status.state, teredo.status.nat) == ("qualified", "cone")
    assert teredo.status.history[-1][0] < 0.1
    assert parse_teredo_address(teredo.status.address).mapped == IPv4Address("192.0.2.77")


def test_port_restricted_nat_qualifies_as_restricted_after_the_cone_phase():
    teredo = behind_nat("port-restricted-cone")
    assert (teredo.status.state, teredo.status.nat) == ("qualified", "restricted")
    when = teredo.status.history[-1][0]
    assert 12.0 < when < 12.2  # 3 × 4 s, then one RTT to each server address


def test_symmetric_nat_fails_on_the_secondary_address_check():
    teredo = behind_nat("symmetric")
    assert (teredo.status.state, teredo.status.nat) == ("offline", "symmetric")
    assert 12.0 < teredo.status.history[-1][0] < 12.2


def test_linux_masquerade_looks_restricted_to_teredo():
    teredo = behind_nat("linux-masquerade")
    assert teredo.status.nat == "restricted"
    mapped_port = parse_teredo_address(teredo.status.address).port
    assert str(mapped_port) == teredo.status.local_mapping.rsplit(":", 1)[1]


def test_linux_masquerade_with_conntracks_hold_looks_symmetric_after_the_cone_test():
    # The cone test's RAs from the secondary address are filtered; conntrack's UNREPLIED entry
    # then gives the solicitation to the secondary another port (measured: docs/crosscheck.md)
    from sim.net.nat import UDP_UNREPLIED

    teredo = behind_nat("linux-masquerade", unreplied_hold=UDP_UNREPLIED)
    assert (teredo.status.state, teredo.status.nat) == ("offline", "symmetric")


def refreshing_client(udp_timeout: float):
    """A Teredo client refreshing for 10 minutes behind a full-cone NAT that allocates ports
    sequentially (so a lost binding shows as a new port, hence a new Teredo address)."""
    from sim.net.nat import Nat, nat_config

    k = Kernel(seed=2, trace=True)
    topo = Topology(k)
    server = topo.add_public_host("da", [PRIMARY, SECONDARY])
    TeredoServer(server, PRIMARY, SECONDARY)
    net = topo.add_network("home", "192.168.1.0/24", outside=["192.0.2.77"])
    net.gateway.add_stage(Nat(k, "nat", ["192.0.2.77"],
                              nat_config("full-cone", port_allocation="sequential",
                                         udp_timeout=udp_timeout)))
    teredo = TeredoClient(net.add_host("laptop"), PRIMARY, SECONDARY)
    teredo.start()
    k.run(until=600)
    return teredo, k.trace.of_kind("teredo-address-changed")


def test_refresh_longer_than_the_nat_timeout_loses_the_binding_each_time():
    # The 30 s refresh (22.5-30 s) outlives a 20 s NAT binding: each refresh finds a new
    # sequential port, so the Teredo address keeps changing.
    _teredo, changes = refreshing_client(udp_timeout=20)
    assert len(changes) > 5


def test_refresh_within_the_nat_timeout_keeps_one_address():
    teredo, changes = refreshing_client(udp_timeout=120)
    assert changes == []
    assert teredo.status.state == "qualified"


def solicitations_with_pings(ping_every: float | None, pings_until: float = 600):
    """Times of the refresh RSs a qualified public client sends the server in 10 minutes,
    while it pings an address of the server host through the tunnel every ``ping_every``
    seconds (as the connectivity assistant does) until ``pings_until``."""
    k = Kernel(seed=1, trace=True)
    topo = Topology(k)
    server = topo.add_public_host("da", [PRIMARY, SECONDARY])
    server.add_address(server.interfaces[0], "2001:db8:1::1/128")
    TeredoServer(server, PRIMARY, SECONDARY)
    client = topo.add_network("net", "198.51.100.0/24", outside=["192.0.2.77"],
                              routed=True).add_host("laptop")
    teredo = TeredoClient(client, PRIMARY, SECONDARY)
    teredo.start()
    answered = []

    def pinger():
        yield k.env.timeout(5)
        while k.env.now < pings_until:
            rtt = yield from client.ping(IPv6Address("2001:db8:1::1"), via=teredo.interface)
            answered.append(rtt is not None)
            yield k.env.timeout(ping_every - (rtt or 4.0))

    if ping_every is not None:
        k.env.process(pinger())
    k.run(until=600)
    sent = [r.t for r in k.trace.of_kind("teredo-ra") if r.t > 1]   # after qualification
    return sent, answered, teredo


def test_an_idle_client_refreshes_every_22_5_to_30_s():
    sent, _answered, teredo = solicitations_with_pings(None)
    gaps = [b - a for a, b in zip([0.0, *sent], sent, strict=False)]
    assert len(sent) >= 600 // 30 and all(22.5 <= g <= 30.1 for g in gaps)
    assert teredo.status.state == "qualified"


def test_traffic_from_the_server_postpones_the_refresh():
    # RFC 4380 §5.2.5, F3.7: an RS only when nothing came from the server within the
    # randomised interval. Echo replies relayed by the server every 10 s leave nothing to do.
    sent, answered, teredo = solicitations_with_pings(10, pings_until=300)
    assert answered and all(answered)
    assert sent and all(t > 300 for t in sent)   # none while the pings ran
    assert sent[0] <= 300 + 30.1                 # and back on schedule once they stop
    assert teredo.status.state == "qualified"
