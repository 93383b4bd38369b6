"""pcaps of the IPsec layer: AuthIP (ISAKMP with exchange types 0xF3-0xF6, MS-AIPS §2.2.1)
and ESP inside Teredo and 6to4, dissected by tshark; inside IP-HTTPS the same packets are
TLS application data."""

import shutil
import subprocess

import pytest
from click.testing import CliRunner

from sim.cli import cli

needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
SCENARIO = """
name: ipsec-pcap
duration: 45
server:
  ipsec: {authentication: certificates, root: contoso-root}
pki:
  authorities:
    contoso-root: {}
  certificates:
    iphttps: {issuer: contoso-root, subject: da.contoso.com}
networks:
  home:
    nat: {preset: linux-masquerade}
  public:
    addressing: public
  hotel:
    nat: {preset: symmetric}
    firewall: {default: deny, allow: [tcp/443, udp/53]}
clients:
  - {name: teredo-laptop, network: home, roots: [contoso-root], iphttps: disabled}
  - {name: sixtofour-laptop, network: public, roots: [contoso-root]}
  - {name: iphttps-laptop, network: hotel, roots: [contoso-root]}
"""


def capture(tmp_path, client):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    out = tmp_path / f"{client}.pcap"
    result = CliRunner().invoke(cli, ["pcap", str(scenario), "--out", str(out), "--point",
                                      f"client:{client}"])
    assert result.exit_code == 0, result.output
    return out


def fields(path, *names, display_filter):
    cmd = ["tshark", "-r", str(path), "-T", "fields", "-Y", display_filter]
    for n in names:
        cmd += ["-e", n]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return [line.split("\t") for line in out.stdout.splitlines()]


@needs_tshark
@pytest.mark.parametrize(("client", "outer"), [("teredo-laptop", "teredo"),
                                               ("sixtofour-laptop", "ip.proto == 41")])
def test_authip_and_esp_dissect_inside_the_transition(tmp_path, client, outer):
    path = capture(tmp_path, client)
    ike = fields(path, "isakmp.exchangetype", "isakmp.nextpayload", "udp.srcport",
                 display_filter=f"{outer} && isakmp")
    # main mode (2 exchanges), extended mode, quick mode, for each of the two tunnels
    exchanges = [int(row[0]) for row in ike]
    assert exchanges.count(0xF3) == 8 and exchanges.count(0xF5) == 4
    assert exchanges.count(0xF4) == 6
    assert {row[1] for row in ike} == {"133"}   # the Crypto payload
    assert {row[2].split(",")[-1] for row in ike} == {"500"}   # the inner UDP port
    esp = fields(path, "esp.spi", "esp.sequence", display_filter=f"{outer} && esp")
    assert esp and all(int(row[1]) >= 1 for row in esp)
    assert not fields(path, "frame.number",
                      display_filter="_ws.malformed || _ws.expert.severity >= warning")


@needs_tshark
def test_inside_iphttps_ipsec_is_tls_application_data(tmp_path):
    path = capture(tmp_path, "iphttps-laptop")
    assert not fields(path, "frame.number", display_filter="isakmp || esp")
    records = fields(path, "tls.record.content_type",
                     display_filter="tls.record.content_type == 23")
    assert len(records) > 10
