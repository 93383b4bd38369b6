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
