"""The connectivity assistant's checks cross the tunnel in use, so they stop being answered
when the path breaks (a server outage) and resume when it comes back."""

import math

from .conftest import by_name, run_text

TEXT = """
name: probes
seed: 5
duration: 600
server:
  ipv4: [131.107.0.1, 131.107.0.2]
pki:
  authorities:
    root: {}
  certificates:
    iphttps: {issuer: root, subject: da.contoso.com}
networks:
  home:
    nat: {preset: linux-masquerade}
  hotel:
    nat: {preset: port-restricted-cone}
    firewall: {default: deny, allow: [tcp/80, tcp/443, udp/53]}
  corp: {corporate: true}
clients:
  - {name: teredo, network: home, roots: [root], connectivity_probe: 30s}
  - {name: https, network: hotel, roots: [root], connectivity_probe: 30s}
  - {name: quiet, network: home, roots: [root]}
%(events)s
"""


def test_every_check_is_answered_through_teredo_and_iphttps():
    _, result = run_text(TEXT % {"events": ""})
    c = by_name(result)
    assert c["teredo"]["method"] == "teredo" and c["https"]["method"] == "iphttps"
    for name in ("teredo", "https"):
        expected = math.floor((600 - c[name]["time_to_connect_s"]) / 30)
        probes = c[name]["probes"]
        assert probes["unanswered"] == 0
        assert expected - 1 <= probes["answered"] <= expected, (name, probes, expected)
    assert "probes" not in c["quiet"]          # no assistant configured: no key


def test_checks_go_unanswered_in_an_outage_and_resume_over_the_next_method():
    """The outage breaks Teredo's refresh; IP-HTTPS connects once the server is back (its
    back-off permitting), and the checks continue over it."""
    events = "events:\n  - {at: 200, action: server_down}\n  - {at: 320, action: server_up}"
    _, result = run_text(TEXT % {"events": events})
    c = by_name(result)
    for name in ("teredo", "https"):
        assert c[name]["method"] == "iphttps"
        assert c[name]["probes"]["unanswered"] >= 1
    teredo = c["teredo"]
    before_outage = math.floor((200 - teredo["time_to_connect_s"]) / 30)
    assert teredo["probes"]["answered"] > before_outage + 5
