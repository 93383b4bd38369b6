"""A scenario's captive portal can intercept HTTPS with its own certificate: IP-HTTPS then
fails on the portal's chain (S3) until the guest logs in."""

import re
from pathlib import Path

import pytest

from sim.errors import InputError
from sim.scenario import load_scenario
from sim.scenario.build import Simulation

PORTAL = Path(__file__).resolve().parents[2] / "scenarios" / "hotel-captive-portal.yaml"
INTERCEPT = {
    "pki.authorities.hotel-portal-ca": {},
    "pki.certificates.portal": {"issuer": "hotel-portal-ca", "subject": "portal.hotel.example"},
    "networks.hotel.captive_portal": {"login_at": 90, "https": "intercept",
                                      "certificate": "portal"},
}


def test_an_intercepting_portal_fails_iphttps_on_its_chain_until_login():
    client = Simulation(load_scenario(PORTAL, INTERCEPT)).run().clients[0]
    tries = [a for a in client.attempts if a["method"] == "iphttps"]
    before = [a for a in tries if a["start_s"] < 90]
    assert before and all(a["error"] == "0x800b0109" for a in before)
    assert client.connected and client.method == "iphttps"
    assert 90 < client.time_to_connect_s < 200


@pytest.mark.parametrize("portal,message", [
    ({"https": "intercept"}, "https: intercept needs certificate"),
    ({"https": "intercept", "certificate": "portl"},
     "captive_portal.certificate: unknown certificate 'portl' (did you mean 'portal'?)"),
])
def test_intercept_without_a_known_certificate_is_a_clear_error(portal, message):
    overrides = {**INTERCEPT, "networks.hotel.captive_portal": portal}
    with pytest.raises(InputError, match=re.escape(message)):
        load_scenario(PORTAL, overrides)


def test_the_failure_names_the_chain_presented_and_the_story_tells_whose_it_is():
    from sim.report.narrative import narrate

    sim = Simulation(load_scenario(PORTAL, INTERCEPT))
    client = sim.run().clients[0]
    failed = next(a for a in client.attempts if a.get("error") == "0x800b0109")
    assert failed["reason"].endswith(
        "(chain presented: portal.hotel.example → hotel-portal-ca)")
    story = narrate(client.as_dict(), sim.clients[0].da.state.timeline())
    assert "a captive portal (log in first); do not trust its CA" in story
