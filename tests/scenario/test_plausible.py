"""Implausible values are said, never refused (issue 19, What to build 6): a sub-second NAT
timeout and the like run, with one warning each on stderr naming the file, the line and the
key; the library's scenarios give none."""

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from sim.errors import ImplausibleValue
from sim.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
ODD = """name: odd
duration: 5m
networks:
  home:
    nat: {preset: full-cone, udp_timeout: 30ms}
    link: {latency: 5, loss: 0.9, bandwidth: 10}
    access_latency: 3
clients:
  - {name: laptop, network: home, connectivity_probe: 0.5, teredo_refresh: 200ms}
  - {name: late, network: home, start_at: 10m}
"""


def findings(text: str, overrides=None) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parse_scenario(text, "odd.yaml", overrides=overrides)
    return [str(w.message) for w in caught if issubclass(w.category, ImplausibleValue)]


def test_each_implausible_value_is_named_with_its_place():
    found = findings(ODD)
    assert found[0] == (
        "odd.yaml:5:43: networks.home.nat.udp_timeout: 30 ms is implausibly short for a NAT "
        "timeout: NATs keep UDP bindings 30 s to 5 min (RFC 4787 asks at least 2 min); a "
        "duration is in seconds unless it says otherwise (30 is 30 s, 30ms is 0.03 s)")
    places = [f.split(": ")[1] for f in found]
    assert places == ["networks.home.nat.udp_timeout", "networks.home.link.latency",
                      "networks.home.link.loss", "networks.home.link.bandwidth",
                      "networks.home.access_latency", "clients.0.connectivity_probe",
                      "clients.0.teredo_refresh", "clients.1.start_at"]
    assert found[1].startswith("odd.yaml:6:21: ")


def test_a_value_from_set_is_named_at_the_option():
    (found,) = findings("name: s\nnetworks: {home: {nat: {}}}\nclients: [{name: l, "
                        "network: home}]\n", {"networks.home.nat.udp_timeout": "30ms"})
    assert found.startswith("odd.yaml: --set networks.home.nat.udp_timeout=30ms: "
                            "networks.home.nat.udp_timeout: 30 ms is implausibly short")


def test_the_run_goes_on_and_the_warning_is_on_stderr(tmp_path):
    path = tmp_path / "odd.yaml"
    path.write_text(ODD)
    out = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(path)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Scenario odd")
    lines = out.stderr.splitlines()
    assert len(lines) == 8 and all(line.startswith(f"dasim: warning: {path}:") for line in lines)
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_the_library_is_plausible(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImplausibleValue)
        load_scenario(path)
