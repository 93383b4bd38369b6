"""The smallest scenario runs (issue 19, Why 7): `name`, `networks` and `clients` alone. Without
`pki`, the IP-HTTPS certificate comes from a public CA whose root every client trusts (F5.15),
with its CRLs on the Internet, so even Windows 7, which always checks them, connects."""

import json

from click.testing import CliRunner

from sim.cli import cli
from sim.pki.spec import PUBLIC_ISSUING, PUBLIC_ROOT
from sim.scenario import parse_scenario

SMALLEST = """name: smallest
networks:
  home: {nat: {preset: full-cone}}
clients:
  - {name: laptop, network: home}
"""

HOTEL = """name: smallest-hotel
networks:
  hotel: {nat: {preset: port-restricted-cone},
          firewall: {default: deny, allow: [tcp/80, tcp/443, udp/53]}}
clients:
  - {name: w10, network: hotel}
  - {name: w7, network: hotel, profile: windows7, roots: []}
"""


def run_json(tmp_path, text):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    out = CliRunner().invoke(cli, ["run", str(path), "--json"])
    assert out.exit_code == 0, out.output
    return {c["name"]: c for c in json.loads(out.output)["clients"]}


def test_name_networks_and_clients_are_a_scenario_that_runs(tmp_path):
    laptop = run_json(tmp_path, SMALLEST)["laptop"]
    assert laptop["connected"] and laptop["method"] == "teredo"


def test_without_pki_iphttps_works_with_a_public_ca(tmp_path):
    clients = run_json(tmp_path, HOTEL)
    for name in ("w10", "w7"):   # Windows 7 checks the CRL, published on the Internet
        assert clients[name]["method"] == "iphttps", clients[name]["attempts"]
        assert clients[name]["last_error"] is None


def test_the_public_root_is_in_every_clients_trusted_roots():
    s = parse_scenario(HOTEL)
    assert set(s.pki.authorities) == {PUBLIC_ROOT, PUBLIC_ISSUING}
    assert s.pki.certificates["iphttps"].subject == "da.contoso.com"   # the URL's name
    assert [c.roots for c in s.clients] == [[PUBLIC_ROOT], [PUBLIC_ROOT]]


def test_the_certificate_follows_the_url_and_its_name():
    s = parse_scenario(SMALLEST.replace(
        "networks:", "server: {iphttps: {url: 'https://da.fabrikam.com/IPHTTPS', "
        "certificate: da}}\nnetworks:"))
    assert s.pki.certificates["da"].subject == "da.fabrikam.com"


def test_a_scenario_with_its_own_pki_gets_no_public_root():
    s = parse_scenario(SMALLEST + "pki: {authorities: {r: {}}, certificates: "
                       "{iphttps: {issuer: r, subject: da.contoso.com}}}\n")
    assert set(s.pki.authorities) == {"r"} and s.clients[0].roots == []
