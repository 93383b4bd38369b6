"""``dasim compare``: what changed in the outcomes between two runs, per client or per
network, from scenarios, ``--set`` on one side, or saved runs."""

import subprocess
import sys
from pathlib import Path

import pytest

SCEN = Path(__file__).resolve().parents[2] / "scenarios"
HOME = str(SCEN / "home-nat.yaml")


def dasim(*args):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True,
                          text=True, check=False)


def table(text):
    """The rows under the dashed line, split on runs of spaces."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---")) + 1
    out = []
    for line in lines[start:]:
        if not line.strip():
            break
        out.append([cell.strip() for cell in line.split("  ") if cell.strip()])
    return out


def test_a_symmetric_home_nat_moves_the_laptop_from_teredo_to_iphttps():
    out = dasim("compare", HOME, "--set-b", "networks.home.nat.preset=symmetric")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"A: {HOME} (seed 1)\nB: {HOME} --set "
                                 "networks.home.nat.preset=symmetric (seed 1)\n")
    assert table(out.stdout) == [["laptop", "home", "teredo", "iphttps", "0.3", "0.3",
                                  "outcome"]]
    assert "1 of 1 clients changed outcome; connected 1 of 1 → 1 of 1" in out.stdout


def test_a_fleet_is_compared_per_network():
    out = dasim("compare", str(SCEN / "mixed-fleet.yaml"), "--set", "clients.0.count=30",
                "--set-b", "server.methods=[6to4,iphttps]", "--workers", "1", "--by", "network")
    assert out.returncode == 0, out.stderr
    rows = {r[0]: r for r in table(out.stdout)}
    assert rows["home"][3].startswith("iphttps 0 → ") and "teredo" in rows["home"][3]
    assert rows["hotel"][3] == "same"
    assert rows["hotel-inspecting"][2].startswith("0 → 0")
    changed = int(out.stdout.rsplit("\n\n", 1)[1].split()[0])
    assert changed == sum(int(r[3].split("teredo ")[1].split()[0])
                          for r in rows.values() if "teredo " in r[3])


def test_saved_runs_compare_as_their_scenarios_do(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert dasim("run", HOME, "--save", str(a)).returncode == 0
    assert dasim("run", HOME, "--set", "networks.home.nat.preset=symmetric", "--save",
                 str(b)).returncode == 0
    saved = dasim("compare", str(a), str(b))
    assert saved.returncode == 0, saved.stderr
    direct = dasim("compare", HOME, "--set-b", "networks.home.nat.preset=symmetric")
    assert table(saved.stdout) == table(direct.stdout)
    assert "saved run of" in saved.stdout


def test_unchanged_runs_say_so_and_all_lists_everyone():
    out = dasim("compare", HOME, "--set-b", "duration=301", "--all")
    assert out.returncode == 0, out.stderr
    assert table(out.stdout) == [["laptop", "home", "teredo", "teredo", "0.3", "0.3", "-"]]
    assert "0 of 1 clients changed outcome" in out.stdout


@pytest.mark.parametrize(("args", "message"), [
    ([HOME], "A and B are the same run"),
    ([HOME, "--set-b", "networks.nowhere.nat.preset=symmetric"], "networks.nowhere"),
    ([HOME, "--by", "site", "--set-b", "seed=2"], "Invalid value for '--by'"),
])
def test_bad_compare_input_is_refused(args, message):
    out = dasim("compare", *args)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert message in out.stderr


def test_a_degraded_tunnel_made_healthy_is_a_change_and_so_is_ipsec():
    """A carrier NAT's 10 s UDP timeout loses half the checks: raising it to 300 s changes
    the outcome from 'teredo (degraded)' to 'teredo' (compare said 0 of 1 changed); with
    IPsec, a clock skew makes DirectAccess refuse a tunnel that stays up."""
    res = dasim("compare", str(SCEN / "cgn-short-udp-timeout.yaml"),
                "--set-b", "networks.carrier.nat.udp_timeout=300")
    assert res.returncode == 0, res.stderr
    assert table(res.stdout) == [["laptop", "carrier", "teredo (degraded)", "teredo", "12.3",
                                  "12.3", "outcome"]]
    assert "1 of 1 clients changed outcome" in res.stdout
    res = dasim("compare", str(SCEN / "ipsec-certificates.yaml"),
                "--set-b", "clients.0.clock_skew=10m")
    assert res.returncode == 0, res.stderr
    assert ["laptop", "hotel", "iphttps", "none (iphttps up, IKE 13827)", "0.3", "0.3",
            "outcome"] in table(res.stdout)
