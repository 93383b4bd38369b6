"""Exported pcaps open in tshark with real dissections: Teredo, 6in4 (protocol 41), TLS."""

import shutil
import subprocess
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address

import pytest

from sim.net.kernel import Kernel
from sim.net.nat import Nat, nat_config
from sim.net.topology import Topology
from sim.report.pcap import write_pcap
from sim.transition.sixtofour import SixToFourTunnel
from sim.transition.teredo import TeredoClient, TeredoServer

PRIMARY, SECONDARY = IPv4Address("131.107.0.1"), IPv4Address("131.107.0.2")
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


def tshark(path, *fields, display_filter=None):
    cmd = ["tshark", "-r", str(path), "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    if display_filter:
        cmd += ["-Y", display_filter]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return [line.split("\t") for line in out.stdout.splitlines()]


def teredo_capture(tmp_path):
    k = Kernel(seed=1)
    topo = Topology(k)
    server = topo.add_public_host("da", [PRIMARY, SECONDARY])
    TeredoServer(server, PRIMARY, SECONDARY)
    net = topo.add_network("home", "192.168.1.0/24", outside=["192.0.2.77"])
    net.gateway.add_stage(Nat(k, "nat", ["192.0.2.77"], nat_config("port-restricted-cone")))
    client = net.add_host("laptop")
    capture = net.gateway.outside.capture = []
    teredo = TeredoClient(client, PRIMARY, SECONDARY)
    k.env.process(teredo.qualify())
    k.run(until=30)
    path = tmp_path / "teredo.pcap"
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
    from pathlib import Path

    ref = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / \
        "teredo-qualification-miredo-linux-nat.pcap"
    if not ref.exists():
        pytest.skip("shared/reference capture not available")
    fields = ("udp.srcport", "udp.dstport", "teredo.auth.idlen", "teredo.auth.aulen",
              "teredo.orig.port", "ipv6.dst", "icmpv6.type", "icmpv6.opt.prefix")
    theirs = tshark(ref, *fields)
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
