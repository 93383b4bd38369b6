"""A load balancer or application delivery controller that terminates IP-HTTPS's TLS (fact
sheet above the tunnel F1–F4, N11.4; Hicks, "Troubleshooting IP-HTTPS Error 0x80090326"):
without the NULL suites it fails Windows 8+ right after ClientHello; demanding a client
certificate, it fails clients without one after ServerHello. Both: 0x80090326."""

import shutil
import subprocess

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.net.tls import ENCRYPTED_SUITES, NULL_SUITES, TlsTerminator
from sim.scenario import load_scenario
from sim.scenario.build import Simulation

from .conftest import SCENARIOS, by_name

ADC = SCENARIOS / "iphttps-adc-offload.yaml"


def run(overrides=None):
    return by_name(Simulation(load_scenario(ADC, overrides or {})).run().as_dict())


def iphttps_failures(client):
    return [a for a in client["attempts"] if a["method"] == "iphttps" and a["result"] == "failed"]


def test_without_null_suites_windows10_fails_right_after_clienthello_and_windows7_connects():
    clients = run()
    win10, win7 = clients["laptop-win10"], clients["laptop-win7"]
    assert win10["last_error"] == "0x80090326" and not win10["connected"]
    assert all("after ClientHello" in a["reason"] for a in iphttps_failures(win10))
    assert win7["method"] == "iphttps" and win7["time_to_connect_s"] < 1.0


def test_with_null_suites_enabled_windows10_connects_too():
    clients = run({"server.iphttps.terminator.null_suites": True})
    assert {c["method"] for c in clients.values()} == {"iphttps"}


def test_demanding_a_client_certificate_fails_every_client_after_serverhello():
    clients = run({"server.iphttps.terminator.null_suites": True,
                   "server.iphttps.terminator.client_certificate": "required"})
    for client in clients.values():
        assert client["last_error"] == "0x80090326" and not client["connected"]
        failures = iphttps_failures(client)
        assert failures and all("after ServerHello" in a["reason"] for a in failures)


def test_the_server_itself_takes_either_offer_and_an_adc_only_its_own_suites():
    assert TlsTerminator().pick(NULL_SUITES) == 0x003B
    assert TlsTerminator().pick(ENCRYPTED_SUITES) == ENCRYPTED_SUITES[0]
    adc = TlsTerminator.adc(null_suites=False, client_certificate=False)
    assert adc.pick(NULL_SUITES) is None and adc.pick(ENCRYPTED_SUITES) in ENCRYPTED_SUITES
    assert TlsTerminator.adc(null_suites=True, client_certificate=False).pick(NULL_SUITES)


def test_explain_gives_the_adc_remedy():
    out = CliRunner().invoke(cli, ["explain", str(ADC), "--client", "laptop-win10"])
    assert out.exit_code == 0, out.output
    assert "(0x80090326)" in out.output and "NULL-encryption suites" in out.output


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_pcap_shows_the_null_only_clienthello_and_the_handshake_failure_alert(tmp_path):
    pcap = tmp_path / "adc.pcap"
    out = CliRunner().invoke(cli, ["pcap", str(ADC), "--out", str(pcap),
                                   "--point", "client:laptop-win10"])
    assert out.exit_code == 0, out.output
    fields = subprocess.run(
        ["tshark", "-r", str(pcap), "-Y", "tls", "-T", "fields", "-e", "tls.handshake.type",
         "-e", "tls.handshake.ciphersuite", "-e", "tls.alert_message.desc"],
        capture_output=True, text=True, check=True).stdout.splitlines()
    first, second = (line.split("\t") for line in fields[:2])
    assert first[:2] == ["1", "0x003b,0x0002"]          # ClientHello: NULL suites alone
    assert second[2] == "40"                            # handshake_failure, nothing else
