"""``dasim trace``: one probe, device by device, read from the packets that crossed them —
the firewall that passed or dropped it, each NAT's translation, the answer's way back."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCEN = Path(__file__).resolve().parents[2] / "scenarios"
KB = str(SCEN / "kb2980667-untrusted-root.yaml")


def trace(scenario, *args):
    return subprocess.run([sys.executable, "-m", "sim.cli", "trace", scenario, "--client",
                           "laptop", *args], capture_output=True, text=True, check=False)


def rows(text, section):
    """The (device, verdict) rows of the probe or the answer."""
    block = text.split(f"{section}: ", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    return [(line.split()[1], re.split(r"\s{2,}", line.strip())[-1]) for line in block]


def test_tcp_443_through_the_hotel_is_passed_translated_and_answered():
    out = trace(KB, "--at", "30", "--to", "da.contoso.com")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("trace laptop → da.contoso.com (131.107.0.1), tcp/443 at 30 s")
    probe = rows(out.stdout, "probe")
    assert [d for d, _v in probe] == ["laptop", "hotel-gw", "internet", "da-server"]
    verdict = dict(probe)["hotel-gw"]
    assert re.fullmatch(r"passed hotel-firewall; hotel-nat translated the source "
                        r"10\.\d+\.\d+\.\d+:33434 to 198\.51\.100\.\d+:\d+", verdict), verdict
    assert dict(probe)["da-server"] == "received"
    answer = rows(out.stdout, "answer")
    assert out.stdout.split("answer: ", 1)[1].startswith("TCP SA")
    assert [d for d, _v in answer] == ["da-server", "internet", "hotel-gw", "laptop"]
    # on the way in, the NAT before the firewall, and the destination translated back
    assert re.fullmatch(r"hotel-nat translated the destination 198\.51\.100\.\d+:\d+ to "
                        r"10\.\d+\.\d+\.\d+:33434; passed hotel-firewall", dict(answer)["hotel-gw"])
    assert "result: reached da-server after 21.0 ms; the answer (TCP SA) came back" in out.stdout


def test_teredo_through_the_hotel_is_dropped_by_its_firewall():
    out = trace(KB, "--at", "30", "--to", "da-server", "--probe", "udp/3544")
    assert out.returncode == 0, out.stderr
    assert rows(out.stdout, "probe")[-1] == (
        "hotel-gw", "dropped by hotel-firewall: firewall hotel-firewall: outbound udp "
        "10.1.0.10:33434 -> 131.107.0.1:3544 blocked by default deny")
    assert "answer:" not in out.stdout
    assert out.stdout.rstrip().endswith("no answer")
    assert "result: dropped at hotel-gw by hotel-firewall after 1.0 ms" in out.stdout


def test_behind_nat444_both_nats_translate_the_probe_and_its_answer():
    out = trace(str(SCEN / "cgn-shared-100-64.yaml"), "--at", "1m", "--to", "131.107.0.2",
                "--probe", "icmp")
    assert out.returncode == 0, out.stderr
    probe = dict(rows(out.stdout, "probe"))
    assert re.fullmatch(r"home-nat translated the source 10\.\S+ to 100\.64\.\S+",
                        probe["home-gw"])
    assert re.fullmatch(r"carrier-nat translated the source 100\.64\.\S+ to 198\.51\.100\.\S+",
                        probe["carrier-gw"])
    answer = rows(out.stdout, "answer")
    assert [d for d, _v in answer] == ["da-server", "internet", "carrier-gw", "home-gw",
                                       "laptop"]
    assert answer[-1][1] == "received"


def test_the_same_trace_twice_is_the_same_text():
    first = trace(KB, "--at", "2m", "--to", "da-server")
    assert first.returncode == 0 and first.stdout == trace(KB, "--at", "2m", "--to",
                                                           "da-server").stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--at", "3h", "--to", "da-server"], "--at 10800 s: the run lasts 1200 s"),
    (["--at", "soon", "--to", "da-server"], "--at: "),
    (["--at", "3", "--to", "nowhere.example"], "--to nowhere.example: not an address"),
    (["--at", "3", "--to", "da-server", "--probe", "sctp/1"], "--probe sctp/1: expected"),
    (["--at", "3", "--to", "da-server", "--probe", "tcp/70000"], "--probe tcp/70000"),
])
def test_bad_trace_input_is_refused_with_a_clear_message(args, message):
    out = trace(KB, *args)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert message in out.stderr and not out.stdout


def test_a_server_published_by_port_forwarding_is_traced_through_the_forward():
    out = trace(str(SCEN / "server-behind-nat.yaml"), "--at", "30", "--to", "da.contoso.com")
    assert out.returncode == 0, out.stderr
    probe = dict(rows(out.stdout, "probe"))
    assert probe["da-edge-gw"] == ("da-edge-gw-forward translated the destination "
                                   "131.107.0.1:443 to 10.254.0.10:443")
    answer = dict(rows(out.stdout, "answer"))
    assert answer["da-edge-gw"] == ("da-edge-gw-forward translated the source "
                                    "10.254.0.10:443 to 131.107.0.1:443")
    assert "the answer (TCP SA) came back" in out.stdout
