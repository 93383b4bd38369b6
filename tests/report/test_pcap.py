"""Exported pcaps open in tshark with real dissections: Teredo, 6in4 (protocol 41), TLS; the
header fields the model leaves out (hop limit of ND, the Teredo RA, TTL, IP ID) are what the
reference capture (Miredo through a Linux NAT) shows."""

import shutil
import subprocess
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest

from sim.net.kernel import Kernel
from sim.net.nat import Nat, nat_config
from sim.net.topology import Topology
from sim.report.capture import Capture
from sim.report.pcap import write_pcap
from sim.transition.sixtofour import SixToFourTunnel
from sim.transition.teredo import TeredoClient, TeredoServer, server_link_local

PRIMARY, SECONDARY = IPv4Address("131.107.0.1"), IPv4Address("131.107.0.2")
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
REF = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / \
    "teredo-qualification-miredo-linux-nat.pcap"
# our server's RA source: fe80::8000:f227 then 131.107.0.1 obfuscated
SERVER_LL = "fe80::8000:f227:7c94:fffe"
RA_FIELDS = ("icmpv6.nd.ra.cur_hop_limit", "icmpv6.nd.ra.flag", "icmpv6.nd.ra.flag.prf",
             "icmpv6.nd.ra.router_lifetime", "icmpv6.nd.ra.reachable_time",
             "icmpv6.nd.ra.retrans_timer", "icmpv6.opt.prefix.length", "icmpv6.opt.prefix.flag",
             "icmpv6.opt.prefix.flag.l", "icmpv6.opt.prefix.flag.a",
             "icmpv6.opt.prefix.valid_lifetime", "icmpv6.opt.prefix.preferred_lifetime",
             "icmpv6.opt.mtu")


def tshark(path, *fields, display_filter=None):
    cmd = ["tshark", "-r", str(path), "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    if display_filter:
        cmd += ["-Y", display_filter]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return [line.split("\t") for line in out.stdout.splitlines()]


def teredo_capture(tmp_path, name="teredo.pcap", at_client=False):
    """A Teredo qualification behind a port-restricted NAT, captured on the NAT's outside (or
    the laptop's NIC)."""
    k = Kernel(seed=1)
    topo = Topology(k)
    server = topo.add_public_host("da", [PRIMARY, SECONDARY])
    TeredoServer(server, PRIMARY, SECONDARY)
    net = topo.add_network("home", "192.168.1.0/24", outside=["192.0.2.77"])
    net.gateway.add_stage(Nat(k, "nat", ["192.0.2.77"], nat_config("port-restricted-cone")))
    client = net.add_host("laptop")
    iface = client.interfaces[0] if at_client else net.gateway.outside
    capture = iface.capture = Capture(iface)
    teredo = TeredoClient(client, PRIMARY, SECONDARY)
    k.env.process(teredo.qualify())
    k.run(until=30)
    path = tmp_path / name
    assert write_pcap(str(path), capture, START) == len(capture) > 0
    return path


@needs_tshark
def test_teredo_qualification_dissects_with_auth_and_origin_indication(tmp_path):
    path = teredo_capture(tmp_path)
    rows = tshark(path, "teredo.auth.nonce", "teredo.orig.port", "teredo.orig.addr",
                  "icmpv6.type", display_filter="teredo")
    assert rows, "tshark found no Teredo packets"
    types = {r[3] for r in rows}
    assert {"133", "134"} <= types  # RS and RA
    ras = [r for r in rows if r[3] == "134"]
    assert all(r[2] == "192.0.2.77" for r in ras)  # origin indication = mapped address
    assert not tshark(path, "frame.number", display_filter="_ws.malformed")


@needs_tshark
def test_teredo_encoding_matches_the_reference_capture_field_for_field(tmp_path):
    """The real Miredo qualification in shared/reference and ours dissect to the same fields."""
    if not REF.exists():
        pytest.skip("shared/reference capture not available")
    fields = ("udp.srcport", "udp.dstport", "teredo.auth.idlen", "teredo.auth.aulen",
              "teredo.orig.port", "ipv6.dst", "icmpv6.type", "icmpv6.opt.prefix")
    theirs = tshark(REF, *fields)
    ours = tshark(teredo_capture(tmp_path), *fields)
    rs_theirs = next(r for r in theirs if r[6] == "133")
    rs_ours = next(r for r in ours if r[6] == "133")
    assert rs_ours[1:6] == rs_theirs[1:6]          # to 3544, auth 0/0, no origin, ff02::2
    ra_theirs = next(r for r in theirs if r[6] == "134")
    ra_ours = next(r for r in ours if r[6] == "134")
    assert ra_ours[0] == ra_theirs[0] == "3544"
    assert ra_ours[2:4] == ra_theirs[2:4] and ra_ours[4] and ra_theirs[4]
    assert ra_ours[7].startswith("2001:0:") and ra_theirs[7].startswith("2001:0:")


@needs_tshark
def test_6in4_packets_dissect_as_ipv6_in_protocol_41(tmp_path):
    k = Kernel(seed=1)
    topo = Topology(k)
    a = topo.add_public_host("a", ["192.0.2.1"])
    b = topo.add_public_host("b", ["198.51.100.1"])
    ta = SixToFourTunnel(a, IPv4Address("192.0.2.1"), relay=None)
    SixToFourTunnel(b, IPv4Address("198.51.100.1"), relay=None)
    a.routes.add("2002::/16", ta.interface)
    b.routes.add("2002::/16", b.interfaces[-1])
    capture = a.interfaces[0].capture = []

    def proc():
        rtt = yield from a.ping(IPv6Address("2002:c633:6401::c633:6401"), via=ta.interface)
        assert rtt is not None

    k.env.process(proc())
    k.run(until=5)
    path = tmp_path / "6in4.pcap"
    write_pcap(str(path), capture, START)
    rows = tshark(path, "ip.proto", "ipv6.src", "icmpv6.type")
    assert rows == [["41", "2002:c000:201::c000:201", "128"],
                    ["41", "2002:c633:6401::c633:6401", "129"]]


@needs_tshark
def test_neighbor_discovery_goes_out_with_hop_limit_255(tmp_path):
    """RFC 4861 §6.1.1/§6.1.2: a receiver discards an RS or RA whose hop limit is not 255."""
    rows = tshark(teredo_capture(tmp_path), "icmpv6.type", "ipv6.hlim",
                  display_filter="icmpv6.type == 133 || icmpv6.type == 134")
    assert {r[0] for r in rows} == {"133", "134"}
    assert {r[1] for r in rows} == {"255"}


def test_teredo_server_link_local_address_is_formed_as_in_the_reference():
    assert str(server_link_local(IPv4Address("203.0.113.1"))) == \
        "fe80::8000:f227:34ff:8efe"   # the reference capture's server, 203.0.113.1
    assert str(server_link_local(PRIMARY)) == SERVER_LL


@needs_tshark
def test_teredo_ra_comes_from_the_servers_link_local_address(tmp_path):
    """From the primary's link-local address whichever address sent it (the cone test's RA
    comes from the secondary), to the RS's source."""
    rows = tshark(teredo_capture(tmp_path), "ip.src", "ipv6.src", "ipv6.dst",
                  display_filter="icmpv6.type == 134")
    assert {r[0] for r in rows} == {str(PRIMARY), str(SECONDARY)}
    assert {r[1] for r in rows} == {SERVER_LL}
    assert {r[2] for r in rows} <= {"fe80::8000:ffff:ffff:ffff", "fe80::ffff:ffff:ffff"}


@needs_tshark
def test_teredo_ra_fields_match_the_reference(tmp_path):
    """Preference medium, no flags, retrans timer 2000 ms; the prefix option with A, not L, a
    /64, infinite lifetimes; MTU 1280: Miredo's RA, the reference's values."""
    ours = tshark(teredo_capture(tmp_path), *RA_FIELDS, display_filter="icmpv6.type == 134")
    assert ours and all(r == ours[0] for r in ours)
    assert ours[0] == ["0", "0x00", "0", "0", "0", "2000", "64", "0x40", "0", "1",
                       "4294967295", "4294967295", "1280"]
    if REF.exists():
        assert tshark(REF, *RA_FIELDS, display_filter="icmpv6.type == 134") == [ours[0]]


@needs_tshark
def test_ttl_counts_the_routers_crossed_before_the_capture_point(tmp_path):
    """On the NAT's outside both ways 63, as in the reference (the NAT, or the Internet's
    router, forwarded it); on the laptop's NIC, 64 out and 62 in (Internet and NAT)."""
    rows = tshark(teredo_capture(tmp_path), "ip.src", "ip.ttl")
    assert rows and {r[1] for r in rows} == {"63"}
    if REF.exists():
        assert {r[1] for r in tshark(REF, "ip.src", "ip.ttl")} == {"63"}
    rows = tshark(teredo_capture(tmp_path, "client.pcap", at_client=True), "ip.src", "ip.ttl")
    assert {r[1] for r in rows if r[0].startswith("192.168.1.")} == {"64"}
    assert {r[1] for r in rows if r[0] in (str(PRIMARY), str(SECONDARY))} == {"62"}


@needs_tshark
def test_ip_ids_vary_per_packet_and_the_same_seed_gives_the_same_bytes(tmp_path):
    first, second = teredo_capture(tmp_path, "a.pcap"), teredo_capture(tmp_path, "b.pcap")
    assert first.read_bytes() == second.read_bytes()
    rows = tshark(first, "ip.src", "ip.dst", "ip.id")
    ids = [int(r[2], 16) for r in rows]
    assert len(set(ids)) == len(ids) > 4        # no repeats (scapy's default is 1 for all)
    flows: dict = {}
    for src, dst, ident in rows:
        flows.setdefault((src, dst), []).append(int(ident, 16))
    for seq in flows.values():                  # a flow counts up by one per packet
        assert seq == [(seq[0] + i) & 0xFFFF for i in range(len(seq))]
