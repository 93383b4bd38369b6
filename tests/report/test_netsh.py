"""netsh as people type it: abbreviated words (KB 2980667's ``interface http show
interface``), and the Teredo NAT type shown when qualification fails (fact sheet Table 3.5)."""

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli

SCEN = Path(__file__).resolve().parents[2] / "scenarios"


def netsh(scenario: str, *words: str):
    return CliRunner().invoke(cli, ["netsh", str(SCEN / scenario), "--client", "laptop",
                                    *words])


@pytest.mark.parametrize("words", [
    "interface httpstunnel show interfaces",   # F1.25
    "interface http show interface",           # KB 2980667 (F1.26)
    "int httpstunnel sh int",
])
def test_httpstunnel_command_as_typed(words):
    out = netsh("kb2980667-untrusted-root.yaml", *words.split())
    assert out.exit_code == 0, out.output
    assert "Interface IPHTTPSInterface (Group Policy) Parameters" in out.output


def test_unknown_netsh_command_names_the_ones_shown():
    out = subprocess.run([sys.executable, "-m", "sim.cli", "netsh",
                          str(SCEN / "kb2980667-untrusted-root.yaml"), "--client", "laptop",
                          "interface", "tcp", "show", "global"], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "'interface tcp show global' is not a command" in out.stderr
    assert "interface teredo show state" in out.stderr


def test_teredo_behind_symmetric_nat_shows_the_nat_type():
    out = netsh("mobile-symmetric-nat.yaml", "interface", "teredo", "show", "state")
    assert "State                   : offline" in out.output
    assert "NAT                     : symmetric" in out.output
