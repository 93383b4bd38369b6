"""The timeline figure's IPsec layer: a strip above the transition bars that shows
DirectAccess lost during a server outage while the IP-HTTPS bar goes on."""

import json

from click.testing import CliRunner

from sim.cli import cli
from sim.report import plots
from sim.scenario import parse_scenario
from sim.scenario.build import Simulation

OUTAGE = """
name: outage
duration: 600
server:
  ipsec: {authentication: kerberos_proxy}
pki:
  authorities: {contoso-root: {}}
  certificates: {iphttps: {issuer: contoso-root, subject: da.contoso.com}}
networks:
  hotel:
    nat: {preset: symmetric}
    firewall: {default: deny, allow: [tcp/443, udp/53]}
clients:
  - {name: laptop, network: hotel, roots: [contoso-root]}
events:
  - {at: 60, action: server_down}
  - {at: 300, action: server_up}
"""


def test_timeline_draws_the_ipsec_strip_with_its_states(tmp_path):
    result = Simulation(parse_scenario(OUTAGE, "o.yaml")).run().as_dict()
    statuses = [h["status"] for h in result["clients"][0]["directaccess"]["history"]]
    assert statuses[-1] == "ConnectedRemotely" and "Connecting" in statuses
    svg = (tmp_path / "t.svg")
    plots.timeline(result, str(svg))
    text = svg.read_text()
    for name in ("IPsec: DirectAccess connected", "IPsec: connecting",
                 "IPsec: not connected", "IP-HTTPS"):
        assert name in text


def test_timeline_without_ipsec_has_no_strip(tmp_path):
    result = Simulation(parse_scenario(OUTAGE.replace(
        "  ipsec: {authentication: kerberos_proxy}\n", "  methods: [iphttps]\n"), "o.yaml"))\
        .run().as_dict()
    svg = tmp_path / "t.svg"
    plots.timeline(result, str(svg))
    assert "IPsec" not in svg.read_text()


def test_a_tunnel_that_ipsec_refuses_reaches_nothing_in_the_fleet_figures(tmp_path):
    """ipsec-certificates: six laptops on IP-HTTPS, one DirectAccess-connected. The outcome
    bars name the five others by their IKE error, the connected share counts one, and a
    sweep's summary says so too (before, every figure and summary showed six connected)."""
    scen = "scenarios/ipsec-certificates.yaml"
    res = CliRunner().invoke(cli, ["run", scen, "--save", str(tmp_path / "r.json")])
    assert "DirectAccess connected 1 of 6; transition tunnel up 6 of 6" in res.output
    saved = json.loads((tmp_path / "r.json").read_text())
    series = saved["series"]
    assert series[-1][1] == 1 / 6          # one of six reaches the intranet at the end
    outcomes = {plots._outcome(c["method"], c["last_error"], c["location"],
                               c.get("directaccess")) for c in saved["result"]["clients"]}
    assert outcomes == {"iphttps", "none (IP-HTTPS up, IKE 13801)",
                        "none (IP-HTTPS up, IKE 13806)", "none (IP-HTTPS up, IKE 13827)",
                        "none (IP-HTTPS up, WindowsFirewallDisabled)"}
    res = CliRunner().invoke(cli, ["sweep", scen, "--set", "clients.0.clock_skew=0,10m",
                                   "--out", str(tmp_path / "s.csv"), "--workers", "1"])
    assert "clients.0.clock_skew=0: 100% tunnel up (iphttps 100%); DirectAccess " \
           "connected 17%" in res.output
    assert "clients.0.clock_skew=10m: 100% tunnel up (iphttps 100%); DirectAccess " \
           "connected 0%" in res.output
    header = (tmp_path / "s.csv").read_text().splitlines()[0].split(",")
    assert header[-3:] == ["directaccess", "ike_error", "error"]
