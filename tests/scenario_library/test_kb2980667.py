"""KB 2980667 end to end: 0x800b0109 from the chain engine, the netsh text, the back-off, and the
fix (import the root by hand, or by Group Policy while inside before roaming)."""

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.report.netsh import at_time, httpstunnel_interfaces
from sim.transition.iphttps import BACKOFF_CAP, backoff_wait

from .conftest import SCENARIOS, by_name, run_file, run_text

KB = str(SCENARIOS / "kb2980667-untrusted-root.yaml")


def test_teredo_goes_offline_then_iphttps_fails_with_0x800b0109():
    _sim, result = run_file("kb2980667-untrusted-root")
    laptop = by_name(result)["laptop"]
    teredo = next(a for a in laptop["attempts"] if a["method"] == "teredo")
    assert teredo["result"] == "failed"
    assert teredo["end_s"] - teredo["start_s"] == pytest.approx(24.0)  # 2 phases × 3 × 4 s
    iphttps = [a for a in laptop["attempts"] if a["method"] == "iphttps"]
    assert iphttps[0]["error"] == "0x800b0109"
    assert iphttps[0]["start_s"] == teredo["start_s"]  # both qualify at once (F1.6)
    assert iphttps[0]["end_s"] < teredo["end_s"]


def test_netsh_shows_the_kb_text_while_failing():
    sim, _ = run_file("kb2980667-untrusted-root")
    history = sim.client("laptop").da.iphttps.status.history
    text = httpstunnel_interfaces(at_time(history, 300), sim.policy.iphttps_url)
    assert "Last Error Code            : 0x800b0109" in text
    # the seed's words (KB 2980667, Windows 10)
    assert ("Interface Status           : Failed to connect to the IPHTTPS server. "
            "Waiting to reconnect") in text


def test_netsh_command_line_prints_the_same_at_a_given_time():
    out = CliRunner().invoke(cli, ["netsh", KB, "--client", "laptop", "--at", "5m",
                                   "interface", "httpstunnel", "show", "interfaces"])
    assert out.exit_code == 0, out.output
    assert "Last Error Code            : 0x800b0109" in out.output


def test_retries_come_30_60_120_240_480_seconds_after_the_first_failure():
    _, result = run_file("kb2980667-untrusted-root")
    fails = [a for a in by_name(result)["laptop"]["attempts"]
             if a["method"] == "iphttps" and a["result"] == "failed"]
    first = fails[0]["end_s"]
    offsets = [a["start_s"] - first for a in fails[1:]]
    # Each wait is the time since the first failure (MS-IPHTTPS): the next start is
    # 2 × (offset + T), so the offsets are 30, 60 + 2T, 120 + 6T, 240 + 14T, 480 + 30T where
    # T (~0.1 s here) is one attempt's duration.
    durations = [a["end_s"] - a["start_s"] for a in fails]
    t_max = max(durations)
    assert len(offsets) >= 5
    for k, (got, want) in enumerate(zip(offsets, [30, 60, 120, 240, 480], strict=False)):
        assert want <= got <= want + (2 ** (k + 1) - 2) * t_max + 1e-6


def test_backoff_is_capped_at_15_minutes():
    assert backoff_wait(0.0, 0.0) == 30.0
    assert backoff_wait(100.0, 160.0) == 60.0
    assert backoff_wait(0.0, 5000.0) == BACKOFF_CAP == 900.0


def test_importing_the_root_lets_the_next_retry_connect():
    _, result = run_file("kb2980667-untrusted-root")
    laptop = by_name(result)["laptop"]
    assert laptop["connected"] and laptop["method"] == "iphttps"
    assert laptop["time_to_connect_s"] > 600  # the import happened at 600 s
    last_failure = max(a["end_s"] for a in laptop["attempts"] if a["result"] == "failed")
    assert last_failure < 600


GPO = """
name: gpo-inside-then-roam
seed: 1
duration: 20m
pki:
  authorities:
    contoso-root: {}
    contoso-issuing: {issuer: contoso-root}
  certificates:
    iphttps: {issuer: contoso-issuing, subject: da.contoso.com}
networks:
  hotel:
    nat: {preset: port-restricted-cone}
    firewall: {default: deny, allow: [tcp/80, tcp/443, udp/53]}
  corp: {corporate: true}
clients:
  - {name: laptop, network: %(start)s, profile: windows10, intermediates: [contoso-issuing]}
events:
  - {at: 10, action: gpo_deploy_root, authority: contoso-root}
  - {at: 60, action: roam, client: laptop, network: hotel}
"""


def test_root_deployed_by_group_policy_while_inside_fixes_iphttps_after_roaming():
    _, result = run_text(GPO % {"start": "corp"})
    laptop = by_name(result)["laptop"]
    assert laptop["connected"] and laptop["method"] == "iphttps"
    assert laptop["network"] == "hotel"
    assert all(a.get("error") != "0x800b0109" for a in laptop["attempts"])


def test_group_policy_cannot_reach_a_client_that_is_already_outside():
    """The catch: the root would arrive through the tunnel that the missing root breaks."""
    _, result = run_text(GPO % {"start": "hotel"})
    laptop = by_name(result)["laptop"]
    assert not laptop["connected"]
    assert laptop["last_error"] == "0x800b0109"
