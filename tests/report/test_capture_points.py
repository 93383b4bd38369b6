"""Captures on either side of a device: a NAT's inside shows the LAN's private addresses, its
outside the translated ones; the packets the NAT drops on the way in are seen only outside."""

import shutil
import subprocess
import sys
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

SCEN = Path(__file__).resolve().parents[2] / "scenarios"
RFC1918 = [ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


def dasim(*args):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True,
                          text=True, check=False)


def private(address):
    return any(address in net for net in RFC1918)


def addresses(path):
    out = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "ip.src",
                          "-e", "ip.dst"], capture_output=True, text=True, check=True)
    return [tuple(ip_address(a) for a in line.split("\t")) for line in out.stdout.splitlines()
            if line.strip()]


@needs_tshark
def test_a_nat_captured_inside_shows_private_addresses_and_outside_translated(tmp_path):
    pcaps = {}
    for side in ("inside", "outside"):
        pcaps[side] = tmp_path / f"{side}.pcap"
        out = dasim("pcap", str(SCEN / "home-nat.yaml"), "--point", f"nat:home:{side}",
                    "--out", str(pcaps[side]))
        assert out.returncode == 0, out.stderr
    inside, outside = addresses(pcaps["inside"]), addresses(pcaps["outside"])
    laptop = {a for pair in inside for a in pair if private(a)}
    assert len(laptop) == 1   # the laptop's LAN address, on every packet's one side
    assert all(laptop & set(pair) for pair in inside)
    assert not any(private(a) for pair in outside for a in pair)
    sent = {src for src, dst in outside if dst == ip_address("131.107.0.1")}
    assert len(sent) == 1 and sent != laptop   # the NAT's public address replaces the laptop's
    # the cone test's answers from the server's second address: the NAT filters all but
    # one, so the outside sees more of them than the inside
    second = ip_address("131.107.0.2")
    assert sum(s == second for s, _ in outside) > sum(s == second for s, _ in inside) >= 1
    # no side named: the outside, as before
    default = tmp_path / "default.pcap"
    assert dasim("pcap", str(SCEN / "home-nat.yaml"), "--point", "nat:home",
                 "--out", str(default)).returncode == 0
    assert default.read_bytes() == pcaps["outside"].read_bytes()


@pytest.mark.parametrize(("point", "message"), [
    ("nat:home:middle", "the side is inside or outside, not 'middle'"),
    ("firewall:home:inside", "network 'home' has no firewall (its edge has: nat)"),
    ("proxy:home", "network 'home' has no proxy"),
    ("nat:", "name the network"),
    ("router:home", "expected client:NAME"),
])
def test_a_point_that_names_no_device_is_refused_with_what_there_is(tmp_path, point, message):
    out = dasim("pcap", str(SCEN / "home-nat.yaml"), "--point", point,
                "--out", str(tmp_path / "x.pcap"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert message in out.stderr
    assert not (tmp_path / "x.pcap").exists()


def test_a_firewall_and_a_proxy_are_capture_points(tmp_path):
    for point in ("firewall:partner-open:inside", "proxy:partner-open"):
        out = dasim("pcap", str(SCEN / "enterprise-proxy.yaml"), "--point", point,
                    "--out", str(tmp_path / "p.pcap"))
        assert out.returncode == 0, out.stderr
        assert int(out.stdout.split()[1]) > 0, point
