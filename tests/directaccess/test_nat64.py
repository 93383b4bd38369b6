"""DNS64 and NAT64 on the DirectAccess server (C1-C3): an AAAA answer is synthesised from an A
record in the NAT64 prefix (a real AAAA is returned as is), the NAT64 translates the laptop's
packets to the IPv4-only host and its answers back, and the same host opened by its IPv4
address is not reached, because DirectAccess carries IPv6 only."""

import json
import subprocess
import sys
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from pathlib import Path

import pytest

from sim.directaccess.dns64 import BINDING_LIFETIME, Dns64Server, Nat64, embedded, synthesize
from sim.net.dns import NOERROR, NXDOMAIN, QTYPES, DnsMessage
from sim.net.host import EchoMessage
from sim.net.packet import ICMP, ICMPV6, SYN, TCP, Packet

from .cli import dasim

CASE = str(Path(__file__).resolve().parents[2] / "scenarios" / "nat64-ipv4-only-server.yaml")
LAB = IPv6Network("fdc9:9f4e:eb1b:7777::/96")




def test_the_ipv4_address_fills_the_last_32_bits_of_a_96_prefix():
    # RFC 6052 §2.4's example, and the test lab's APP2 (C2)
    assert synthesize(IPv6Network("64:ff9b::/96"), IPv4Address("192.0.2.33")) == \
        IPv6Address("64:ff9b::c000:221")
    assert synthesize(LAB, IPv4Address("10.0.0.4")) == IPv6Address("fdc9:9f4e:eb1b:7777::a00:4")
    assert embedded(LAB, IPv6Address("fdc9:9f4e:eb1b:7777::a00:4")) == IPv4Address("10.0.0.4")
    assert embedded(LAB, IPv6Address("2001:db8:1::10")) is None


class _Host:
    def udp_open(self, *_a, **_k):
        return None


@pytest.mark.parametrize(("synthesis", "name", "qtype", "rcode", "answers"), [
    (True, "app2.corp.contoso.com", "AAAA", NOERROR, ["fdc9:9f4e:eb1b:7777::a00:4"]),
    (True, "dc1.corp.contoso.com", "AAAA", NOERROR, ["2001:db8:1::10"]),   # real AAAA as is
    (True, "app2.corp.contoso.com", "A", NOERROR, ["10.0.0.4"]),
    (True, "nowhere.corp.contoso.com", "AAAA", NXDOMAIN, []),
    (False, "app2.corp.contoso.com", "AAAA", NOERROR, []),                 # server.dns64 off
])
def test_the_dns64_synthesises_aaaa_only_for_a_name_without_one(synthesis, name, qtype,
                                                                rcode, answers):
    dns64 = Dns64Server(_Host(), {"app2.corp.contoso.com": ["10.0.0.4"],
                                  "dc1.corp.contoso.com": ["2001:db8:1::10", "10.0.0.1"]},
                        LAB, synthesis=synthesis)
    reply = dns64.answer(DnsMessage(7, name, QTYPES[qtype]))
    assert reply.response and reply.id == 7 and reply.rcode == rcode
    assert [str(a.address) for a in reply.answers] == answers
    assert reply.size == 12 + len(name) + 2 + 4 + (12 + (16 if qtype == "AAAA" else 4)) * \
        len(answers)


def test_the_nat64_translates_both_ways_through_a_binding_that_expires_when_idle():
    now = [0.0]
    nat = Nat64(LAB, IPv4Address("10.0.0.2"), lambda: now[0])
    laptop = IPv6Address("2001:db8:1:1000::5")
    syn = Packet(laptop, IPv6Address("fdc9:9f4e:eb1b:7777::a00:4"), TCP, 50000, 80, 60,
                 flags=SYN, seq=0)
    out = nat.outbound(syn)
    assert (out.src, out.dst, out.dport, out.size) == (
        IPv4Address("10.0.0.2"), IPv4Address("10.0.0.4"), 80, 40)
    answer = Packet(out.dst, out.src, TCP, 80, out.sport, 40, flags=0x12, seq=0, ack=1)
    back = nat.inbound(answer)
    assert (back.src, back.dst, back.sport, back.dport, back.size) == (
        syn.dst, laptop, 80, 50000, 60)
    # ping: the identifier is the translator's own, and the reply gets the laptop's back
    echo = Packet(laptop, syn.dst, ICMPV6, size=80, payload=EchoMessage("echo-request", 9, 1))
    v4 = nat.outbound(echo)
    assert v4.proto == ICMP and v4.payload.ident != 9 and v4.size == 60
    reply = nat.inbound(Packet(v4.dst, v4.src, ICMP, size=60,
                               payload=EchoMessage("echo-reply", v4.payload.ident, 1)))
    assert reply.proto == ICMPV6 and reply.payload.ident == 9 and reply.dst == laptop
    now[0] = BINDING_LIFETIME[ICMP] + 1   # idle past ICMP's 60 s (RFC 6146 §4)
    assert nat.inbound(Packet(v4.dst, v4.src, ICMP, size=60,
                              payload=EchoMessage("echo-reply", v4.payload.ident, 2))) is None
    assert nat.inbound(answer) is not None   # TCP's binding lives 2 h 4 min


def _laptop(*extra):
    return json.loads(dasim("run", CASE, "--json", *extra))["clients"][0]


def test_an_ipv4_only_server_is_reached_by_name_through_nat64_and_not_by_its_address():
    laptop = _laptop()
    assert laptop["method"] == "iphttps" and laptop["directaccess"]["status"] == \
        "ConnectedRemotely"
    by_name, by_address = laptop["directaccess"]["opens"]
    assert by_name["ok"] and by_name["address"] == "fdc9:9f4e:eb1b:7777::a00:4"
    assert "NAT64" in by_name["why"] and "10.0.0.4" in by_name["why"]
    assert not by_address["ok"] and by_address["error"] == "0x274c"
    # the SYN went by the laptop's IPv4 route and its retransmissions gave up (21 s, C3)
    assert "went by the route via hotel0" in by_address["why"]
    assert laptop["resources"] == {"dc1": True, "legacy-app": True}
    story = dasim("explain", CASE, "--client", "laptop")
    assert "opens http://legacy-app.corp.contoso.com/ (t=0.7 s): answered at " \
        "fdc9:9f4e:eb1b:7777::a00:4" in story
    assert "failed, 0x274c WSAETIMEDOUT at 10.0.0.4" in story
    assert "remedy: use a name, not an IPv4 address" in story
    # the wizard's rules (server.nrpt: wizard): the intranet's domain and the NLS exemption
    policy = dasim("netsh", CASE, "--client", "laptop", "--at", "1m", "namespace", "show",
                   "effectivepolicy")
    blocks = policy.split("Settings for ")[1:]
    assert [b.split()[0] for b in blocks] == [".corp.contoso.com", "nls.corp.contoso.com"]
    assert "2001:db8:1:3333::1" in blocks[0] and "2001:db8:1:3333::1" not in blocks[1]


def test_without_synthesis_the_name_gives_only_ipv4_and_without_the_nrpt_no_answer():
    # the NRPT asks the DNS64 for IPv6 addresses only (N8): no synthesis, no address
    off = _laptop("--set", "server.dns64=false")["directaccess"]["opens"][0]
    assert not off["ok"] and off["address"] is None and off["error"] == "0x2afc"
    story = dasim("explain", CASE, "--client", "laptop", "--set", "server.dns64=false")
    assert "turn on the server's DNS64/NAT64 (server.dns64)" in story
    none = _laptop("--set", "server.nrpt=null")
    assert none["resources"]["legacy-app"] is False
    assert none["directaccess"]["opens"][0]["error"] == "0x2af9"   # the hotel's DNS: NXDOMAIN


def test_an_opens_entry_that_is_no_url_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(CASE).read_text().replace('"http://10.0.0.4/"', '"ftp://10.0.0.4/"'))
    res = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(bad)],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "clients.0.opens" in res.stderr and "expected a URL" in res.stderr
    bad.write_text(Path(CASE).read_text().replace('"fdc9:9f4e:eb1b:7777::/96"',
                                                  '"fdc9:9f4e:eb1b:7777::/64"'))
    res = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(bad)],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 2 and "must be a /96" in res.stderr


def test_over_teredo_a_host_that_drops_icmp_is_not_reached_though_ipsec_is_up(tmp_path):
    """C4: Teredo sends an ICMPv6 echo to a destination before it uses it; over IP-HTTPS the
    same host answers."""
    text = Path(CASE).read_text().replace(
        "    legacy-app: {ipv4: 10.0.0.4, services: [http, icmp]}   # IPv4 only\n",
        "    legacy-app: {ipv4: 10.0.0.4, services: [http, icmp]}\n"
        "    no-ping: {ipv6: \"2001:db8:1::60\", services: [http]}\n").replace(
        "  corp:\n", "  home:\n    nat: {preset: port-restricted-cone}\n  corp:\n")
    text += "  - {name: home, network: home, roots: [contoso-root]}\n"
    case = tmp_path / "c4.yaml"
    case.write_text(text)
    data = {c["name"]: c for c in json.loads(dasim("run", str(case), "--json"))["clients"]}
    hotel, home = data["laptop"], data["home"]
    assert hotel["method"] == "iphttps" and hotel["resources"]["no-ping"] is True
    assert home["method"] == "teredo" and home["directaccess"]["status"] == "ConnectedRemotely"
    assert home["resources"] == {"dc1": True, "legacy-app": True, "no-ping": False}
    story = dasim("explain", str(case), "--client", "home")
    assert "2001:db8:1::60 does not answer ICMPv6 echo, which Teredo needs" in story


def test_a_single_label_name_gets_the_intranets_suffix_first():
    """B2: ``legacy-app`` is looked up as legacy-app.corp.contoso.com, under the NRPT's rule."""
    laptop = _laptop("--set", 'clients.0.opens=["http://legacy-app/"]')
    opened = laptop["directaccess"]["opens"][0]
    assert opened["ok"] and opened["address"] == "fdc9:9f4e:eb1b:7777::a00:4"
