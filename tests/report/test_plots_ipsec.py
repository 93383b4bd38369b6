"""The timeline figure's IPsec layer: a strip above the transition bars that shows
DirectAccess lost during a server outage while the IP-HTTPS bar goes on."""

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
