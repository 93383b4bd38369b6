"""KB 2980635: a certificate that does not fit the IP-HTTPS URL shows 0x103, "No usable
certificate found", on the client (N11.2); the chain engine's own verdict stays
CERT_E_CN_NO_MATCH 0x800b010f. And the Interface Status texts of each release (F1.26, N11.8)."""

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.report.netsh import at_time, httpstunnel_interfaces
from sim.scenario import load_scenario
from sim.scenario.build import Simulation

from .conftest import SCENARIOS, by_name

MISMATCH = SCENARIOS / "iphttps-name-mismatch.yaml"


def run(path, overrides=None):
    sim = Simulation(load_scenario(path, overrides or {}))
    return sim, by_name(sim.run().as_dict())["laptop"]


def test_right_subject_wrong_san_shows_0x103_no_usable_certificate_found():
    sim, laptop = run(MISMATCH)
    assert laptop["last_error"] == "0x103" and not laptop["connected"]
    failed = [a for a in laptop["attempts"] if a["method"] == "iphttps"]
    assert len(failed) >= 4 and {a["error"] for a in failed} == {"0x103"}
    da = sim.client("laptop").da
    assert da.iphttps.last_detail.hresult == 0x800B010F   # CERT_E_CN_NO_MATCH underneath
    text = httpstunnel_interfaces(at_time(da.iphttps.status.history, 120),
                                  sim.policy.iphttps_url)
    assert "Last Error Code            : 0x103" in text
    assert "Interface Status           : No usable certificate found" in text


def test_another_subject_without_sans_shows_the_same():
    _, laptop = run(MISMATCH, {"pki.certificates.iphttps.san": None,
                               "pki.certificates.iphttps.subject": "vpn.contoso.com"})
    assert laptop["last_error"] == "0x103"


def test_netsh_and_explain_show_0x103_with_its_remedy():
    netsh = CliRunner().invoke(cli, ["netsh", str(MISMATCH), "--client", "laptop", "--at",
                                     "2m", "interface", "http", "show", "interface"])
    assert netsh.exit_code == 0, netsh.output
    assert "Last Error Code            : 0x103" in netsh.output
    explain = CliRunner().invoke(cli, ["explain", str(MISMATCH)])
    assert explain.exit_code == 0, explain.output
    assert "(0x103)" in explain.output and "KB 2980635" in explain.output
    assert "last error 0x103" in explain.output


@pytest.mark.parametrize("release,status", [
    # Hicks, "Troubleshooting DirectAccess IP-HTTPS Error Code 0x800b0109" (netsh on Windows 7)
    ("windows7", "Failed to connect to the IPHTTPS server; waiting to reconnect"),
    # KB 2980635 as published for Windows 8 / 8.1, and KB 3056560
    ("windows8.1", "Failed to connect to IPHTTPs server; Waiting to reconnect."),
    # the seed, KB 2980667 (Windows 10)
    ("windows10", "Failed to connect to the IPHTTPS server. Waiting to reconnect"),
])
def test_failed_interface_status_is_each_releases_text(release, status):
    sim, _ = run(SCENARIOS / "kb2980667-untrusted-root.yaml",
                      {"clients.0.profile": release})
    text = httpstunnel_interfaces(at_time(sim.client("laptop").da.iphttps.status.history, 300),
                                  sim.policy.iphttps_url)
    assert f"Interface Status           : {status}\n" in text
