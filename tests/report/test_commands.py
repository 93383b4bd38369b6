"""Commands as people type them: netsh words abbreviated (KB 2980667's ``interface http show
interface``), the Teredo NAT type shown when qualification fails (fact sheet Table 3.5), times
after the run's end, and a scenario folder with files that do not load."""

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


def test_a_time_after_the_runs_end_is_refused():
    out = subprocess.run([sys.executable, "-m", "sim.cli", "netsh",
                          str(SCEN / "kb2980667-untrusted-root.yaml"), "--client", "laptop",
                          "--at", "25m", "interface", "teredo", "show", "state"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert "--at 25m: after the run's end (1200 s)" in out.stderr


def test_an_event_after_a_shortened_runs_end_is_named():
    out = subprocess.run([sys.executable, "-m", "sim.cli", "run",
                          str(SCEN / "kb2980667-untrusted-root.yaml"), "--set",
                          "events.0.at=2h"], capture_output=True, text=True, check=False)
    assert out.returncode == 0
    assert "events.0 (import_root at 7200 s) comes after the run's end (1200 s)" in out.stderr


def test_list_shows_a_folder_whole_and_names_the_files_that_do_not_load(tmp_path):
    good = (SCEN / "home-nat.yaml").read_text()
    (tmp_path / "a-good.yaml").write_text(good)
    (tmp_path / "b-bad.yaml").write_text(good.replace("seed:", "sed:"))
    (tmp_path / "c-good.yaml").write_text(good)
    out = subprocess.run([sys.executable, "-m", "sim.cli", "list", str(tmp_path)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = out.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["a-good", "b-bad", "c-good"]
    assert "does not load" in lines[1] and "sed: unknown key" in lines[1]
    assert "1 of 3 scenario files do not load" in out.stderr


def test_a_bad_certificate_file_names_the_scenario_key(tmp_path):
    bad = tmp_path / "roots.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHBfpeg\n-----END CERTIFICATE-----\n")
    for key in ("clients.0.roots_file", "pki.certificates.iphttps.chain_file"):
        out = subprocess.run([sys.executable, "-m", "sim.cli", "run",
                              str(SCEN / "kb2980667-untrusted-root.yaml"), "--set",
                              f"{key}={bad}"], capture_output=True, text=True, check=False)
        assert out.returncode == 2 and "Traceback" not in out.stderr
        assert out.stderr.startswith(f"dasim: error: {key}: {bad} (PEM block 1): ")
        assert "ParseError" not in out.stderr


def test_a_site_of_a_later_shard_can_be_captured_by_the_name_results_give_it(tmp_path):
    fleet = [str(SCEN / "mixed-fleet.yaml"), "--set", "clients.0.count=300"]
    out = tmp_path / "site.pcap"
    ok = subprocess.run([sys.executable, "-m", "sim.cli", "pcap", *fleet, "--point",
                         "nat:shard1/home#2", "--out", str(out)], capture_output=True,
                        text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert out.stat().st_size > 24   # more than the pcap header
    run = subprocess.run([sys.executable, "-m", "sim.cli", "run", *fleet, "--workers", "1",
                          "--pcap", str(tmp_path / "run.pcap"), "--point", "nat:shard1/home#2"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "run.pcap").read_bytes() == out.read_bytes()
    bad = subprocess.run([sys.executable, "-m", "sim.cli", "pcap", *fleet, "--point",
                          "nat:shard5/home#2", "--out", str(tmp_path / "x.pcap")],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "the fleet has shards 0 to 1" in bad.stderr


def test_netsh_shows_no_error_before_it_happens_and_6to4_its_configured_state():
    """Teredo's state before its qualification ends has no Error line (it printed the later
    success, 'Teredo qualified …', as an error at 0.05 s); 6to4 behind a NAT shows its
    configured state, default, not 'disabled' as if a policy had turned it off."""
    def netsh(*args):
        res = CliRunner().invoke(cli, ["netsh", "scenarios/home-nat.yaml", "--client",
                                       "laptop", *args])
        assert res.exit_code == 0, res.output
        return res.output

    early = netsh("--at", "0.05", "interface", "teredo", "show", "state")
    assert "State                   : offline" in early and "Error" not in early
    assert "State                   : qualified" in netsh("--at", "30", "interface",
                                                            "teredo", "show", "state")
    assert "Error" not in netsh("--at", "30", "--set", "clients.0.start_at=60",
                                "interface", "teredo", "show", "state")
    assert "6to4 Service State         : default" in netsh("interface", "6to4", "show",
                                                           "state")
    assert "6to4 Service State         : disabled" in netsh(
        "--set", "clients.0.sixtofour=disabled", "interface", "6to4", "show", "state")


def test_a_figure_too_small_is_refused_and_a_title_keeps_its_dollars(tmp_path):
    """--size 1x0.5 cannot hold the timeline's margins: exit 2 naming --size, no file (it was
    a matplotlib traceback); a title with "$" is text, not math ("$5 … $10" lost both)."""
    kb = "scenarios/kb2980667-untrusted-root.yaml"
    small = tmp_path / "t.png"
    res = subprocess.run([sys.executable, "-m", "sim.cli", "plot", kb, "--kind", "timeline",
                          "--out", str(small), "--size", "1x0.5"], capture_output=True,
                         text=True, check=False)
    assert res.returncode == 2, res.stderr
    assert "--size 1x0.5: too small for the timeline" in res.stderr
    assert "Traceback" not in res.stderr and not small.exists()
    svg = tmp_path / "t.svg"
    res = CliRunner().invoke(cli, ["plot", kb, "--kind", "timeline", "--out", str(svg),
                                   "--title", "Budget: $5 per laptop, $10 per site"])
    assert res.exit_code == 0, res.output
    assert "Budget: $5 per laptop, $10 per site" in svg.read_text()


def test_powershell_shows_get_netiphttpsstate_as_the_exercises_do():
    """The exercises show Get-NetIPHttpsState; dasim powershell refused it. It needs no
    IPsec layer: the KB 2980667 laptop at 5 min, before the root is imported."""
    res = CliRunner().invoke(cli, ["powershell", "scenarios/kb2980667-untrusted-root.yaml",
                                   "--client", "laptop", "--at", "5m", "Get-NetIPHttpsState"])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines() == [
        "InterfaceName   : IPHTTPSInterface", "LastErrorCode   : 0x800b0109",
        "InterfaceStatus : Failed to connect to the IPHTTPS server. Waiting to reconnect"]
