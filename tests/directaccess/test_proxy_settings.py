"""The client's proxy settings (issue 21 part 3; facts E2-E4): the static WinHTTP proxy and its
bypass list, PAC files and WPAD fetched over the simulated network, the ProxyMgr cache after a
roam, and KB 3017472's static-proxy cancellation, each checked in netsh, the JSON and explain."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from sim.directaccess.pac import PacError, PacScript
from sim.directaccess.proxysettings import ClientProxyConfig, bypassed
from sim.scenario import load_scenario
from sim.scenario.build import Simulation

from .cli import dasim

SCEN = Path(__file__).resolve().parents[2] / "scenarios"
STATIC = str(SCEN / "kb3017472-static-proxy.yaml")
STALE = str(SCEN / "proxy-cache-stale-after-roam.yaml")
PAC = str(SCEN / "pac-per-url.yaml")
BYPASS = 'clients.0.proxy.bypass=["<local>", "da.contoso.com"]'




def clients(*args):
    return {c["name"]: c for c in json.loads(dasim("run", *args, "--json"))["clients"]}


def peer(sim, name):
    """Where the laptop's IP-HTTPS TCP connection goes: the server, or its proxy."""
    return str(sim.client(name).da.iphttps.conn.remote)


# -- the settings ---------------------------------------------------------------------------
@pytest.mark.parametrize(("given", "message"), [
    ({"winhttp": "proxy.hotel.example"}, "is not host:port"),
    ({"winhttp": "proxy:99999"}, "is not host:port"),
    ({"bypass": ["<local>"], "auto_detect": True}, "bypass applies to a winhttp proxy"),
    ({}, "give winhttp, pac or auto_detect"),
    ({"pac": "https://wpad.example/wpad.dat"}, "a PAC file's URL is http://"),
])
def test_bad_proxy_settings_are_refused_with_a_reason(given, message):
    with pytest.raises(ValidationError, match=message):
        ClientProxyConfig(**given)


def test_a_bad_proxy_in_a_scenario_is_one_message_and_exit_2():
    err = dasim("run", STATIC, "--set", "clients.0.proxy.winhttp=proxy", code=2)
    assert "clients.0.proxy.winhttp" in err and "host:port" in err
    assert "Traceback" not in err


def test_the_bypass_list_takes_local_names_and_wildcards():
    assert bypassed("intranet", ["<local>"]) and not bypassed("da.contoso.com", ["<local>"])
    assert bypassed("DA.contoso.com", ["*.contoso.com"])
    assert bypassed("da.contoso.com", ["<local>", "da.contoso.com"])
    assert not bypassed("da.contoso.com.evil.example", ["*.contoso.com"])


def test_a_pac_file_without_findproxyforurl_or_with_a_clock_is_refused():
    with pytest.raises(PacError, match="FindProxyForURL"):
        PacScript("var x = 1;")
    script = PacScript('function FindProxyForURL(u, h) { return timeRange(9, 17) ? '
                       '"DIRECT" : "PROXY p:8080"; }')
    with pytest.raises(PacError, match="date and time"):
        list(script.find("http://x/", "x", "10.0.0.1", lambda name: iter(())))


# -- KB 3017472: a static proxy -------------------------------------------------------------
def test_a_static_winhttp_proxy_leaves_windows_10_connecting_and_windows_7_connects():
    laptops = clients(STATIC)
    win10, win7 = laptops["laptop-win10"], laptops["laptop-win7"]
    assert not win10["connected"] and win10["last_error"] == "0x3e3"
    tries = [a for a in win10["attempts"] if a["method"] == "iphttps"]
    assert [int(a["start_s"]) for a in tries] == [0, 30, 60, 120, 240]
    assert all("KB 3017472" in a["reason"] and "proxy.partner.example:8080" in a["reason"]
               for a in tries)
    assert win7["connected"] and win7["method"] == "iphttps"
    shown = dasim("netsh", STATIC, "--client", "laptop-win10", "winhttp", "show", "proxy")
    assert shown == ("\nCurrent WinHTTP proxy settings:\n\n"
                     "    Proxy Server(s) :  proxy.partner.example:8080\n"
                     "    Bypass List     :  <local>\n\n")
    netsh = dasim("netsh", STATIC, "--client", "laptop-win10", "interface", "httpstunnel",
                  "show", "interfaces")
    assert "Last Error Code            : 0x3e3" in netsh
    assert "Interface Status           : connecting to the IPHTTPS server" in netsh
    text = dasim("explain", STATIC, "--client", "laptop-win10")
    assert "Remove the static proxy or add a bypass for da.contoso.com (KB 3017472)" in text


def test_the_cancellation_comes_after_the_proxy_opened_the_tunnel():
    """The packets: both laptops' CONNECTs reached the proxy and were answered 200; the
    Windows 7 laptop's IP-HTTPS connection is to the proxy, through its CONNECT tunnel."""
    sim = Simulation(load_scenario(STATIC))
    sim.run()
    proxy = sim.networks["partner"].proxy
    connects = [(t, s) for _, t, s in proxy.requests if not t.startswith("http://")]
    assert set(connects) == {("da.contoso.com:443", 200)}
    assert len(connects) == 6   # five cancelled CONNECTs and Windows 7's
    assert peer(sim, "laptop-win7") == str(sim.networks["partner"].proxy_address[0])


def test_a_bypass_for_the_da_name_lets_windows_10_connect_directly():
    sim = Simulation(load_scenario(STATIC, {"clients.0.proxy.bypass": ["<local>",
                                                                       "da.contoso.com"]}))
    result = {c["name"]: c for c in sim.run().as_dict()["clients"]}
    assert result["laptop-win10"]["connected"]
    assert peer(sim, "laptop-win10") == "131.107.0.1"
    shown = dasim("netsh", STATIC, "--client", "laptop-win10", "--set", BYPASS, "winhttp",
                  "show", "proxy")
    assert "    Bypass List     :  <local>;da.contoso.com\n" in shown


def test_netsh_winhttp_reset_proxy_removes_it_at_the_next_attempt():
    events = '[{at: 45, action: winhttp_reset_proxy, client: laptop-win10}]'
    laptops = clients(STATIC, "--set", f"events={events}")
    win10 = laptops["laptop-win10"]
    assert win10["connected"] and 60 <= win10["time_to_connect_s"] < 61
    before = dasim("netsh", STATIC, "--client", "laptop-win10", "--at", "40", "--set",
                   f"events={events}", "winhttp", "show", "proxy")
    after = dasim("netsh", STATIC, "--client", "laptop-win10", "--set", f"events={events}",
                  "winhttp", "show", "proxy")
    assert "Proxy Server(s) :  proxy.partner.example:8080" in before
    assert "    Direct access (no proxy server).\n" in after


# -- KB 2980635: the ProxyMgr cache after a roam --------------------------------------------
def test_the_cached_proxy_fails_with_0x2af9_after_the_roam_until_the_cache_is_cleared():
    laptop = clients(STALE)["laptop"]
    tries = [a for a in laptop["attempts"] if a["method"] == "iphttps"]
    assert tries[0]["result"] == "connected" and tries[0]["end_s"] < 1
    stale = [a for a in tries if 120 <= a["start_s"] < 600]
    assert [round(a["start_s"]) for a in stale] == [120, 150, 180, 240, 360]
    assert all(a["error"] == "0x2af9" and "proxy.partner.example:8080 from the ProxyMgr "
               "cache does not resolve" in a["reason"] for a in stale)
    assert tries[-1]["result"] == "connected" and 600 <= tries[-1]["start_s"] < 601
    assert laptop["connected"] and laptop["network"] == "home"
    at5 = dasim("netsh", STALE, "--client", "laptop", "--at", "5m", "interface",
                "httpstunnel", "show", "interfaces")
    assert "Last Error Code            : 0x2af9" in at5
    end = dasim("netsh", STALE, "--client", "laptop", "interface", "httpstunnel", "show",
                "interfaces")
    assert "Last Error Code            : 0x0" in end and "IPHTTPS interface active" in end
    text = dasim("explain", STALE, "--client", "laptop")
    assert "Clear the ProxyMgr cache and restart the IP Helper (KB 2980635)" in text
    assert "ProxyMgr cache cleared" in text


def test_without_the_fix_the_stale_proxy_fails_to_the_end_and_the_lookup_was_real():
    sim = Simulation(load_scenario(STALE, {"events": [
        {"at": "2m", "action": "roam", "client": "laptop", "network": "home"}]}), trace=True)
    laptop = sim.run().as_dict()["clients"][0]
    assert not laptop["connected"] and laptop["last_error"] == "0x2af9"
    # the laptop's DNS at home (the public resolver) was asked for the partner's proxy
    assert sim.public_dns.queries > 0
    assert sim.client("laptop").proxy_settings.cache == ("proxy.partner.example", 8080)


# -- PAC files and WPAD ---------------------------------------------------------------------
def test_pac_files_decide_per_url_direct_or_through_the_proxy():
    sim = Simulation(load_scenario(PAC))
    result = {c["name"]: c for c in sim.run().as_dict()["clients"]}
    assert result["pac-direct"]["connected"]
    assert peer(sim, "pac-direct") == "131.107.0.1"            # PAC: DIRECT
    assert result["wpad-proxy"]["connected"]
    assert peer(sim, "wpad-proxy") == str(sim.networks["guest-b"].proxy_address[0])
    assert not result["pac-proxy"]["connected"]                # a static .pac: KB 3017472
    assert result["pac-proxy"]["last_error"] == "0x3e3"
    # the guest-a PAC file resolved da.contoso.com itself: the laptop's own DNS query
    story = dict(sim.client("pac-direct").da.state.timeline())
    assert any("says DIRECT for https://da.contoso.com" in t for t in story.values())


def test_pac_cases_in_netsh_and_explain():
    # a PAC file is not a static WinHTTP setting: netsh winhttp shows direct access
    shown = dasim("netsh", PAC, "--client", "pac-proxy", "winhttp", "show", "proxy")
    assert "Direct access (no proxy server)." in shown
    netsh = dasim("netsh", PAC, "--client", "pac-proxy", "interface", "httpstunnel", "show",
                  "interfaces")
    assert "Last Error Code            : 0x3e3" in netsh
    text = dasim("explain", PAC)
    assert "says PROXY proxy.guest-b.example:8080 for https://da.contoso.com" in text
    assert "have the PAC file return DIRECT for da.contoso.com" in text
    assert "WPAD http://wpad.guest-b.example/wpad.dat says PROXY" in text


def test_a_proxy_that_cannot_resolve_the_server_gives_0x2af9():
    """KB 2980635: the proxy's own lookup of the IP-HTTPS name fails (the name is not in
    public DNS), it answers CONNECT with 502, and the client shows 0x2af9 (P5)."""
    sim = Simulation(load_scenario(SCEN / "enterprise-proxy.yaml",
                                   {"server.iphttps.public_dns": False}))
    laptop = {c["name"]: c for c in sim.run().as_dict()["clients"]}["laptop-open"]
    assert laptop["last_error"] == "0x2af9"
    assert "answered CONNECT with 502 Bad Gateway" in laptop["attempts"][-1]["reason"]


def test_a_static_proxy_whose_name_does_not_resolve_here_gives_0x2af9():
    other = "clients.0.proxy.winhttp=proxy.elsewhere.example:8080"
    laptop = clients(STATIC, "--set", other)["laptop-win10"]
    assert laptop["last_error"] == "0x2af9"
    assert "the proxy proxy.elsewhere.example:8080 does not resolve" in \
        laptop["attempts"][-1]["reason"]
    text = dasim("explain", STATIC, "--client", "laptop-win10", "--set", other)
    assert "does not resolve on this network (KB 2980635)" in text


def test_the_same_seed_gives_the_same_result():
    assert dasim("run", PAC, "--json") == dasim("run", PAC, "--json")


def test_the_pcap_at_home_shows_the_failed_lookup_of_the_cached_proxy(tmp_path):
    from scapy.all import DNS, rdpcap

    out = tmp_path / "home.pcap"
    dasim("pcap", STALE, "--point", "nat:home:inside", "--out", str(out))
    answers = [(p[DNS].qd[0].qname.decode(), p[DNS].rcode) for p in rdpcap(str(out))
               if p.haslayer(DNS) and p[DNS].qr == 1]
    assert ("proxy.partner.example.", 3) in answers   # NXDOMAIN from the home's resolver


def test_the_fix_is_an_event_a_student_can_try():
    from sim.exercise.fixes import parse_try

    events = parse_try("clear_proxy_cache; winhttp_reset_proxy", "laptop", 600.0)
    assert [(e["action"], e["at"]) for e in events] == [
        ("clear_proxy_cache", 600.0), ("winhttp_reset_proxy", 601.0)]


def test_windows_7_fetches_its_crls_through_the_same_proxy_where_only_the_proxy_gets_out():
    sim = Simulation(load_scenario(STATIC, {"networks.partner.firewall.allow": ["udp/53"]}))
    win7 = {c["name"]: c for c in sim.run().as_dict()["clients"]}["laptop-win7"]
    assert win7["connected"] and win7["method"] == "iphttps"   # CRL checked (KB 2980672)
    fetched = {(t, s) for _, t, s in sim.networks["partner"].proxy.requests}
    assert ("http://crl.contoso.com/issuing.crl", 200) in fetched


def test_a_bypass_list_written_as_netsh_takes_it_is_split_at_semicolons():
    from sim.directaccess.proxysettings import ClientProxyConfig, bypassed

    config = ClientProxyConfig(winhttp="proxy.partner.example:8080",
                               bypass=["<local>;DA.contoso.com", "*.corp.contoso.com"])
    assert config.bypass == ["<local>", "da.contoso.com", "*.corp.contoso.com"]
    assert bypassed("da.contoso.com", config.bypass) and bypassed("intranet", config.bypass)
    assert not bypassed("www.contoso.com", config.bypass)


# -- a PAC file's mistakes, before any laptop fetches it ------------------------------------
B_PAC = "networks.guest-b.dns.pac"


@pytest.mark.parametrize(("script", "warned", "told"), [
    ('function FindProxyForURL(url, host) {\n  return "DIRECT"\n',
     "does not compile: SyntaxError", "SyntaxError"),
    ('function FindProxyForURL(url, host) {\n  if (weekdayRange("MON", "FRI")) return "DIRECT";'
     '\n  return "PROXY proxy.guest-b.example:8080";\n}\n',
     "calls weekdayRange()", "FindProxyForURL called weekdayRange(), which reads the laptop's "
     "clock"),
    ('function FindProxyForURL(url, host) {\n  return "PRXY proxy.guest-b.example:8080";\n}\n',
     "answers 'PRXY', which is no PAC directive",
     "says DIRECT (skipping 'PRXY proxy.guest-b.example:8080': no PAC directive)"),
])
def test_a_pac_files_mistake_is_a_warning_with_its_place_and_a_plain_note(script, warned, told):
    res = subprocess.run([sys.executable, "-m", "sim.cli", "explain", PAC, "--client",
                          "pac-proxy", "--set", f"{B_PAC}={json.dumps(script)}"],
                         capture_output=True, text=True, check=True)
    out = res.stdout + res.stderr
    warning = next(line for line in res.stderr.splitlines() if "warning" in line)
    assert f"{B_PAC}: the PAC file" in warning and warned in warning
    note = next(line for line in out.splitlines() if "IP-HTTPS proxy settings" in line)
    assert told in note
    # neither pypac's warnings nor dukpy's stack reach the user
    assert "UserWarning" not in out and "<dukpy>" not in out and "InternalError" not in out


def test_the_library_pac_files_draw_no_warning():
    res = subprocess.run([sys.executable, "-m", "sim.cli", "run", PAC], capture_output=True,
                         text=True, check=True)
    assert "warning" not in res.stderr
