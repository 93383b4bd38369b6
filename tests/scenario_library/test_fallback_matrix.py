"""The fallback matrix of issue 4, one small topology per row (scenario text inline)."""

import pytest

from .conftest import by_name, run_text

BASE = """
name: matrix
seed: 3
duration: 120
server:
  ipv4: [131.107.0.1, 131.107.0.2]
  ipv6: [%(server6)s]
pki:
  authorities:
    root: {}
    issuing: {issuer: root}
  certificates:
    iphttps: {issuer: issuing, subject: da.contoso.com}
networks:
  net:
%(net)s
  corp: {corporate: true}
clients:
  - {name: laptop, network: net, profile: %(profile)s, roots: [root]}
"""


def outcome(net: str, profile: str = "windows10", server6: str = ""):
    _, result = run_text(BASE % {"net": net, "profile": profile, "server6": server6})
    c = by_name(result)["laptop"]
    return c, [(a["method"], a["result"]) for a in c["attempts"]]


def test_public_ipv4_uses_6to4():
    c, _ = outcome("    addressing: public")
    assert c["method"] == "6to4"


def test_protocol_41_blocked_with_a_public_address_falls_back_after_the_silent_6to4():
    c, steps = outcome("    addressing: public\n    firewall: {deny: [proto/41]}")
    assert steps[1] == ("6to4", "failed")
    assert c["method"] == "teredo"  # a public address behind only a firewall: Teredo works
    assert c["time_to_connect_s"] > 12.0


@pytest.mark.parametrize("preset,method,max_time", [
    ("full-cone", "teredo", 1.0),               # cone test answered in one round trip
    ("port-restricted-cone", "teredo", 12.5),   # after the cone phase times out
    ("restricted-cone", "teredo", 12.5),
    ("symmetric", "iphttps", 13.0),             # secondary-address check fails
])
def test_nat_type_decides_between_teredo_and_iphttps(preset, method, max_time):
    c, _ = outcome(f"    nat: {{preset: {preset}}}")
    assert c["method"] == method
    assert c["time_to_connect_s"] <= max_time


def test_native_ipv6_is_preferred_when_the_server_has_a_public_ipv6_address():
    c, steps = outcome("    nat: {preset: linux-masquerade}\n    ipv6: native",
                       server6="2001:db8:ffff::1")
    assert c["method"] == "native" and steps[0] == ("native", "connected")


def test_native_ipv6_needs_the_server_to_have_ipv6_too():
    c, steps = outcome("    nat: {preset: linux-masquerade}\n    ipv6: native")
    assert steps[0] == ("native", "not_eligible") and c["method"] == "teredo"


def test_udp_blocked_iphttps_connects_while_teredo_still_qualifies():
    c, steps = outcome("    nat: {preset: full-cone}\n"
                       "    firewall: {default: deny, allow: [tcp/443, udp/53]}")
    assert ("teredo", "failed") in steps and c["method"] == "iphttps"
    assert c["time_to_connect_s"] < 1.0   # not after Teredo's 24 s (F1.6)


def test_windows11_defaults_leave_only_iphttps_behind_a_friendly_nat():
    c, steps = outcome("    nat: {preset: full-cone}", profile="windows11")
    assert ("teredo", "not_eligible") in steps and c["method"] == "iphttps"
    assert c["time_to_connect_s"] < 1.0
