"""What people get out: byte-identical JSON and pcaps for the same seed (also from parallel
processes), pcaps that tshark dissects (Teredo, TLS Certificate with the real chain, HTTP
CONNECT), figures written by the command line."""

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SCEN = ROOT / "scenarios"
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


def dasim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True,
                          cwd=ROOT, check=False)


def test_same_scenario_and_seed_give_byte_identical_json_and_pcap_in_parallel(tmp_path):
    scenario = str(SCEN / "kb2980667-untrusted-root.yaml")
    jobs = [("run", scenario, "--json", "--pcap", str(tmp_path / f"{i}.pcap")) for i in range(3)]
    with ThreadPoolExecutor(3) as pool:
        outs = list(pool.map(lambda a: dasim(*a), jobs))
    assert all(o.returncode == 0 for o in outs), outs[0].stderr
    assert outs[0].stdout == outs[1].stdout == outs[2].stdout
    pcaps = [(tmp_path / f"{i}.pcap").read_bytes() for i in range(3)]
    assert pcaps[0] == pcaps[1] == pcaps[2] and len(pcaps[0]) > 1000


def test_another_seed_changes_the_json():
    scenario = str(SCEN / "hotel-captive-portal.yaml")
    a = json.loads(dasim("run", scenario, "--json", "--seed", "1").stdout)
    b = json.loads(dasim("run", scenario, "--json", "--seed", "2").stdout)
    assert a["seed"] == 1 and b["seed"] == 2
    assert a["clients"][0]["attempts"] != b["clients"][0]["attempts"]


def test_json_follows_the_schema_of_the_design_note():
    out = CliRunner().invoke(cli, ["run", str(SCEN / "kb2980667-untrusted-root.yaml"),
                                   "--json"])
    data = json.loads(out.output)
    assert data["schema"] == "dasim.result/1"
    c = data["clients"][0]
    assert set(c) == {"name", "network", "location", "connected", "method",
                      "time_to_connect_s", "last_error", "attempts", "uses"}
    assert set(data["summary"]) == {"clients", "connected", "by_method", "by_error"}
    assert {"method", "start_s", "end_s", "result", "reason"} <= set(c["attempts"][0])


def tshark(path, *fields, flt=None):
    cmd = ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=|"]
    for f in fields:
        cmd += ["-e", f]
    if flt:
        cmd += ["-Y", flt]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()


@needs_tshark
def test_iphttps_pcap_carries_the_real_certificate_chain(tmp_path):
    out = tmp_path / "kb.pcap"
    CliRunner().invoke(cli, ["pcap", str(SCEN / "kb2980667-untrusted-root.yaml"), "--out",
                             str(out)], catch_exceptions=False)
    assert not tshark(out, "frame.number", flt="_ws.malformed")
    certs = tshark(out, "x509sat.uTF8String", "x509sat.printableString",
                   flt="tls.handshake.type == 11")
    assert certs, "no TLS Certificate message dissected"
    assert "da.contoso.com" in "".join(certs)
    hellos = tshark(out, "tls.handshake.extensions_server_name", flt="tls.handshake.type == 1")
    assert "da.contoso.com" in hellos
    alerts = tshark(out, "tls.alert_message.desc", flt="tls.alert_message")
    assert "48" in alerts  # unknown_ca: the client rejected the chain


@needs_tshark
def test_proxy_connect_and_6in4_dissect(tmp_path):
    proxy = tmp_path / "proxy.pcap"
    CliRunner().invoke(cli, ["pcap", str(SCEN / "enterprise-proxy.yaml"), "--out", str(proxy)],
                       catch_exceptions=False)
    assert any("CONNECT" in line for line in tshark(proxy, "http.request.method",
                                                    flt="http.request"))
    sixtofour = tmp_path / "6to4.pcap"
    CliRunner().invoke(cli, ["pcap", str(SCEN / "home-public-ipv4.yaml"), "--out",
                             str(sixtofour)], catch_exceptions=False)
    rows = tshark(sixtofour, "ip.proto", "ipv6.dst", flt="ip.proto == 41")
    assert rows and all(r.startswith("41|") for r in rows)


@pytest.mark.parametrize("kind,scenario", [
    ("timeline", "kb2980667-untrusted-root"), ("sequence", "home-nat"),
    ("outcomes", "enterprise-proxy"), ("ttc", "crl-inside-only"),
    ("connected", "kb2980667-untrusted-root")])
def test_figures_are_written_not_empty_and_the_same_every_time(tmp_path, kind, scenario):
    for suffix in (".png", ".svg"):
        made = []
        for n in (1, 2):
            out = tmp_path / f"{kind}{n}{suffix}"
            res = CliRunner().invoke(cli, ["plot", str(SCEN / f"{scenario}.yaml"), "--kind",
                                           kind, "--out", str(out)])
            assert res.exit_code == 0, res.output
            assert out.stat().st_size > 2000
            made.append(out.read_bytes())
        assert made[0] == made[1], f"{kind}{suffix} differs between two renders"


def test_netsh_teredo_and_6to4_views(tmp_path):
    home = CliRunner().invoke(cli, ["netsh", str(SCEN / "home-nat.yaml"), "--client",
                                    "laptop", "interface", "teredo", "show", "state"])
    assert "State                   : qualified" in home.output
    assert "NAT                     : restricted" in home.output
    public = CliRunner().invoke(cli, ["netsh", str(SCEN / "home-public-ipv4.yaml"),
                                      "--client", "laptop", "interface", "6to4", "show",
                                      "state"])
    assert "6to4 Service State         : enabled" in public.output
    assert "131.107.0.1" in public.output


def test_explain_tells_cause_and_remedy():
    out = CliRunner().invoke(cli, ["explain", str(SCEN / "kb2980667-untrusted-root.yaml"),
                                   "--client", "laptop"])
    assert out.exit_code == 0
    assert "0x800b0109" in out.output and "Trusted Root Certification Authorities" in out.output
    assert "blocked by default deny" in out.output  # why Teredo failed, from the packets


def test_list_shows_every_library_scenario():
    out = CliRunner().invoke(cli, ["list", str(SCEN)])
    assert out.exit_code == 0
    assert len(out.output.splitlines()) == len(list(SCEN.glob("*.yaml")))


def test_a_fleet_summary_gives_each_network_its_methods_times_and_errors():
    from sim.report.text import summary_table

    def client(i, network, method, ttc, error=None):
        return {"name": f"laptop-{i:05}", "network": network, "location": "outside",
                "method": method, "connected": method is not None, "time_to_connect_s": ttc,
                "last_error": error}

    clients = ([client(i, "home", "teredo", 12.0 + i / 10) for i in range(10)]
               + [client(10, "hotel", "iphttps", 24.4),
                  client(11, "hotel", None, None, "0x800b0109"),
                  client(12, "hotel", None, None, "0x800b0109"),
                  {**client(13, "corp", None, None), "location": "inside"}])
    result = {"scenario": "s", "seed": 1, "duration_s": 600, "clients": clients,
              "summary": {"connected": 11, "clients": 14,
                          "by_method": {"teredo": 10, "iphttps": 1},
                          "by_error": {"0x800b0109": 2}}}
    text = summary_table(result, limit=5)
    table = text.split("By network")[1].splitlines()
    assert table[1].split() == ["network", "clients", "connected", "teredo", "iphttps",
                                "median", "(s)", "p90", "(s)", "not", "connected"]
    # nearest rank: the 5th and 9th of 12.0 … 12.9
    assert table[3].split() == ["corp", "1", "0", "-", "-", "-", "-", "inside", "x1"]
    assert table[4].split() == ["home", "10", "10", "10", "-", "12.4", "12.8", "-"]
    assert table[5].split() == ["hotel", "3", "1", "-", "1", "24.4", "24.4", "0x800b0109",
                                "x2"]
    assert "Inside the corporate network, no tunnel needed: 1\n" in text
    # one network, or a handful of clients: no breakdown to read
    one = {**result, "clients": clients[:10]}
    assert "By network" not in summary_table(one)


def test_set_changes_a_value_for_run_explain_and_netsh():
    home = str(SCEN / "home-nat.yaml")
    plain = json.loads(dasim("run", home, "--json").stdout)
    changed = json.loads(dasim("run", home, "--json", "--set",
                               "networks.home.nat.preset=symmetric").stdout)
    assert plain["clients"][0]["method"] == "teredo"
    assert changed["clients"][0]["method"] == "iphttps"
    story = dasim("explain", home, "--set", "networks.home.nat.preset=symmetric").stdout.decode()
    assert "teredo: failed: client is behind a symmetric NAT" in story
    state = dasim("netsh", home, "--client", "laptop", "--set",
                  "server.methods=[6to4,iphttps]", "interface", "teredo", "show",
                  "state").stdout.decode()
    assert "qualified" not in state


@pytest.mark.parametrize("option, message", [
    ("clients.0.profile=windows11,windows7", "one value here; dasim sweep runs several"),
    ("clients.0.nosuch=1", "clients.0.nosuch: unknown key"),
    ("clients.0.profile", "expected PATH=VALUE")])
def test_a_bad_set_on_run_exits_2_with_one_line(option, message):
    res = dasim("run", str(SCEN / "home-nat.yaml"), "--set", option)
    err = res.stderr.decode()
    assert res.returncode == 2 and message in err and len(err.splitlines()) == 1


def test_a_pcap_of_ipv4_and_ipv6_packets_is_written_without_scapy_warnings(tmp_path):
    out = tmp_path / "hotel2.pcap"
    res = dasim("pcap", str(SCEN / "mixed-fleet.yaml"), "--set", "duration=60",
                "--point", "nat:hotel#2", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stderr.decode() == ""          # scapy used to warn for every packet
    assert out.read_bytes()[20:24] == (101).to_bytes(4, "little")   # LINKTYPE_RAW


def test_explain_of_a_fleet_tells_one_story_for_each_network_and_outcome():
    out = CliRunner().invoke(cli, ["explain", str(SCEN / "mixed-fleet.yaml")]).output
    headers = [line for line in out.splitlines() if line.startswith("== ")]
    assert out.startswith("240 laptops: one story for each network and outcome (7)")
    assert sum(int(h.split()[1]) for h in headers) == 240 and len(headers) == 7
    assert "== 12 on hotel-inspecting: no tunnel, last error 0x800b0109 (for example " \
           "laptop-00010)" in headers
    inspecting = out.split("== 12 on hotel-inspecting")[1].split("\n== ")[0]
    assert "Client laptop-00010 on network hotel-inspecting" in inspecting
    assert "another organisation's CA" in inspecting            # the remedy for this case
    assert out.count("Client laptop-") == 7


# no loss in these: Wireshark should find nothing to flag
CLEAN_SCENARIOS = ["hotel-udp-blocked", "enterprise-proxy", "crl-inside-only",
                   "hotel-tls-inspection", "kb2980667-untrusted-root", "home-nat"]


SMALL_SCENARIOS = sorted(f.stem for f in SCEN.glob("*.yaml")
                         if "fleet" not in f.stem and "gpo" not in f.stem)


@pytest.mark.parametrize("scenario", SMALL_SCENARIOS)
def test_every_packet_encodes_to_the_size_the_model_gave_it(scenario):
    """What the pcap holds is what the simulation carried: TLS records, HTTP with its body,
    IPv6 packets in the IP-HTTPS stream, echo data, DNS with compressed names. A TCP segment
    of another length makes Wireshark report lost, unseen or retransmitted segments that
    never were."""
    from sim.report.capture import attach_capture
    from sim.report.pcap import encode
    from sim.scenario import load_scenario
    from sim.scenario.build import Simulation

    sim = Simulation(load_scenario(SCEN / f"{scenario}.yaml"))
    records = attach_capture(sim, None)
    sim.run()
    assert records
    for _t, _d, pkt in records:
        assert len(bytes(encode(pkt))) == pkt.size, (pkt, type(pkt.payload).__name__)


@needs_tshark
@pytest.mark.parametrize("scenario", CLEAN_SCENARIOS)
def test_wireshark_finds_nothing_wrong_with_a_clean_exchange(tmp_path, scenario):
    """No TCP analysis flags, no expert warnings (a Teredo echo without data was malformed),
    the encrypted Finished shown as such, and IP-HTTPS through a proxy's tunnel dissected as
    TLS."""
    out = tmp_path / f"{scenario}.pcap"
    res = CliRunner().invoke(cli, ["pcap", str(SCEN / f"{scenario}.yaml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert not tshark(out, "frame.number", flt="tcp.analysis.flags")
    assert not tshark(out, "_ws.expert.message",
                      flt="_ws.malformed || _ws.expert.severity >= warning")
    assert not tshark(out, "frame.number", flt="tls.handshake.type == 0")   # HelloRequest
    assert not tshark(out, "frame.number", flt="http.request.method == \"POST\"")
