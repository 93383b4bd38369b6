"""The NAT stage, one test per documented behaviour (RFC 4787, RFC 5382, RFC 5508, fact sheet
§2.2, §3.3, N3). Every test drives simulated time."""

from ipaddress import IPv6Address, ip_address
from types import SimpleNamespace

import pytest

from sim.net.host import EchoMessage
from sim.net.kernel import Kernel
from sim.net.nat import (
    ADF,
    ADM,
    APDF,
    APDM,
    EIF,
    EIM,
    PRESETS,
    Behaviour,
    Nat,
    NatConfig,
    nat_config,
)
from sim.net.packet import (
    ACK,
    FIN,
    ICMP,
    ICMPV6,
    IPV6_IN_IPV4,
    SYN,
    TCP,
    UDP,
    IcmpError,
    Packet,
    encapsulate_6in4,
    icmp_error,
    udp,
)
from sim.net.topology import Topology

S1, S2 = ip_address("131.107.0.1"), ip_address("131.107.0.2")
EXT = ip_address("198.51.100.2")


def home(cfg: NatConfig | None = None, hosts: int = 1, pool: list[str] | None = None,
         seed: int = 1):
    """hosts — LAN — home gateway (NAT) — Internet — server on two addresses."""
    k = Kernel(seed=seed, trace=True)
    topo = Topology(k)
    net = topo.add_network("home", "192.168.1.0/24", outside=["198.51.100.2"])
    nat = Nat(k, "home-nat", pool or ["198.51.100.2"], cfg or NatConfig())
    if pool:
        uplink = next(i for i in topo.internet.interfaces if i.name == "to-home")
        topo.internet.connect(uplink, [f"{a}/32" for a in pool])
    net.gateway.add_stage(nat)
    clients = [net.add_host(f"c{i}") for i in range(hosts)]
    server = topo.add_public_host("server", [S1, S2])
    seen: list[Packet] = []
    socks = {}
    for port in (3478, 3479):
        sock = server.udp_open(port)
        sock.on_packet = seen.append
        socks[port] = sock
    return SimpleNamespace(k=k, topo=topo, net=net, nat=nat, clients=clients,
                           client=clients[0], server=server, seen=seen, socks=socks)


def drops(k: Kernel) -> list[str]:
    return [r.fields["reason"] for r in k.trace.of_kind("drop")]


def send_at(k: Kernel, t: float, fn) -> None:
    def proc():
        yield k.env.timeout(t - k.now)
        fn()
    k.env.process(proc())


# --- mapping (RFC 4787 §4.1) --------------------------------------------------------------


def mapped_ports(mapping: Behaviour) -> list[int]:
    h = home(NatConfig(mapping=mapping, filtering=EIF, port_allocation="sequential"))
    sock = h.client.udp_open(40000)
    for dst, port in ((S1, 3478), (S1, 3479), (S2, 3478)):
        sock.sendto(dst, port)
    h.k.run()
    assert {p.src for p in h.seen} == {EXT}
    return [p.sport for p in h.seen]


def test_endpoint_independent_mapping_reuses_one_external_port_for_every_destination():
    a, b, c = mapped_ports(EIM)
    assert a == b == c


def test_address_dependent_mapping_gives_a_new_port_per_destination_address():
    a, b, c = mapped_ports(ADM)
    assert a == b != c


def test_address_and_port_dependent_mapping_gives_a_new_port_per_destination_endpoint():
    a, b, c = mapped_ports(APDM)
    assert len({a, b, c}) == 3


# --- filtering (RFC 4787 §5) --------------------------------------------------------------


def filtering_outcome(filtering: Behaviour) -> tuple[list[tuple], list[str]]:
    """The client talks to S1:3478; then S1:3478, S1:3479 and S2:3478 each send to its
    mapping. Which of them get in?"""
    h = home(NatConfig(mapping=EIM, filtering=filtering))
    sock = h.client.udp_open(40000)
    got = []
    sock.on_packet = lambda p: got.append((p.src, p.sport))
    sock.sendto(S1, 3478)
    h.k.run(until=1)
    ext_port = h.seen[0].sport
    h.socks[3478].sendto(EXT, ext_port, src=S1)
    h.socks[3479].sendto(EXT, ext_port, src=S1)
    h.socks[3478].sendto(EXT, ext_port, src=S2)
    h.k.run(until=2)
    return got, drops(h.k)


def test_endpoint_independent_filtering_lets_any_remote_in():
    got, _ = filtering_outcome(EIF)
    assert got == [(S1, 3478), (S1, 3479), (S2, 3478)]


def test_address_dependent_filtering_lets_in_any_port_of_a_contacted_address():
    got, why = filtering_outcome(ADF)
    assert got == [(S1, 3478), (S1, 3479)]
    assert why == ["filtered: remote 131.107.0.2 not contacted from this mapping "
                   "(address-dependent filtering)"]


def test_address_and_port_dependent_filtering_lets_in_only_contacted_endpoints():
    got, why = filtering_outcome(APDF)
    assert got == [(S1, 3478)]
    assert why == [
        "filtered: remote 131.107.0.1:3479 not contacted from this mapping "
        "(address-and-port-dependent filtering)",
        "filtered: remote 131.107.0.2:3478 not contacted from this mapping "
        "(address-and-port-dependent filtering)"]


def test_inbound_packet_without_mapping_is_dropped():
    h = home()
    h.socks[3478].sendto(EXT, 5555, src=S1)
    h.k.run()
    assert drops(h.k) == ["no mapping for inbound packet to 198.51.100.2:5555"]


def test_translation_is_traced_with_before_and_after():
    h = home()
    h.client.udp_open(40000).sendto(S1, 3478)
    h.k.run()
    rec = h.k.trace.of_kind("translate")[0]
    assert rec.fields["direction"] == "out"
    assert (rec.fields["before"].src, rec.fields["after"].src) == (
        h.client.interfaces[0].address, EXT)
    created = h.k.trace.of_kind("binding-created")[0].fields
    assert created["inside"] == "192.168.1.10:40000" and created["remote"] == "131.107.0.1:3478"


def test_ipv6_passes_the_nat44_untouched():
    h = home()
    nat = h.nat
    pkt = Packet(IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2"), UDP, 1, 2)
    assert nat.outbound(pkt) is pkt
    assert nat.inbound(pkt) is pkt


# --- binding lifetimes (RFC 4787 REQ-5/REQ-6, RFC 5382 REQ-5) ------------------------------


def test_idle_udp_binding_expires_and_a_late_reply_is_dropped():
    h = home(NatConfig(udp_timeout=120))
    sock = h.client.udp_open(40000)
    got = []
    sock.on_packet = got.append
    sock.sendto(S1, 3478)
    send_at(h.k, 100, lambda: h.socks[3478].sendto(EXT, 40000, src=S1))   # in time
    send_at(h.k, 130, lambda: h.socks[3478].sendto(EXT, 40000, src=S1))   # after expiry
    h.k.run()
    assert len(got) == 1
    assert drops(h.k) == ["no mapping for inbound packet to 198.51.100.2:40000"]
    expired = h.k.trace.of_kind("binding-expired")
    assert len(expired) == 1 and expired[0].t == pytest.approx(120 + 0.011, abs=0.01)


def test_inbound_traffic_does_not_refresh_the_binding_by_default():
    h = home(NatConfig(udp_timeout=120))
    h.client.udp_open(40000).sendto(S1, 3478)
    for t in (60, 110):
        send_at(h.k, t, lambda: h.socks[3478].sendto(EXT, 40000, src=S1))
    h.k.run()
    assert h.k.trace.of_kind("binding-expired")[0].t == pytest.approx(120, abs=0.1)


def test_inbound_refresh_is_an_option():
    h = home(NatConfig(udp_timeout=120, inbound_refresh=True))
    h.client.udp_open(40000).sendto(S1, 3478)
    for t in (60, 110):
        send_at(h.k, t, lambda: h.socks[3478].sendto(EXT, 40000, src=S1))
    h.k.run()
    assert h.k.trace.of_kind("binding-expired")[0].t == pytest.approx(230, abs=0.1)


def test_new_outbound_after_expiry_gets_a_new_mapping_and_port():
    h = home(NatConfig(port_allocation="sequential", udp_timeout=120))
    sock = h.client.udp_open(40000)
    sock.sendto(S1, 3478)
    send_at(h.k, 200, lambda: sock.sendto(S1, 3478))
    h.k.run()
    first, second = h.seen
    assert first.sport != second.sport
    assert h.nat.counters["bindings_created"] == 2 and h.nat.counters["bindings_expired"] == 2


def test_keepalive_shorter_than_the_timeout_keeps_the_binding():
    h = home(NatConfig(port_allocation="sequential", udp_timeout=120))
    sock = h.client.udp_open(40000)
    got = []
    sock.on_packet = got.append

    def keepalive():
        for _ in range(10):          # every 30 s (the Teredo refresh interval) for 300 s
            sock.sendto(S1, 3478)
            yield h.k.env.timeout(30)

    h.k.env.process(keepalive())
    send_at(h.k, 299, lambda: h.socks[3478].sendto(EXT, h.seen[0].sport, src=S1))
    h.k.run()
    assert len({p.sport for p in h.seen}) == 1
    assert len(got) == 1
    assert h.nat.counters["bindings_created"] == 1
    # expiry is one timer per binding re-armed on firing, not one event per refresh
    assert h.k.trace.of_kind("binding-expired")[0].t == pytest.approx(270 + 120, abs=0.1)


def test_tcp_binding_uses_transitory_timeout_until_established_then_7440s():
    k = Kernel(trace=True)
    nat = Nat(k, "n", ["198.51.100.2"])
    inside = ip_address("192.168.1.10")
    syn = Packet(inside, S1, TCP, 50000, 443, flags=SYN)
    nat.outbound(syn)
    b = nat.bindings()[0]
    assert b.timeout == 240.0                      # RFC 5382 REQ-5 transitory
    synack = Packet(S1, EXT, TCP, 443, 50000, flags=SYN | ACK)
    assert nat.inbound(synack).dst == inside
    nat.outbound(Packet(inside, S1, TCP, 50000, 443, flags=ACK))
    assert b.timeout == 7440.0 and b.expires == 7440.0   # RFC 5382 REQ-5 established
    nat.outbound(Packet(inside, S1, TCP, 50000, 443, flags=FIN | ACK))
    assert b.timeout == 240.0
    k.run()
    assert k.trace.of_kind("binding-expired")[0].t == 240.0


def test_inbound_fin_shortens_an_established_binding():
    k = Kernel(trace=True)
    nat = Nat(k, "n", ["198.51.100.2"])
    inside = ip_address("192.168.1.10")
    nat.outbound(Packet(inside, S1, TCP, 50000, 443, flags=ACK))
    assert nat.bindings()[0].timeout == 7440.0
    send_at(k, 10, lambda: nat.inbound(Packet(S1, EXT, TCP, 443, 50000, flags=FIN | ACK)))
    k.run()
    assert k.trace.of_kind("binding-expired")[0].t == 250.0


def test_icmp_query_binding_lives_60s():
    k = Kernel(trace=True)
    nat = Nat(k, "n", ["198.51.100.2"])
    req = Packet(ip_address("192.168.1.10"), S1, ICMP, payload=EchoMessage("echo-request", 7))
    nat.outbound(req)
    k.run()
    assert k.trace.of_kind("binding-expired")[0].t == 60.0


def test_nat_reboot_forgets_every_binding():
    h = home()
    sock = h.client.udp_open(40000)
    got = []
    sock.on_packet = got.append
    sock.sendto(S1, 3478)
    send_at(h.k, 5, h.nat.nat_reboot)
    send_at(h.k, 6, lambda: h.socks[3478].sendto(EXT, 40000, src=S1))
    h.k.run()
    assert got == [] and h.nat.bindings() == []
    assert drops(h.k) == ["no mapping for inbound packet to 198.51.100.2:40000"]
    assert h.nat.counters["reboots"] == 1 and h.nat.counters["bindings_expired"] == 0


# --- port allocation and pooling (RFC 4787 §4.1-4.2) --------------------------------------


def test_port_preservation_keeps_the_inside_port_and_falls_back_when_taken():
    h = home(NatConfig(port_allocation="preservation", port_range=(20000, 20100)), hosts=2)
    for c in h.clients:
        c.udp_open(40000).sendto(S1, 3478)
    h.k.run()
    assert [p.sport for p in h.seen] == [40000, 20000]


def test_sequential_allocation_hands_out_consecutive_ports():
    h = home(NatConfig(port_allocation="sequential", port_range=(20000, 20100)), hosts=3)
    for c in h.clients:
        c.udp_open(40000).sendto(S1, 3478)
    h.k.run()
    assert [p.sport for p in h.seen] == [20000, 20001, 20002]


def test_random_allocation_draws_from_the_nat_stream_deterministically():
    def ports(seed):
        h = home(NatConfig(port_allocation="random"), hosts=3, seed=seed)
        for c in h.clients:
            c.udp_open(40000).sendto(S1, 3478)
        h.k.run()
        return [p.sport for p in h.seen]

    a = ports(1)
    assert a == ports(1) and a != ports(2)
    assert all(1024 <= p <= 65535 for p in a) and a != sorted(a)


def test_paired_pooling_keeps_one_external_address_per_inside_host():
    pool = ["198.51.100.20", "198.51.100.21"]
    h = home(NatConfig(pooling="paired"), hosts=2, pool=pool)
    for c in h.clients:
        sock = c.udp_open(40000)
        for port in (3478, 3479):
            sock.sendto(S1, port)
        c.udp_open(40001).sendto(S2, 3478)
    h.k.run(until=5)
    by_host = {}
    for b in h.nat.bindings():
        by_host.setdefault(b.in_addr, set()).add(b.ext_addr)
    assert sorted(len(v) for v in by_host.values()) == [1, 1]
    assert {next(iter(v)) for v in by_host.values()} == {ip_address(a) for a in pool}


def test_arbitrary_pooling_may_spread_one_host_over_the_pool():
    pool = ["198.51.100.20", "198.51.100.21"]
    h = home(NatConfig(pooling="arbitrary"), pool=pool)
    h.client.udp_open(40000).sendto(S1, 3478)
    h.client.udp_open(40001).sendto(S1, 3478)
    h.k.run()
    assert {p.src for p in h.seen} == {ip_address(a) for a in pool}


def test_exhausted_port_range_drops_with_the_reason():
    h = home(NatConfig(port_allocation="sequential", port_range=(20000, 20001)), hosts=3)
    for c in h.clients:
        c.udp_open(40000).sendto(S1, 3478)
    h.k.run()
    assert len(h.seen) == 2
    assert "port pool exhausted" in drops(h.k)[0]


# --- hairpinning (RFC 4787 §6, REQ-9) ---------------------------------------------------


def hairpin(on: bool):
    h = home(NatConfig(mapping=EIM, filtering=EIF, hairpinning=on), hosts=2)
    a, b = h.clients
    sa, sb = a.udp_open(40000), b.udp_open(41000)
    got = []
    sb.on_packet = got.append
    sb.sendto(S1, 3478)                     # b gets a mapping EXT:41000
    send_at(h.k, 1, lambda: sa.sendto(EXT, 41000))
    h.k.run()
    return h, got


def test_hairpinning_off_drops_packets_to_our_own_external_address():
    h, got = hairpin(False)
    assert got == [] and "hairpinning not supported" in drops(h.k)


def test_hairpinning_on_delivers_with_the_senders_external_source():
    _h, got = hairpin(True)
    assert [(p.src, p.sport) for p in got] == [(EXT, 40000)]


# --- ICMP (RFC 5508) ----------------------------------------------------------------------


def test_ping_crosses_the_nat_with_identifier_mapping():
    h = home(NatConfig(port_allocation="sequential"), hosts=2)
    rtts = []

    def pinger(c):
        rtts.append((yield from c.ping(S1)))

    for c in h.clients:
        h.k.env.process(pinger(c))           # both use echo identifier 1
    h.k.run(until=10)
    assert all(r is not None for r in rtts) and len(rtts) == 2
    idents = sorted(b.ext_port for b in h.nat.bindings() if b.proto == ICMP)
    assert len(set(idents)) == 2


def test_inbound_icmp_error_is_translated_back_to_the_inside_host():
    h = home()
    sock = h.client.udp_open(40000)
    errors = []
    h.client.icmp_listener = errors.append
    h.socks[3478].on_packet = lambda p: h.server.send(icmp_error(S1, p))
    sock.sendto(S1, 3478)
    h.k.run()
    (err,) = errors
    assert isinstance(err.payload, IcmpError)
    assert err.dst == h.client.interfaces[0].address
    assert (err.inner.src, err.inner.sport) == (h.client.interfaces[0].address, 40000)


# --- protocol 41 ------------------------------------------------------------------------


def six_in_four(src4, dst4) -> Packet:
    inner = Packet(IPv6Address("2002:c0a8:10a::1"), IPv6Address("2001:db8::1"), ICMPV6,
                   size=48)
    return encapsulate_6in4(src4, dst4, inner)


def proto41_run(cfg: NatConfig, hosts: int = 1):
    h = home(cfg, hosts=hosts)
    got_server, got_client = [], []
    h.server.handlers[IPV6_IN_IPV4] = lambda p, _i: (
        got_server.append(p), h.server.send(encapsulate_6in4(p.dst, p.src, p.inner)))
    for c in h.clients:
        c.handlers[IPV6_IN_IPV4] = lambda p, _i, c=c: got_client.append((c.name, p))
        c.send(six_in_four(c.interfaces[0].address, S1))
    h.k.run()
    return h, got_server, got_client


def test_protocol_41_is_dropped_by_a_default_nat():
    h, srv, cli = proto41_run(NatConfig())
    assert srv == [] and cli == []
    assert drops(h.k) == ["protocol 41 (6in4) has no ports to translate: dropped "
                          "(proto41_passthrough is off)"]


def test_protocol_41_passthrough_translates_the_address_for_one_inside_host():
    h, srv, cli = proto41_run(NatConfig(proto41_passthrough=True), hosts=2)
    assert [p.src for p in srv] == [EXT]
    assert [name for name, _p in cli] == ["c0"]
    assert cli[0][1].dst == h.clients[0].interfaces[0].address
    assert "protocol 41 passthrough is held by 192.168.1.10" in drops(h.k)[0]


def test_protocol_41_passthrough_for_a_configured_host_accepts_unsolicited_6in4():
    h = home(NatConfig(proto41_passthrough=True, proto41_host="192.168.1.10"))
    got = []
    h.client.handlers[IPV6_IN_IPV4] = lambda p, _i: got.append(p)
    h.server.send(six_in_four(S1, EXT))
    h.k.run()
    assert len(got) == 1


def test_6in4_reply_to_a_pseudo_public_address_never_reaches_the_client_behind_a_cgn():
    """A carrier numbers its customers from 25.0.0.0/8 behind its NAT: the client believes it
    has a public address and sends 6to4; even with protocol 41 passed by the CGN, the relay
    answers the address embedded in the 6to4 prefix, which the Internet routes elsewhere."""
    k = Kernel(trace=True)
    topo = Topology(k)
    topo.internet.declare_pseudo_public("25.0.0.0/8")
    cgn = topo.add_network("carrier", "25.0.0.0/8", outside=["198.51.100.9"])
    cgn.gateway.add_stage(Nat(k, "cgn", ["198.51.100.9"],
                              NatConfig(proto41_passthrough=True)))
    client = cgn.add_host("client")
    relay = topo.add_public_host("relay", ["192.88.99.1"])
    got_relay, got_client = [], []
    client_v4 = client.interfaces[0].address
    relay.handlers[IPV6_IN_IPV4] = lambda p, _i: (
        got_relay.append(p),
        relay.send(encapsulate_6in4(p.dst, client_v4, p.inner)))  # to 2002:1900:a::/48's v4
    client.handlers[IPV6_IN_IPV4] = lambda p, _i: got_client.append(p)
    client.send(six_in_four(client_v4, ip_address("192.88.99.1")))
    k.run()
    assert len(got_relay) == 1 and got_client == []
    assert any("pseudo-public" in r for r in drops(k))


# --- chains (NAT444) ----------------------------------------------------------------------


def test_home_nat_behind_a_cgn_in_shared_address_space_round_trips():
    k = Kernel(trace=True)
    topo = Topology(k)
    cgn = topo.add_network("carrier", "100.64.0.0/10", outside=["198.51.100.9"])
    cgn.gateway.add_stage(Nat(k, "cgn", ["198.51.100.9"], nat_config("symmetric")))
    homenet = topo.add_network("home", "192.168.1.0/24", outside=["100.64.0.2"],
                               upstream="carrier")
    homenet.gateway.add_stage(Nat(k, "home-nat", ["100.64.0.2"], nat_config(
        "linux-masquerade")))
    client = homenet.add_host("client")
    server = topo.add_public_host("server", [S1])
    srv = server.udp_open(3478)
    srv.on_packet = lambda p: srv.sendto(p.src, p.sport, payload="pong")
    sock = client.udp_open(40000)
    got = []
    seen_at_server = []

    def proc():
        sock.sendto(S1, 3478, payload="ping")
        reply = yield sock.recv(timeout=2)
        got.append(reply.payload if reply else None)

    srv_on = srv.on_packet
    srv.on_packet = lambda p: (seen_at_server.append(p.src), srv_on(p))
    k.env.process(proc())
    k.run()
    assert got == ["pong"] and seen_at_server == [ip_address("198.51.100.9")]
    hops = [(r.node, r.fields["after"].src) for r in k.trace.of_kind("translate")
            if r.fields["direction"] == "out"]
    assert hops == [("home-nat", ip_address("100.64.0.2")), ("cgn", ip_address("198.51.100.9"))]


# --- presets and configuration ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "mapping", "filtering", "alloc"), [
    ("full-cone", EIM, EIF, "preservation"),
    ("restricted-cone", EIM, ADF, "preservation"),
    ("port-restricted-cone", EIM, APDF, "sequential"),
    ("symmetric", APDM, APDF, "random"),
    ("linux-masquerade", EIM, APDF, "preservation"),
    ("linux-masquerade-random-fully", APDM, APDF, "random"),
])
def test_presets_name_their_rfc4787_behaviours(name, mapping, filtering, alloc):
    cfg = nat_config({"preset": name, "udp_timeout": 60})
    assert (cfg.mapping, cfg.filtering, cfg.port_allocation, cfg.udp_timeout) == (
        mapping, filtering, alloc, 60)
    assert PRESETS[name].__doc__


def test_linux_masquerade_preserves_the_port_and_random_fully_does_not():
    masq = home(nat_config("linux-masquerade"))
    masq.client.udp_open(40000).sendto(S1, 3478)
    masq.k.run()
    rf = home(nat_config("linux-masquerade-random-fully"))
    sock = rf.client.udp_open(40000)
    sock.sendto(S1, 3478)
    sock.sendto(S2, 3478)
    rf.k.run()
    assert masq.seen[0].sport == 40000
    assert len({p.sport for p in rf.seen}) == 2 and 40000 not in {p.sport for p in rf.seen}


def test_config_accepts_rfc4787_words_and_abbreviations_and_rejects_unknowns():
    cfg = nat_config({"mapping": "address-and-port-dependent", "filtering": "ADF"})
    assert (cfg.mapping, cfg.filtering, cfg.classic_name) == (APDM, ADF, "APDM/ADF")
    assert nat_config("full-cone").classic_name == "full cone"
    assert Behaviour.parse("EIM") is Behaviour.ENDPOINT_INDEPENDENT
    with pytest.raises(ValueError, match="unknown NAT preset"):
        nat_config("cone-of-shame")
    with pytest.raises(ValueError, match="unknown NAT setting"):
        nat_config({"udp_timout": 3})
    with pytest.raises(ValueError, match="unknown NAT behaviour"):
        NatConfig(mapping="sideways")


def test_outbound_icmp_error_about_an_inbound_packet_is_translated():
    k = Kernel(trace=True)
    nat = Nat(k, "n", ["198.51.100.2"], NatConfig(filtering=EIF))
    inside = ip_address("192.168.1.10")
    nat.outbound(udp(inside, 40000, S1, 3478))
    received = nat.inbound(udp(S1, 3478, EXT, 40000))
    err = nat.outbound(icmp_error(inside, received))
    assert (err.src, err.dst) == (EXT, S1)
    assert (err.inner.src, err.inner.dst, err.inner.dport) == (S1, EXT, 40000)


def test_protocols_without_ports_are_dropped_with_the_reason():
    k = Kernel(trace=True)
    nat = Nat(k, "n", ["198.51.100.2"])
    assert nat.outbound(Packet(ip_address("192.168.1.10"), S1, 47)) is None   # GRE
    assert nat.inbound(udp(S1, 3478, ip_address("198.51.100.77"), 40000)) is None
    assert drops(k) == ["protocol 47 has no ports to translate: dropped by NAT",
                        "198.51.100.77 is not an external address of this NAT"]


def _nat444(latency: float, loss: float = 0.0, home_nat: bool = True):
    """A home (behind its own NAT unless ``home_nat`` is false) behind a carrier NAT, its
    subscriber line with ``latency`` and ``loss``."""
    k = Kernel(trace=True)
    topo = Topology(k)
    cgn = topo.add_network("carrier", "100.64.0.0/10", outside=["198.51.100.9"])
    cgn.gateway.add_stage(Nat(k, "cgn", ["198.51.100.9"], nat_config("symmetric")))
    homenet = topo.add_network("home", "192.168.1.0/24", outside=["100.64.0.2"],
                               upstream="carrier", latency=latency,
                               link_options={"loss": loss} if loss else None)
    if home_nat:
        homenet.gateway.add_stage(Nat(k, "home-nat", ["100.64.0.2"], nat_config(
            "linux-masquerade")))
    return k, topo, cgn, homenet


def _round_trip(k, client, dst, port: int = 3478):
    sock = client.udp_open(40000)
    got = []

    def proc():
        sock.sendto(dst, port, payload="ping")
        reply = yield sock.recv(timeout=5)
        got.append((reply.payload, k.env.now) if reply else None)

    k.env.process(proc())
    k.run()
    return got[0]


def test_nat444_subscriber_line_carries_the_link_settings():
    """The home's uplink is its own line to the carrier's NAT: its latency and loss count."""
    rtt = {}
    for latency in (0.010, 0.500):
        k, topo, _, homenet = _nat444(latency)
        client = homenet.add_host("client")
        server = topo.add_public_host("server", [S1])
        srv = server.udp_open(3478)
        srv.on_packet = lambda p, srv=srv: srv.sendto(p.src, p.sport, payload="pong")
        rtt[latency] = _round_trip(k, client, S1)[1]
    assert rtt[0.500] - rtt[0.010] == pytest.approx(2 * 0.490)
    k, topo, _, homenet = _nat444(0.010, loss=1.0)
    client = homenet.add_host("client")
    topo.add_public_host("server", [S1])
    assert _round_trip(k, client, S1) is None
    assert any(r.fields.get("reason", "").startswith("lost on link home-uplink")
               for r in k.trace.of_kind("drop"))


def test_nat444_carrier_lan_reaches_a_home_edge_untranslated():
    """A host on the carrier's LAN and a home's edge address talk through the carrier's
    gateway (proxy ARP), routed between its inside and the line, not through its NAT."""
    k, _, cgn, homenet = _nat444(0.010, home_nat=False)
    neighbour = cgn.add_host("neighbour")
    edge = homenet.gateway
    seen = []
    edge.local_delivery = lambda pkt, iface: seen.append(pkt.src)
    sock = neighbour.udp_open(40000)
    sock.sendto(ip_address("100.64.0.2"), 9, payload="hello")
    k.run()
    assert seen == [cgn.address_of(neighbour)]
    assert not k.trace.of_kind("translate")
