"""What a trainer reads aloud: a laptop's story names the break and the mend (scenario
events that change the world around it), and the remedy fits the device that held it."""

from pathlib import Path

from click.testing import CliRunner

from sim.cli import cli

SCEN = Path(__file__).resolve().parents[2] / "scenarios"


def explain(scenario: str, *args: str) -> str:
    out = CliRunner().invoke(cli, ["explain", str(SCEN / scenario), *args])
    assert out.exit_code == 0, out.output
    return out.output


def test_the_nls_outage_is_in_every_laptops_story():
    text = explain("nls-outage.yaml")
    assert text.count("t=60.0 s  scenario: the network location server (NLS) stops "
                      "answering") == 2


def test_the_portal_login_and_its_remedy():
    text = explain("hotel-captive-portal.yaml", "--client", "laptop")
    assert "t=90.0 s  scenario: the guests log in to the captive portal" in text
    assert "remedy: A captive portal holds the traffic until the guest logs in" in text
    assert "does not let UDP 3544 through" not in text
    guest = explain("hotel-captive-portal.yaml", "--client", "laptop", "--set",
                    "networks.hotel.captive_portal.login_at=[1m,2m]")
    assert "scenario: the guest logs in to the captive portal" in guest


def test_a_group_policy_deployment_that_waits_for_a_domain_controller():
    text = explain("gpo-rollout.yaml", "--client", "hotel-00010", "--set", "duration=2h")
    assert "scenario: Group Policy deploys root contoso-root-2026" in text
    assert "no domain controller reachable (not inside, no tunnel); the policy waits" in text


def test_server_outage_and_return_are_told():
    text = explain("hotel-udp-blocked.yaml", "--set",
                   "events=[{at: 100, action: server_down}, {at: 200, action: server_up}]",
                   "--set", "clients.0.connectivity_probe=30s")
    assert "t=100.0 s  scenario: the DirectAccess server goes down" in text
    # the checks through the tunnel find it dead; the laptop says why it lost it: a server
    # that went silent times the connection out (WSAECONNABORTED), it does not reset it
    assert ("iphttps: tunnel lost (0x2745): the IP-HTTPS connection was aborted: the server "
            "stopped answering and TCP's retransmissions gave up") in text
    assert "t=200.0 s  scenario: the DirectAccess server is back" in text


def test_a_lost_teredo_tunnel_is_told():
    text = explain("home-nat.yaml", "--set",
                   "events=[{at: 100, action: server_down}, {at: 200, action: server_up}]")
    assert "teredo: tunnel lost: Teredo refresh got no answer" in text


def test_a_laptop_in_the_office_that_thinks_it_is_outside_is_the_nls_outage():
    text = explain("nls-outage.yaml")
    desk, roamer = text.split("Client roamer")
    assert "desk is inside the corporate network (the NLS answered): it needs no " \
           "DirectAccess tunnel" in desk
    assert "no DirectAccess connectivity" not in desk
    assert "roamer is on a corporate network but concluded it is outside" in roamer
    assert "lose internal name resolution" in roamer


def test_force_tunnelling_skips_each_method_once():
    text = explain("home-nat.yaml", "--set", "server.force_tunnel=true")
    assert text.count("teredo: not_eligible: force tunnelling uses IP-HTTPS only") == 1
    assert "(F1.5)" not in text


def test_importing_an_intermediate_as_a_root_gets_a_hint():
    text = explain("kb2980667-untrusted-root.yaml", "--set", "events.0.authority=contoso-issuing")
    assert "root contoso-issuing imported into Trusted Root Certification Authorities by hand " \
           "— but it is not a root: it was issued by CN=contoso-root" in text
    assert "last error 0x800b0109" in text


def test_a_routed_private_network_gets_the_teredo_server_remedy(tmp_path):
    """S21: RFC 1918 sources reach the server without a NAT; the server drops the RS."""
    scenario = tmp_path / "s21.yaml"
    scenario.write_text(
        "name: s21\nduration: 120\n"
        "pki: {authorities: {root: {}}, certificates: {iphttps: {issuer: root, "
        "subject: da.contoso.com}}}\n"
        "networks: {partner: {addressing: private}, corp: {corporate: true}}\n"
        "clients: [{name: laptop, network: partner, roots: [root]}]\n")
    out = CliRunner().invoke(cli, ["explain", str(scenario)])
    assert "source 10.1.0.10 is not global" in out.output
    assert "remedy: The Teredo server ignores solicitations from addresses that are not " \
           "global" in out.output
    assert "does not let UDP 3544 through" not in out.output


def test_an_iphttps_name_missing_from_public_dns_is_0x2af9():
    """S15 / KB 3056560: the IP-HTTPS URL's name does not resolve from outside."""
    text = explain("hotel-udp-blocked.yaml", "--set", "server.iphttps.public_dns=false")
    assert "(0x2af9): da.contoso.com: no such name" in text
    assert "Publish it in public DNS and exempt it from the NRPT (KB 3056560)" in text


def test_a_portal_login_event_is_told_once():
    text = explain("hotel-captive-portal.yaml", "--set",
                   "networks.hotel.captive_portal.login_at=null", "--set",
                   "events=[{at: 60, action: portal_login, network: hotel}]")
    assert text.count("log in to the captive portal") == 1


def test_a_laptop_that_starts_late_is_first_usable_at_the_runs_time():
    """start_at 60: the timeline says t=60.3 s, so the ending does too (it said t=0.3 s,
    the time since the laptop's start, without saying so)."""
    text = explain("home-nat.yaml", "--client", "laptop", "--set", "clients.0.start_at=60")
    assert "t=60.3 s  iphttps: connected" in text
    assert "(first usable at t=60.3 s, 0.3 s after it started)." in text
