"""The NRPT (B1-B7): the longest namespace decides, an exemption uses the network's DNS, and
a public name under the internal namespace without an exemption fails IP-HTTPS with 0x2afc
because its lookup goes to a DNS64 that only the missing tunnel reaches (KB 3052855,
KB 3056560)."""

import json
import subprocess
import sys
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from sim.directaccess.nrpt import Nrpt, NrptRule, NrptRuleConfig

from .cli import dasim

SCEN = Path(__file__).resolve().parents[2] / "scenarios"
CASE = str(SCEN / "nrpt-public-name-not-exempt.yaml")
DNS64 = IPv6Address("2001:db8:1:3333::1")
EXEMPT = ("server.nrpt=[{namespace: .contoso.com, dns: dns64}, "
          "{namespace: nls.corp.contoso.com}, {namespace: da.contoso.com}]")




def test_the_longest_namespace_wins_and_a_name_beats_its_own_suffix():
    table = Nrpt([NrptRule(".contoso.com", (DNS64,)), NrptRule("da.contoso.com"),
                  NrptRule(".corp.contoso.com", (IPv6Address("2001:db8:1::53"),)),
                  NrptRule(".")])
    assert table.match("da.contoso.com").exemption
    assert table.match("files.corp.contoso.com").namespace == ".corp.contoso.com"
    assert table.match("crl.contoso.com").dns == (DNS64,)
    assert table.match("contoso.com").namespace == ".contoso.com"
    assert table.match("www.example.com").namespace == "."
    assert Nrpt([NrptRule(".corp.contoso.com")]).match("notcorp.contoso.com") is None


@pytest.mark.parametrize("bad", ["*.contoso.com", "contoso..com", "", "da contoso.com"])
def test_a_namespace_that_is_no_name_is_refused(bad):
    with pytest.raises(ValueError, match="expected a suffix"):
        NrptRuleConfig(namespace=bad)


def test_the_public_name_under_the_internal_namespace_fails_iphttps_with_0x2afc():
    data = json.loads(dasim("run", CASE, "--json"))
    laptop = data["clients"][0]
    assert not laptop["connected"] and laptop["last_error"] == "0x2afc"
    iphttps = [a for a in laptop["attempts"] if a["method"] == "iphttps"]
    # at the start and on each reconnect of the back-off, always the same lookup (F2.10)
    assert [round(a["start_s"]) for a in iphttps] == [0, 30, 60, 120, 240]
    assert all(a["error"] == "0x2afc" and "the NRPT rule for .contoso.com sends it to "
               "2001:db8:1:3333::1" in a["reason"] for a in iphttps)
    netsh = dasim("netsh", CASE, "--client", "laptop", "interface", "httpstunnel", "show",
                  "interfaces")
    assert "Last Error Code            : 0x2afc" in netsh
    assert "Failed to connect to the IPHTTPS server" in netsh
    text = dasim("explain", CASE, "--client", "laptop")
    assert "Add an NRPT exemption for da.contoso.com" in text
    assert "KB 3052855, KB 3056560" in text
    effective = dasim("netsh", CASE, "--client", "laptop", "namespace", "show",
                      "effectivepolicy")
    assert "Settings for .contoso.com" in effective
    assert "DirectAccess (DNS Servers)              : 2001:db8:1:3333::1" in effective
    assert "Settings for da.contoso.com" not in effective


def test_with_the_exemption_the_name_resolves_in_public_dns_and_iphttps_connects():
    data = json.loads(dasim("run", CASE, "--json", "--set", EXEMPT))
    laptop = data["clients"][0]
    assert laptop["connected"] and laptop["method"] == "iphttps"
    assert laptop["time_to_connect_s"] < 1.0
    effective = dasim("netsh", CASE, "--client", "laptop", "--set", EXEMPT, "namespace",
                      "show", "effectivepolicy")
    block = effective.split("Settings for da.contoso.com", 1)[1].split("\n\n", 1)[0]
    assert "DirectAccess (DNS Servers)              : \n" in block + "\n"


def test_inside_the_table_is_not_in_effect_and_without_nrpt_nothing_changes():
    inside = dasim("netsh", CASE, "--client", "laptop", "--set", "clients.0.network=corp",
                   "namespace", "show", "effectivepolicy")
    assert inside.strip() == "DNS Effective Name Resolution Policy Table Settings"
    configured = dasim("netsh", CASE, "--client", "laptop", "--set",
                       "clients.0.network=corp", "namespace", "show", "policy")
    assert "Settings for .contoso.com" in configured
    # the same hotel without the table: the scenario library's result
    plain = json.loads(dasim("run", str(SCEN / "hotel-udp-blocked.yaml"), "--json"))
    assert plain["clients"][0]["method"] == "iphttps"


NLS_CASE = str(SCEN / "nrpt-nls-not-exempt.yaml")
NLS_EXEMPT = ("server.nrpt=[{namespace: .corp.contoso.com, dns: dns64}, "
              "{namespace: nls.corp.contoso.com}]")


def test_the_nls_name_without_its_exemption_is_reached_through_the_tunnel_and_flaps():
    """B3, B8: once IP-HTTPS is up, the NRPT sends the NLS's name to the DNS64, the NLS
    answers through the NAT64, the laptop turns DirectAccess off as if inside, and the
    cycle starts again."""
    laptop = json.loads(dasim("run", NLS_CASE, "--json"))["clients"][0]
    up = [a for a in laptop["attempts"] if a["method"] == "iphttps"
          and a["result"] == "connected"]
    off = [a for a in laptop["attempts"] if a["reason"] == "DirectAccess turns itself off "
           "inside"]
    assert len(up) > 100 and len(off) > 100   # a 60 s run, a cycle every 0.4 s
    assert laptop["nls_through_tunnel"] == len(up)
    table = dasim("run", NLS_CASE)
    assert f"turned DirectAccess off as if inside: 1 ({len(up)} times;" in table
    assert laptop["uses"][0] == {"t": 0.294, "method": "iphttps"}
    assert laptop["uses"][1]["method"] is None and laptop["uses"][1]["t"] < 0.6
    story = dasim("explain", NLS_CASE, "--client", "laptop")
    assert "network location: inside (NLS nls.corp.contoso.com answered over HTTPS" in story
    assert "the same cycle" in story and len(story.splitlines()) < 60
    assert "Add an NRPT exemption for nls.corp.contoso.com" in story
    state = dasim("netsh", NLS_CASE, "--client", "laptop", "--at", "0.4", "dnsclient",
                  "show", "state")
    assert "Machine Location                      : Outside corporate network" in state
    assert "Direct Access Settings                : Configured and Enabled" in state
    policy = dasim("netsh", NLS_CASE, "--client", "laptop", "namespace", "show", "policy")
    assert "Settings for nls.corp.contoso.com" not in policy


def test_with_the_nls_exemption_the_laptop_stays_outside_and_connected():
    laptop = json.loads(dasim("run", NLS_CASE, "--json", "--set", NLS_EXEMPT))["clients"][0]
    assert laptop["connected"] and laptop["method"] == "iphttps"
    assert laptop["location"] == "outside" and len(laptop["uses"]) == 1
    assert "nls_through_tunnel" not in laptop
    story = dasim("explain", NLS_CASE, "--client", "laptop", "--set", NLS_EXEMPT)
    assert "through the DirectAccess tunnel" not in story and "NRPT exemption" not in story
    assert "reaches the corporate network over iphttps (first usable at t=0.3 s)" in story


CRL_NOT_EXEMPT = ("server.nrpt=[{namespace: .contoso.com, dns: dns64}, "
                  "{namespace: nls.corp.contoso.com}, {namespace: da.contoso.com}]")


def test_a_crl_name_under_the_internal_namespace_fails_revocation_outside_on_windows7():
    """B4: the CRL's name goes to the DNS64 that no tunnel reaches yet; Windows 7 enforces
    the revocation check (0x80092013), Windows 10 does not; the exemption fixes it."""
    win7 = ("--set", CRL_NOT_EXEMPT, "--set", "clients.0.profile=windows7")
    laptop = json.loads(dasim("run", CASE, "--json", *win7))["clients"][0]
    assert not laptop["connected"] and laptop["last_error"] == "0x80092013"
    failed = [a for a in laptop["attempts"] if a["method"] == "iphttps"]
    assert all("crl.contoso.com: the NRPT rule for .contoso.com" in a["reason"] for a in failed)
    story = dasim("explain", CASE, "--client", "laptop", *win7)
    assert "Add an NRPT exemption for crl.contoso.com" in story and "KB 3052855" in story
    win10 = json.loads(dasim("run", CASE, "--json", "--set", CRL_NOT_EXEMPT))["clients"][0]
    assert win10["connected"] and win10["method"] == "iphttps"
    fixed = CRL_NOT_EXEMPT.replace("]", ", {namespace: crl.contoso.com}]")
    laptop = json.loads(dasim("run", CASE, "--json", "--set", fixed, "--set",
                              "clients.0.profile=windows7"))["clients"][0]
    assert laptop["connected"] and laptop["method"] == "iphttps"


def test_nrpt_and_nat64_values_that_mean_something_else_get_a_warning():
    res = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", NLS_CASE, "--set",
         "server.nrpt=[{namespace: corp.contoso.com, dns: dns64}, {namespace: corp.contoso.com}]",
         "--set", "server.nat64_prefix=64:ff9b::/96"], capture_output=True, text=True,
        check=False)
    assert res.returncode == 0, res.stderr
    warnings = [line for line in res.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 3
    assert "server.nrpt.0.namespace: corp.contoso.com without a leading dot" in warnings[0]
    assert "server.nrpt.1.namespace: corp.contoso.com is also rule 0" in warnings[1]
    assert "RFC 6052 §3.1" in warnings[2]
    table = Nrpt([NrptRule("corp.contoso.com", (DNS64,)), NrptRule("corp.contoso.com")])
    assert table.match("corp.contoso.com").dns == (DNS64,)   # the first rule decides
