"""``dasim topology``: the devices of a scenario and their links, NAT chains included."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.fleet.prepare import prepare
from sim.report import topology

SCEN = Path(__file__).resolve().parents[2] / "scenarios"


def dasim(*args):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True,
                          text=True, check=False)


def tree(scenario, **overrides):
    devices = prepare(str(SCEN / f"{scenario}.yaml"), overrides=overrides or None).view().devices()
    boxes, parent = topology.nodes(devices)
    return boxes, parent, topology.layout(boxes, parent)


def test_nat444_is_drawn_as_a_chain_home_behind_carrier_behind_the_internet():
    boxes, parent, pos = tree("cgn-shared-100-64")
    assert parent["laptops:home"] == "home-gw"
    assert parent["home-gw"] == "carrier-gw" and parent["carrier-gw"] == "internet"
    assert parent["da-server"] == "internet"
    assert pos["laptops:home"][0] < pos["home-gw"][0] < pos["carrier-gw"][0] < pos["internet"][0]
    assert pos["da-server"][0] > pos["internet"][0]
    assert boxes["carrier-gw"]["detail"].startswith("NAT\ninside | outside: 100.64.0.1 | ")
    assert boxes["home-gw"]["detail"] == "NAT\ninside | outside: 10.1.0.1 | 100.64.0.10"


def test_a_fleet_is_drawn_one_site_per_network_with_its_counts():
    boxes, parent, _pos = tree("mixed-fleet")
    assert boxes["home-gw"]["head"] == "home-gw (×72 sites)"
    assert boxes["hotel-gw"]["detail"].startswith("firewall · NAT")
    assert not any("#" in name for name in boxes)
    assert boxes["laptops:carrier-shared"]["head"] == "36 laptops"
    assert parent["hotel-inspecting-proxy"] == "hotel-inspecting-gw"
    assert boxes["hotel-inspecting-proxy"]["kind"] == "proxy"


def test_the_picture_names_every_device_as_text_and_is_the_same_every_time(tmp_path):
    files = [tmp_path / f"t{n}.svg" for n in (1, 2)]
    for f in files:
        out = dasim("topology", str(SCEN / "kb2980667-untrusted-root.yaml"), "--out", str(f))
        assert out.returncode == 0, out.stderr
    assert files[0].read_bytes() == files[1].read_bytes()
    texts = re.findall(r"<text[^>]*>([^<]*)", files[0].read_text())
    for name in ("laptop", "hotel-gw", "firewall · NAT", "internet", "da-server", "corp-gw",
                 "kb2980667-untrusted-root: devices and links"):
        assert name in texts


@pytest.mark.parametrize(("args", "message"), [
    (["--out", "x.txt"], "the file must end in .png, .svg or .pdf"),
    (["--out", "x.svg", "--size", "0x0"], "--size 0x0: expected WIDTHxHEIGHT"),
    (["--out", "x.svg", "--set", "networks.home.nat.preset=bogus"], "networks.home.nat"),
])
def test_bad_topology_input_is_refused(tmp_path, args, message):
    args = [a.replace("x.", str(tmp_path / "x.")) for a in args]
    out = dasim("topology", str(SCEN / "home-nat.yaml"), *args)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert message in out.stderr and not list(tmp_path.iterdir())
