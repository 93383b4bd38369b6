"""A tunnel that loses most of its traffic is reported degraded (issue 19, Why 1): a carrier
NAT with a 10 s UDP timeout and random ports, connectivity checks every 15 s. Teredo stays
up, but each check outlives the binding, leaves by a new port the Teredo address does not
carry, and the Teredo server drops it; `run`, the JSON, `explain` and sweeps say so, naming
the NAT and the mechanism."""

import json

from click.testing import CliRunner

from sim.cli import cli
from sim.directaccess.result import DEGRADED_LOSS, degraded

CARRIER = """
name: carrier-short-udp
duration: 10m
pki:
  authorities:
    contoso-root: {}
    contoso-issuing: {issuer: contoso-root}
  certificates:
    iphttps: {issuer: contoso-issuing, subject: da.contoso.com}
networks:
  carrier:
    addressing: shared
    nat: {mapping: endpoint-independent, filtering: address-and-port-dependent,
          port_allocation: random, udp_timeout: %(timeout)s}
  corp: {corporate: true}
clients:
  - {name: laptop, network: carrier, roots: [contoso-root], connectivity_probe: 15s}
"""


def scenario(tmp_path, timeout="10"):
    path = tmp_path / "carrier.yaml"
    path.write_text(CARRIER % {"timeout": timeout})
    return str(path)


def test_the_threshold_is_a_share_of_checks_lost():
    assert DEGRADED_LOSS == 0.1
    assert not degraded(0, 0) and not degraded(9, 1) and degraded(8, 2) and degraded(0, 1)


def test_json_reports_the_checks_and_the_degraded_state(tmp_path):
    out = CliRunner().invoke(cli, ["run", scenario(tmp_path), "--json"])
    data = json.loads(out.output)
    laptop = data["clients"][0]
    assert laptop["connected"] and laptop["method"] == "teredo"
    assert laptop["probes"] == {"answered": 17, "unanswered": 17, "lost_share": 0.5,
                                "degraded": True}
    assert data["summary"]["degraded"] == 1
    assert data["summary"]["probes"] == {
        "answered": 17, "unanswered": 17,
        "by_network": {"carrier": {"answered": 17, "unanswered": 17, "degraded": 1}}}


def test_the_run_table_shows_checks_lost_and_degraded(tmp_path):
    text = CliRunner().invoke(cli, ["run", scenario(tmp_path)]).output
    lines = text.splitlines()
    assert lines[2].split() == ["client", "network", "location", "method", "connect", "(s)",
                                "last", "error", "checks", "lost", "quality"]
    assert lines[4].split() == ["laptop", "carrier", "outside", "teredo", "12.3", "-", "17",
                                "of", "34", "degraded"]
    assert ("Connectivity checks: 17 answered, 17 lost (50%); degraded 1 (more than 10% of "
            "their checks lost)") in text


def test_explain_names_the_nat_whose_binding_expired(tmp_path):
    text = CliRunner().invoke(cli, ["explain", scenario(tmp_path)]).output
    assert "Connectivity checks: 17 of 34 answered, 17 lost: degraded (more than 10% lost)." \
        in text
    (cause,) = [line for line in text.splitlines() if line.startswith("  - 17 lost")]
    assert cause.startswith("  - 17 lost at carrier-nat (binding expiry); the first: the udp "
                            "binding 100.64.0.10:57007 -> 198.51.100.10:62885 expired at "
                            "t=37.3 s after 10 s idle, and the next packet left by a new port")
    assert "which the Teredo address does not carry; da-server dropped it" in cause
    assert "remedy: The NAT carrier-nat forgets an idle UDP binding" in text
    assert text.rstrip().endswith("over teredo (first usable at t=12.3 s), but degraded: 17 "
                                  "of 34 connectivity checks lost.")


def test_a_long_enough_timeout_is_healthy(tmp_path):
    out = CliRunner().invoke(cli, ["run", scenario(tmp_path, "120"), "--json"])
    laptop = json.loads(out.output)["clients"][0]
    assert laptop["probes"]["unanswered"] == 0 and not laptop["probes"]["degraded"]
    table = CliRunner().invoke(cli, ["run", scenario(tmp_path, "120")]).output
    assert table.splitlines()[4].split()[-1] == "healthy"
    story = CliRunner().invoke(cli, ["explain", scenario(tmp_path, "120")]).output
    assert "Connectivity checks" not in story and "degraded" not in story


def test_link_loss_is_named_with_its_link():
    from pathlib import Path

    home = str(Path(__file__).resolve().parents[2] / "scenarios" / "home-nat.yaml")
    text = CliRunner().invoke(cli, [
        "explain", home, "--set", "networks.home.link={latency: 10ms, loss: 0.1}",
        "--set", "clients.0.connectivity_probe=15s",
        "--set", "networks.home.nat.preset=full-cone"]).output
    assert "Connectivity checks: 14 of 18 answered, 4 lost: degraded" in text
    assert "  - 4 lost at home-uplink (link loss); the first: the link lost the packet" in text


def test_a_fleet_story_groups_degraded_laptops_apart(tmp_path):
    path = tmp_path / "fleet.yaml"
    path.write_text((CARRIER % {"timeout": "10"}).replace(
        "connectivity_probe: 15s}", "connectivity_probe: 15s, count: 25}"))
    text = CliRunner().invoke(cli, ["explain", str(path)]).output
    assert "on carrier: teredo, degraded (for example laptop-00001)" in text
    table = CliRunner().invoke(cli, ["run", str(path)]).output
    assert "25 clients, by network below (--all-clients lists each" in table
    rows = [line.split() for line in table.splitlines() if line.startswith("carrier ")]
    # network, clients, connected, teredo, median, p90, degraded, checks lost, not connected
    assert rows == [["carrier", "25", "25", "25", "12.3", "12.3", "25", "54%", "-"]]
