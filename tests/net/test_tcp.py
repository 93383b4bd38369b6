"""TCP: Windows SYN timing, refusal, data exchange and retransmission (KB 2786464, RFC 9293)."""

from ipaddress import ip_address

import pytest

from sim.net.errors import SocketError
from sim.net.kernel import Kernel
from sim.net.packet import ACK, RST, SYN, TCP
from sim.net.tcp import TcpConfig, tcp_stack
from sim.net.topology import Topology

SERVER = ip_address("131.107.0.1")


class DropSyn:
    def outbound(self, pkt):
        return None if pkt.proto == TCP and pkt.flags & SYN else pkt

    def inbound(self, pkt):
        return pkt


def world(stage=None, loss=0.0, seed=1):
    k = Kernel(seed=seed, trace=True)
    topo = Topology(k)
    server = topo.add_public_host("server", [SERVER])
    net = topo.add_network("lan", "192.168.1.0/24", outside=["192.0.2.9"], routed=True,
                           link_options={"loss": loss} if loss else None)
    if stage:
        net.gateway.add_stage(stage)
    return k, net.add_host("client"), server


def run_connect(k, client, port=443, config=None):
    out = {}

    def proc():
        try:
            out["conn"] = yield from tcp_stack(client).connect(SERVER, port, config)
            out["t"] = k.now
        except SocketError as exc:
            out["error"], out["t"] = exc.hex, k.now

    k.env.process(proc())
    k.run(until=100)
    return out


def test_connect_through_a_firewall_that_drops_syns_fails_at_21_seconds_with_0x274c():
    k, client, server = world(DropSyn())
    tcp_stack(server).listen(443, lambda conn: None)
    assert run_connect(k, client) == {"error": "0x274c", "t": 21.0}


def test_syn_timing_is_configurable():
    k, client, _ = world(DropSyn())
    out = run_connect(k, client, config=TcpConfig(initial_rto=1.0, max_syn_retransmissions=3))
    assert out == {"error": "0x274c", "t": 15.0}  # 1 + 2 + 4 + 8


def test_closed_port_answers_rst_and_connect_fails_at_once_with_0x274d():
    k, client, server = world()
    tcp_stack(server)
    out = run_connect(k, client, port=444)
    assert out["error"] == "0x274d" and out["t"] < 0.1


class RejectSyn:
    """A middlebox that refuses: answers SYNs with RST towards the client."""

    def __init__(self):
        self.gateway = None

    def attach(self, gateway):
        self.gateway = gateway

    def outbound(self, pkt):
        if pkt.proto == TCP and pkt.flags & SYN:
            self.gateway.send(pkt.replace(src=pkt.dst, dst=pkt.src, sport=pkt.dport,
                                          dport=pkt.sport, flags=RST | ACK, seq=0,
                                          ack=pkt.seq + 1))
            return None
        return pkt

    def inbound(self, pkt):
        return pkt


def test_rst_from_a_middlebox_gives_0x274d():
    k, client, _ = world(RejectSyn())
    assert run_connect(k, client)["error"] == "0x274d"


def exchange(loss=0.0, seed=1, count=20):
    k, client, server = world(loss=loss, seed=seed)
    received = []

    def on_accept(conn):
        def echo(msg):
            received.append(msg)
            conn.send(("echo", msg), 100)
        conn.on_message = echo

    tcp_stack(server).listen(443, on_accept)
    replies = []

    def proc():
        conn = yield from tcp_stack(client).connect(SERVER, 443)
        for i in range(count):
            conn.send(i, 100)
        while len(replies) < count:
            msg = yield conn.recv(timeout=60)
            if msg is None:
                break
            replies.append(msg)
        conn.close()

    k.env.process(proc())
    k.run(until=300)
    return received, replies


def test_messages_arrive_in_order_and_are_answered():
    received, replies = exchange()
    assert received == list(range(20))
    assert replies == [("echo", i) for i in range(20)]


def test_lost_segments_are_retransmitted_and_still_arrive_in_order():
    received, replies = exchange(loss=0.2, seed=4)
    assert received == list(range(20))
    assert [r[1] for r in replies] == list(range(20))


@pytest.mark.parametrize("seed", [1, 2])
def test_same_seed_same_isn(seed):
    _k1, c1, _s1 = world(seed=seed)
    _k2, c2, _s2 = world(seed=seed)
    assert tcp_stack(c1).rng.random() == tcp_stack(c2).rng.random()


def test_a_syn_answered_with_rst_without_ack_is_ignored_rfc_9293():
    """RFC 9293 §3.10.7.3: in SYN-SENT a RST counts only with an acceptable ACK."""

    class BareRst(RejectSyn):
        def outbound(self, pkt):
            if pkt.proto == TCP and pkt.flags & SYN:
                self.gateway.send(pkt.replace(src=pkt.dst, dst=pkt.src, sport=pkt.dport,
                                              dport=pkt.sport, flags=RST, ack=0))
                return None
            return pkt

    k, client, _ = world(BareRst())
    assert run_connect(k, client) == {"error": "0x274c", "t": 21.0}


def test_connect_succeeds_after_one_rtt_and_the_handshake_uses_the_isn():
    k, client, server = world()
    tcp_stack(server).listen(443)
    out = run_connect(k, client)
    conn = out["conn"]
    assert conn.state == "ESTABLISHED"
    assert out["t"] == pytest.approx(2 * (0.001 + 0.010 + 0.010))
    assert conn.snd_nxt == conn.isn + 1


def test_a_process_can_accept_connections():
    k, client, server = world()
    listener = tcp_stack(server).listen(80)
    got = []

    def server_proc():
        conn = yield listener.accept()
        msg = yield conn.recv()
        got.append((conn.remote, msg))
        conn.send("pong", 10)

    def client_proc():
        conn = yield from tcp_stack(client).connect(SERVER, 80)
        conn.send("ping", 10)
        got.append((yield conn.recv(timeout=5)))

    k.env.process(server_proc())
    k.env.process(client_proc())
    k.run(until=10)
    assert got == [(client.interfaces[0].address, "ping"), "pong"]


def capture(host):
    host.interfaces[0].capture = []
    return host.interfaces[0].capture


def test_sequence_numbers_count_the_bytes_of_each_message():
    k, client, server = world()
    tcp_stack(server).listen(443, lambda conn: None)
    seen = capture(client)

    def proc():
        conn = yield from tcp_stack(client).connect(SERVER, 443)
        conn.send("a", 100)
        conn.send("b", 250)

    k.env.process(proc())
    k.run(until=5)
    data = [p for _t, d, p in seen if d == "out" and p.payload is not None]
    acks = [p for _t, d, p in seen if d == "in" and p.flags == ACK]
    assert data[1].seq - data[0].seq == 100
    assert data[0].size == 20 + 20 + 100
    assert acks[-1].ack == data[1].seq + 250


def test_rst_on_an_established_connection_ends_it_with_0x2746():
    k, client, server = world()
    accepted = []
    tcp_stack(server).listen(443, accepted.append)
    out = {}

    def proc():
        conn = yield from tcp_stack(client).connect(SERVER, 443)
        yield k.env.timeout(1)
        accepted[0].abort()
        out["msg"] = yield conn.recv(timeout=10)
        out["t"], out["error"], out["closed"] = k.now, conn.error, conn.closed

    k.env.process(proc())
    k.run(until=20)
    assert out["msg"] is None and out["t"] < 1.1
    assert out["error"] == 0x2746 and out["closed"]


def test_close_sends_fin_and_the_peer_reads_end_of_stream_after_the_data():
    k, client, server = world()
    listener = tcp_stack(server).listen(443)
    got = []

    def server_proc():
        conn = yield listener.accept()
        while True:
            msg = yield conn.recv(timeout=30)
            got.append(msg)
            if msg is None:
                break
        got.append(conn.state)          # our FIN is on its way
        yield k.env.timeout(1)
        got.append(conn.state)

    def client_proc():
        conn = yield from tcp_stack(client).connect(SERVER, 443)
        conn.send("last words", 10)
        conn.close()
        yield k.env.timeout(5)
        got.append(conn.state)

    k.env.process(server_proc())
    k.env.process(client_proc())
    k.run(until=30)
    assert got == ["last words", None, "LAST-ACK", "CLOSED", "CLOSED"]
    assert tcp_stack(client).connections == {} and tcp_stack(server).connections == {}


def test_data_sent_just_before_close_is_still_delivered_over_a_lossy_link():
    """close() does not throw away unacknowledged data: it is retransmitted, then the FIN."""
    for seed in range(1, 6):
        k, client, server = world(loss=0.3, seed=seed)
        listener = tcp_stack(server).listen(443)
        got = []

        def server_proc(listener=listener, got=got):
            conn = yield listener.accept()
            while (msg := (yield conn.recv(timeout=100))) is not None:
                got.append(msg)

        def client_proc(client=client):
            try:
                conn = yield from tcp_stack(client).connect(SERVER, 443)
            except SocketError:
                return
            for i in range(5):
                conn.send(i, 500)
            conn.close()

        k.env.process(server_proc())
        k.env.process(client_proc())
        k.run(until=200)
        assert got == [0, 1, 2, 3, 4], seed
        assert tcp_stack(client).connections == {} == tcp_stack(server).connections


def test_unacknowledged_data_gives_up_after_5_retransmissions_with_0x2745():
    """TcpMaxDataRetransmissions 5, RTO 1 s doubling: 1+2+4+8+16+32 = 63 s, then the
    connection is aborted (WSAECONNABORTED)."""
    cut = {"on": False}

    class Cut:
        def outbound(self, pkt):
            return None if cut["on"] else pkt

        def inbound(self, pkt):
            return None if cut["on"] else pkt

    k, client, server = world(Cut())
    tcp_stack(server).listen(443, lambda conn: None)
    out = {}

    def proc():
        conn = yield from tcp_stack(client).connect(SERVER, 443)
        cut["on"] = True
        start = k.now
        conn.send("lost", 100)
        out["msg"] = yield conn.recv()
        out["after"], out["error"] = k.now - start, conn.error
        out["retransmissions"] = conn.retransmissions

    k.env.process(proc())
    k.run(until=200)
    assert out == {"msg": None, "after": 63.0, "error": 0x2745, "retransmissions": 5}


def test_a_lost_syn_ack_is_recovered_by_the_syn_retransmission():
    drops = {"n": 0}

    class DropFirstSynAck:
        def outbound(self, pkt):
            return pkt

        def inbound(self, pkt):
            if pkt.proto == TCP and pkt.flags & SYN and drops["n"] == 0:
                drops["n"] += 1
                return None
            return pkt

    k, client, server = world(DropFirstSynAck())
    tcp_stack(server).listen(443, lambda conn: None)
    out = run_connect(k, client)
    # the server's own SYN-ACK retransmission (3 s) and the client's SYN retransmission (3 s)
    # race; either way the connection is up just after 3 s
    assert "conn" in out and 3.0 < out["t"] < 3.1


class TinyNat:
    """A NAT-like rewrite: inside source → 192.0.2.9:40000 and back, on copies."""

    OUTSIDE = ip_address("192.0.2.9")

    def __init__(self):
        self.inside = None

    def outbound(self, pkt):
        if pkt.proto != TCP:
            return pkt
        self.inside = (pkt.src, pkt.sport)
        return pkt.replace(src=self.OUTSIDE, sport=40000)

    def inbound(self, pkt):
        if pkt.proto != TCP or pkt.dport != 40000 or self.inside is None:
            return None
        return pkt.replace(dst=self.inside[0], dport=self.inside[1])


def test_a_connection_through_a_nat_exchanges_data():
    k = Kernel(seed=1)
    topo = Topology(k)
    server = topo.add_public_host("server", [SERVER])
    net = topo.add_network("lan", "192.168.1.0/24", outside=["192.0.2.9"])
    net.gateway.add_stage(TinyNat())
    client = net.add_host("client")
    peers = []

    def on_accept(conn):
        peers.append((conn.remote, conn.rport))
        conn.on_message = lambda m: conn.send(("echo", m), 50)

    tcp_stack(server).listen(443, on_accept)
    got = []

    def proc():
        conn = yield from tcp_stack(client).connect(SERVER, 443)
        conn.send("hello", 5)
        got.append((yield conn.recv(timeout=5)))

    k.env.process(proc())
    k.run(until=10)
    assert peers == [(ip_address("192.0.2.9"), 40000)]
    assert got == [("echo", "hello")]


def test_a_segment_lost_among_many_is_fast_retransmitted_on_three_duplicate_acks():
    """RFC 5681 §3.2: the receiver's duplicate ACKs trigger the retransmission well before
    the 1 s retransmission timer."""

    class DropThirdDataSegment:
        def __init__(self):
            self.seen = 0

        def outbound(self, pkt):
            if pkt.proto == TCP and pkt.payload is not None:
                self.seen += 1
                if self.seen == 3:
                    return None
            return pkt

        def inbound(self, pkt):
            return pkt

    k, client, server = world(DropThirdDataSegment())
    got = []

    def on_accept(conn):
        conn.on_message = lambda m: got.append((k.now, m))

    tcp_stack(server).listen(443, on_accept)
    out = {}

    def proc():
        conn = yield from tcp_stack(client).connect(SERVER, 443)
        for i in range(8):
            conn.send(i, 100)
        yield k.env.timeout(5)
        out["retransmissions"] = conn.retransmissions

    k.env.process(proc())
    k.run(until=10)
    assert [m for _t, m in got] == list(range(8))
    assert got[-1][0] < 0.2 and out["retransmissions"] == 1


def test_issue_2_connect_through_the_real_firewall_and_nat_that_drop_syns_fails_at_21_s():
    """The acceptance test of issue 2, with the project's own Firewall (default deny, only
    UDP 53 allowed) and NAT; ``reject`` instead of deny refuses at once with 0x274d."""
    from sim.net.firewall import Firewall
    from sim.net.nat import Nat, NatConfig

    def edge(default):
        k = Kernel(seed=1, trace=True)
        topo = Topology(k)
        server = topo.add_public_host("server", [SERVER])
        tcp_stack(server).listen(443)
        net = topo.add_network("hotel", "192.168.1.0/24", outside=["192.0.2.9"])
        net.gateway.add_stage(Firewall.from_spec(k, "fw", {"default": default,
                                                           "allow": ["udp/53"]}))
        net.gateway.add_stage(Nat(k, "nat", ["192.0.2.9"], NatConfig()))
        return k, net.add_host("client")

    k, client = edge("deny")
    assert run_connect(k, client) == {"error": "0x274c", "t": 21.0}
    assert len([r for r in k.trace.of_kind("drop") if r.node == "fw"]) == 3
    k, client = edge("reject")
    out = run_connect(k, client)
    assert out["error"] == "0x274d" and out["t"] < 0.01


def delayed_ack_exchange(config=None, answer=True, messages=1):
    """The client sends ``messages`` messages; the server answers each at once or not at
    all. Returns what the client's interface saw as (time, direction, flags, payload)."""
    k, client, server = world()

    def on_accept(conn):
        if answer:
            conn.on_message = lambda m: conn.send(("echo", m), 50)
        else:
            conn.on_message = lambda m: None

    tcp_stack(server, config).listen(443, on_accept)
    seen = capture(client)

    def proc():
        conn = yield from tcp_stack(client).connect(SERVER, 443, config)
        yield k.env.timeout(1)
        for i in range(messages):
            conn.send(i, 100)

    k.env.process(proc())
    k.run(until=5)
    return [(round(t, 3), d, p.flags, p.payload) for t, d, p in seen if t >= 1]


def test_a_reply_sent_at_once_carries_the_ack_and_the_last_data_is_acked_after_200_ms():
    """Windows' delayed ACK (RFC 1122 §4.2.3.2; TcpDelAckTicks 2 × 100 ms): the server's
    answer acknowledges the request, and the client acknowledges the answer 200 ms later."""
    seen = delayed_ack_exchange()
    pure_in = [s for s in seen if s[1] == "in" and s[3] is None]
    assert not pure_in, "the server sent a pure ACK although its answer carried one"
    answer_at = next(t for t, d, _f, m in seen if d == "in" and m is not None)
    pure_out = [t for t, d, _f, m in seen if d == "out" and m is None]
    assert pure_out == [round(answer_at + 0.2, 3)]


def test_a_lone_segment_without_answer_is_acked_200_ms_after_it_arrived():
    seen = delayed_ack_exchange(answer=False)
    sent = next(t for t, d, _f, m in seen if d == "out" and m is not None)
    acks = [t for t, d, f, m in seen if d == "in" and m is None and f == ACK]
    one_way = 0.021   # world(): two links of 10 ms and the gateway's hop
    assert len(acks) == 1 and acks[0] == pytest.approx(sent + 0.2 + 2 * one_way, abs=0.01)


def test_every_second_segment_is_acked_at_once():
    """TcpAckFrequency 2: of two back-to-back segments the second is acknowledged at once."""
    seen = delayed_ack_exchange(answer=False, messages=2)
    sent = [t for t, d, _f, m in seen if d == "out" and m is not None]
    acks = [t for t, d, f, m in seen if d == "in" and m is None and f == ACK]
    assert len(sent) == 2 and len(acks) == 1
    assert acks[0] - sent[1] < 0.1   # a round trip, no 200 ms wait


def test_delayed_ack_zero_acknowledges_every_segment_at_once():
    seen = delayed_ack_exchange(TcpConfig(delayed_ack=0))
    pure_in = [s for s in seen if s[1] == "in" and s[3] is None]
    pure_out = [s for s in seen if s[1] == "out" and s[3] is None]
    assert len(pure_in) == 1 and len(pure_out) == 1
