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


def test_guests_log_in_each_in_their_own_time_and_wait_for_their_next_retry():
    # login_at: [1m, 10m]: each of 20 guests logs in at its own time; until then the portal
    # drops its IP-HTTPS connects (0x274c) and afterwards it waits for its next back-off retry
    sim = Simulation(load_scenario(PORTAL, {
        "clients.0.count": 20, "duration": "30m",
        "networks.hotel.captive_portal.login_at": ["1m", "10m"]}), trace=True)
    result = {c.name: c for c in sim.run().clients}
    logins = {r.fields["guest"]: r.t for r in sim.kernel.trace.of_kind("portal-login")}
    assert len(logins) == 20 and 60 <= min(logins.values()) < max(logins.values()) <= 600
    assert not sim.sites["hotel"][0].portal.logged_in      # never the whole site
    for c in sim.clients:
        login = logins[str(c.host.interfaces[0].address)]
        r = result[c.name]
        # connected: no last error; the portal's drops are in its attempts
        assert r.method == "iphttps" and r.last_error is None
        assert any(a[5] == "0x274c" for a in r.attempt_values)
        assert login < r.time_to_connect_s < login + 600   # the next retry, not at once
    assert len({round(r.time_to_connect_s) for r in result.values()}) >= 3


def test_a_guest_who_arrives_later_logs_in_after_it_arrives():
    sim = Simulation(load_scenario(PORTAL, {
        "clients.0.network": "corp", "duration": "40m",
        "networks.hotel.captive_portal.login_at": ["1m", "2m"],
        "events": [{"at": "20m", "action": "roam", "client": "laptop", "network": "hotel"}]}),
        trace=True)
    result = sim.run().clients[0]
    (login,) = [r.t for r in sim.kernel.trace.of_kind("portal-login")]
    assert 1200 + 60 <= login <= 1200 + 120
    assert result.method == "iphttps" and result.time_to_connect_s > login


def test_a_portal_login_event_may_name_guests():
    def connected(events):
        sim = Simulation(load_scenario(PORTAL, {
            "clients.0.count": 10, "duration": "20m", "networks.hotel.captive_portal": {},
            "events": events}))
        return {c.name for c in sim.run().clients if c.connected}

    assert connected([{"at": "2m", "action": "portal_login", "network": "hotel",
                       "client": "laptop-00003"}]) == {"laptop-00003"}
    some = connected([{"at": "2m", "action": "portal_login", "network": "hotel",
                       "client": "laptop", "share": 0.5}])
    assert 0 < len(some) < 10
    assert len(connected([{"at": "2m", "action": "portal_login", "network": "hotel"}])) == 10
