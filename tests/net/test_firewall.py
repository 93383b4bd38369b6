"""The stateful firewall stage, one test per documented behaviour."""

from ipaddress import ip_address
from types import SimpleNamespace

import pytest

from sim.net.firewall import Firewall, Rule
from sim.net.kernel import Kernel
from sim.net.nat import Nat, NatConfig
from sim.net.packet import (
    ACK,
    ADMIN_PROHIBITED,
    ICMP,
    IPV6_IN_IPV4,
    RST,
    SYN,
    TCP,
    UDP,
    IcmpError,
    Packet,
    encapsulate_6in4,
    icmp_error,
)
from sim.net.topology import Topology

S1 = ip_address("131.107.0.1")
HOTEL = {"default": "deny", "allow": ["tcp/80", "tcp/443", "udp/53"]}


def edge(spec: dict, nat: bool = True, **fw_kw):
    """client — LAN — gateway (firewall, then NAT) — Internet — server. Without NAT the
    inside prefix is public and routed, so only the firewall stands between."""
    k = Kernel(seed=1, trace=True)
    topo = Topology(k)
    if nat:
        net = topo.add_network("hotel", "192.168.1.0/24", outside=["198.51.100.2"])
    else:
        net = topo.add_network("hotel", "203.0.113.0/24", outside=["198.51.100.2"],
                               routed=True)
    fw = Firewall.from_spec(k, "hotel-fw", {**spec, **fw_kw})
    net.gateway.add_stage(fw)
    if nat:
        net.gateway.add_stage(Nat(k, "hotel-nat", ["198.51.100.2"], NatConfig()))
    client = net.add_host("laptop")
    server = topo.add_public_host("server", [S1])
    at_server: list[Packet] = []
    at_client: list[Packet] = []
    server.handlers[TCP] = lambda p, _i: at_server.append(p)
    client.handlers[TCP] = lambda p, _i: at_client.append(p)
    return SimpleNamespace(k=k, fw=fw, client=client, server=server, net=net,
                           addr=client.interfaces[0].address, at_server=at_server,
                           at_client=at_client)


def drops(k: Kernel) -> list[str]:
    return [r.fields["reason"] for r in k.trace.of_kind("drop")]


def syn(src, sport: int, dst, dport: int) -> Packet:
    return Packet(src, dst, TCP, sport, dport, size=40, flags=SYN, seq=1000)


def test_udp_is_blocked_while_tcp_443_passes():
    e = edge(HOTEL)
    srv = e.server.udp_open(3544)
    got_udp = []
    srv.on_packet = got_udp.append
    e.client.udp_open(50000).sendto(S1, 3544)          # Teredo: blocked
    e.client.send(syn(e.addr, 50001, S1, 443))          # IP-HTTPS: passes
    e.k.run()
    assert got_udp == []
    assert [p.dport for p in e.at_server] == [443]
    assert drops(e.k) == ["firewall hotel-fw: outbound udp 192.168.1.10:50000 -> "
                          "131.107.0.1:3544 blocked by default deny"]


def test_replies_to_allowed_outbound_flows_pass():
    e = edge(HOTEL)
    dns = e.server.udp_open(53)
    dns.on_packet = lambda p: dns.sendto(p.src, p.sport, payload="answer")
    e.server.handlers[TCP] = lambda p, _i: e.server.send(
        Packet(p.dst, p.src, TCP, p.dport, p.sport, size=40, flags=SYN | ACK, ack=p.seq + 1))
    sock = e.client.udp_open(50000)
    got = []
    sock.on_packet = got.append
    sock.sendto(S1, 53)
    e.client.send(syn(e.addr, 50001, S1, 443))
    e.k.run()
    assert [p.payload for p in got] == ["answer"]
    assert [(p.flags, p.ack) for p in e.at_client] == [(SYN | ACK, 1001)]
    assert drops(e.k) == []


def test_unsolicited_inbound_is_dropped():
    e = edge(HOTEL, nat=False)
    e.server.send(syn(S1, 443, e.addr, 3389))
    sock = e.server.udp_open(53)
    sock.sendto(e.addr, 50000)
    e.k.run()
    assert e.at_client == []
    assert drops(e.k) == [
        "firewall hotel-fw: unsolicited inbound tcp 131.107.0.1:443 -> 203.0.113.10:3389 "
        "dropped (no outbound flow it answers)",
        "firewall hotel-fw: unsolicited inbound udp 131.107.0.1:53 -> 203.0.113.10:50000 "
        "dropped (no outbound flow it answers)"]


def test_a_reply_from_another_port_is_not_part_of_the_flow():
    e = edge(HOTEL, nat=False)
    client_sock = e.client.udp_open(50000)
    got = []
    client_sock.on_packet = got.append
    a, b = e.server.udp_open(53), e.server.udp_open(5353)
    a.on_packet = lambda p: (a.sendto(p.src, p.sport), b.sendto(p.src, p.sport))
    client_sock.sendto(S1, 53)
    e.k.run()
    assert [p.sport for p in got] == [53]


def test_flow_state_expires_after_its_idle_timeout():
    e = edge(HOTEL, nat=False, udp_timeout=30)
    sock = e.client.udp_open(50000)
    got = []
    sock.on_packet = got.append
    srv = e.server.udp_open(53)
    sock.sendto(S1, 53)

    def late():
        yield e.k.env.timeout(20)
        srv.sendto(e.addr, 50000)          # refreshes the state (replies count)
        yield e.k.env.timeout(40)
        srv.sendto(e.addr, 50000)          # 40 s idle > 30 s: dropped

    e.k.env.process(late())
    e.k.run()
    assert len(got) == 1 and "unsolicited inbound udp" in drops(e.k)[0]


def test_inbound_rule_admits_unsolicited_traffic():
    e = edge({"default": "deny", "allow": ["in tcp/3389"]}, nat=False)
    e.server.send(syn(S1, 443, e.addr, 3389))
    e.k.run()
    assert [p.dport for p in e.at_client] == [3389]


def udp_through(e, ports: tuple[int, ...]) -> list[int]:
    """Send one datagram from the inside to each of ``ports`` of S1: the ports reached."""
    got = []
    for port in ports:
        e.server.udp_open(port).on_packet = got.append
        e.client.udp_open().sendto(S1, port)
    e.k.run()
    return [p.dport for p in got]


def test_rules_are_ordered_and_the_first_match_decides():
    fw_rules = ["deny udp/53", "allow udp"]
    e = edge({"default": "deny", "rules": fw_rules}, nat=False)
    assert udp_through(e, (53, 123)) == [123]
    assert "blocked by rule 'deny udp/53'" in drops(e.k)[0]


def test_an_explicit_deny_wins_over_an_allow_list():
    e = edge({"default": "allow", "allow": ["udp"], "deny": ["udp/3544"]}, nat=False)
    got = []
    e.server.udp_open(3544).on_packet = got.append
    e.client.udp_open().sendto(S1, 3544)
    e.k.run()
    assert got == []


def test_drop_is_silent_for_a_tcp_syn():
    e = edge({"default": "deny"})
    e.client.send(syn(e.addr, 50001, S1, 443))
    e.k.run()
    assert e.at_client == [] and e.at_server == []


def test_reject_answers_a_tcp_syn_with_a_rst_to_the_inside_host():
    e = edge({"default": "deny", "reject": ["tcp"]})
    e.client.send(syn(e.addr, 50001, S1, 443))
    e.k.run()
    (rst,) = e.at_client
    assert (rst.src, rst.sport, rst.dst, rst.dport) == (S1, 443, e.addr, 50001)
    assert rst.flags == RST | ACK and rst.ack == 1001
    assert e.k.trace.of_kind("reject")[0].t == pytest.approx(0.001)
    assert e.at_server == []


def test_reject_answers_udp_with_icmp_administratively_prohibited():
    e = edge({"default": "reject"})
    errors = []
    e.client.icmp_listener = errors.append
    e.client.udp_open(50000).sendto(S1, 3544)
    e.k.run()
    (err,) = errors
    assert isinstance(err.payload, IcmpError) and err.payload.code == ADMIN_PROHIBITED
    assert (err.inner.sport, err.inner.dport) == (50000, 3544)
    # from the firewall's own address on the laptop's side (RFC 1812 §4.3.2.4), not the
    # server's: the server never saw the datagram
    assert err.src == ip_address("192.168.1.1") and err.src != S1
    assert err.dst == e.addr


def test_icmp_error_about_an_allowed_flow_passes_inbound():
    e = edge(HOTEL)
    errors = []
    e.client.icmp_listener = errors.append
    dns = e.server.udp_open(53)
    dns.on_packet = lambda p: e.server.send(icmp_error(S1, p))
    e.client.udp_open(50000).sendto(S1, 53)
    e.k.run()
    assert len(errors) == 1 and errors[0].inner.src == e.addr


def test_echo_replies_pass_when_icmp_is_allowed():
    e = edge({"default": "deny", "allow": ["icmp"]})
    rtt = []

    def proc():
        rtt.append((yield from e.client.ping(S1)))

    e.k.env.process(proc())
    e.k.run()
    assert rtt[0] is not None


def test_protocol_41_rule_decides_6in4():
    for spec, passes in (({"default": "deny", "allow": ["proto/41"]}, True),
                         ({"default": "allow", "deny": ["proto/41"]}, False)):
        e = edge(spec, nat=False)
        got = []
        e.server.handlers[IPV6_IN_IPV4] = lambda p, _i, got=got: got.append(p)
        inner = Packet(ip_address("2002:cb00:710a::1"), ip_address("2001:db8::1"), 58)
        e.client.send(encapsulate_6in4(e.addr, S1, inner))
        e.k.run()
        assert bool(got) is passes


@pytest.mark.parametrize(("text", "rule"), [
    ("tcp/443", Rule("allow", TCP, (443, 443), "out")),
    ("udp/53", Rule("allow", UDP, (53, 53), "out")),
    ("udp", Rule("allow", UDP, None, "out")),
    ("proto/41", Rule("allow", IPV6_IN_IPV4, None, "out")),
    ("icmp", Rule("allow", ICMP, None, "out")),
    ("tcp/8000-8100", Rule("allow", TCP, (8000, 8100), "out")),
    ("reject tcp", Rule("reject", TCP, None, "out")),
    ("deny in udp/3544", Rule("deny", UDP, (3544, 3544), "in")),
    ("any", Rule("allow", None, None, "out")),
])
def test_rules_parse_from_the_scenario_strings(text, rule):
    assert Rule.parse(text) == rule
    assert Rule.parse(str(rule)) == rule


@pytest.mark.parametrize("text", ["tcp/", "icmp/5", "tcp/70000", "smtp/25", "proto/x",
                                  "allow", "tcp/443 udp/53", "tcp/90-80"])
def test_bad_rules_are_rejected_with_a_message(text):
    with pytest.raises(ValueError, match="firewall rule"):
        Rule.parse(text)


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="default"):
        Firewall(Kernel(), "fw", default="maybe")
    with pytest.raises(ValueError, match="unknown firewall setting"):
        Firewall.from_spec(Kernel(), "fw", {"default": "deny", "alow": ["tcp/443"]})


def test_hairpinned_packets_are_not_taken_for_unsolicited_inbound():
    """With hairpinning the gateway runs a packet back in through its stages; the firewall
    already checked it on the way out, so its external source does not make it unsolicited."""
    k = Kernel(seed=1, trace=True)
    topo = Topology(k)
    net = topo.add_network("home", "192.168.1.0/24", outside=["198.51.100.2"])
    net.gateway.add_stage(Firewall(k, "fw", default="allow"))
    net.gateway.add_stage(Nat(k, "nat", ["198.51.100.2"],
                              NatConfig(filtering="EIF", hairpinning=True)))
    topo.add_public_host("server", [S1])
    a, b = net.add_host("a"), net.add_host("b")
    got = []
    sb = b.udp_open(41000)
    sb.on_packet = got.append
    sb.sendto(S1, 3478)
    a.udp_open(40000).sendto(ip_address("198.51.100.2"), 41000)
    k.run()
    assert [(p.src, p.sport) for p in got] == [(ip_address("198.51.100.2"), 40000)]


def test_an_ordered_rule_list_lets_dns_through_and_rejects_the_rest_of_udp():
    """A scenario's ``rules`` (first match wins), as the scenario layer validates them."""
    from sim.scenario import parse_scenario

    doc = (
        "name: fw\nduration: 60\n"
        "pki: {authorities: {root: {}}, certificates: {iphttps: {issuer: root, "
        "subject: da.contoso.com}}}\n"
        "networks: {hotel: {nat: {preset: symmetric}, firewall: {rules: [allow udp/53, "
        "reject udp]}}, corp: {corporate: true}}\n"
        "clients: [{name: laptop, network: hotel}]\n")
    spec = parse_scenario(doc).networks["hotel"].firewall.model_dump(exclude_defaults=True)
    e = edge(spec, nat=False)
    assert udp_through(e, (53, 3544)) == [53]
    assert "rule 'reject udp'" in drops(e.k)[0]


def test_a_reply_after_the_flows_state_expired_is_dropped_naming_the_expiry():
    """explain tells a firewall's state expiry from unsolicited traffic (issue 19, Why 4)."""
    e = edge({"default": "allow"}, nat=False, udp_timeout=5.0)
    got = []
    e.server.udp_open(3544)
    sock = e.client.udp_open(50001)
    sock.on_packet = got.append
    sock.sendto(S1, 3544)

    def late_reply():
        yield e.k.env.timeout(8.0)
        e.server.send(Packet(S1, e.addr, UDP, 3544, 50001, size=60))

    e.k.env.process(late_reply())
    e.k.run()
    assert got == []
    (reason,) = drops(e.k)
    assert reason == ("firewall hotel-fw: unsolicited inbound udp 131.107.0.1:3544 -> "
                      "203.0.113.10:50001 dropped (its flow's state expired at t=5.0 s, "
                      "after 5 s idle)")
