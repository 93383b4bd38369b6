"""DNS over UDP 53: answers, NXDOMAIN and no-data errors, the Windows retry schedule when
UDP 53 is blocked (KB 2834226), TTL caching, split views (F1.19, S15)."""

from ipaddress import ip_address

import pytest

from sim.net.dns import DnsMessage, DnsServer, resolve
from sim.net.errors import SocketError
from sim.net.kernel import Kernel
from sim.net.packet import UDP
from sim.net.topology import Topology

PUBLIC_DNS = ip_address("198.51.100.53")
CORP_DNS = ip_address("10.0.0.53")
RECORDS = {
    "da.contoso.com": ["131.107.0.1", "2001:db8::1"],
    "v4only.contoso.com": ["131.107.0.9"],
}


class BlockUdp53:
    """A firewall stage that drops DNS."""

    def __init__(self):
        self.kernel = None
        self.dropped = []

    def attach(self, gateway):
        self.kernel = gateway.kernel

    def outbound(self, pkt):
        if pkt.proto == UDP and pkt.dport == 53:
            self.dropped.append(self.kernel.now)
            return None
        return pkt

    def inbound(self, pkt):
        return pkt


def world(stage=None, records=RECORDS):
    k = Kernel(seed=1, trace=True)
    topo = Topology(k)
    dns_host = topo.add_public_host("resolver", [PUBLIC_DNS])
    server = DnsServer(dns_host, records)
    net = topo.add_network("hotel", "192.168.1.0/24", outside=["192.0.2.9"], routed=True)
    if stage is not None:
        net.gateway.add_stage(stage)
    client = net.add_host("laptop")
    client.dns_servers = [PUBLIC_DNS]
    return k, topo, client, server


def lookup(k, client, name, qtype="A", at=0.0):
    out = {}

    def proc():
        yield k.env.timeout(at)
        start = k.now
        try:
            out["addrs"] = yield from resolve(client, name, qtype)
        except SocketError as exc:
            out["error"] = exc.hex
        out["took"] = k.now - start

    k.env.process(proc())
    k.run()
    return out


def test_an_a_query_returns_the_ipv4_address_after_one_round_trip():
    k, _topo, client, _server = world()
    out = lookup(k, client, "da.contoso.com")
    assert out["addrs"] == [ip_address("131.107.0.1")]
    assert out["took"] == pytest.approx(2 * (0.001 + 0.010 + 0.010))


def test_an_aaaa_query_returns_the_ipv6_address():
    k, _topo, client, _server = world()
    assert lookup(k, client, "DA.contoso.com.", "AAAA")["addrs"] == [ip_address("2001:db8::1")]


def test_an_unknown_name_is_nxdomain_and_fails_with_0x2af9():
    k, _topo, client, server = world()
    out = lookup(k, client, "nls.corp.contoso.com")
    assert out["error"] == "0x2af9" and out["took"] < 0.1
    assert server.queries == 1     # a negative answer stops the retries


def test_a_name_without_a_record_of_that_type_fails_with_0x2afc():
    k, _topo, client, _server = world()
    assert lookup(k, client, "v4only.contoso.com", "AAAA")["error"] == "0x2afc"


def test_udp_53_blocked_fails_with_0x2afa_after_the_windows_retry_schedule():
    """KB 2834226: queries at 0, 1, 2, 4 and 8 s; the client gives up at 10 s."""
    block = BlockUdp53()
    k, _topo, client, _server = world(block)
    out = lookup(k, client, "da.contoso.com")
    assert out == {"error": "0x2afa", "took": 10.0}
    assert block.dropped == pytest.approx([0.001, 1.001, 2.001, 4.001, 8.001])


def test_the_retry_schedule_is_a_host_parameter():
    k, _topo, client, _server = world(BlockUdp53())
    client.dns_timeouts = (2.0, 3.0)
    assert lookup(k, client, "da.contoso.com") == {"error": "0x2afa", "took": 5.0}


def test_answers_are_cached_for_their_ttl():
    k, _topo, client, server = world(records={})
    server.add("short.contoso.com", "131.107.0.7", ttl=60)
    lookup(k, client, "short.contoso.com")
    lookup(k, client, "short.contoso.com", at=30)
    assert server.queries == 1
    lookup(k, client, "short.contoso.com", at=60)
    assert server.queries == 2


def test_split_views_the_nls_resolves_inside_and_is_nxdomain_outside():
    """F1.19: the NLS name exists only in the corporate DNS; the public resolver has the
    public names only. Two servers, two views; the client's setting picks one."""
    k = Kernel(seed=1)
    topo = Topology(k)
    public = topo.add_public_host("resolver", [PUBLIC_DNS])
    DnsServer(public, RECORDS)
    corp = topo.add_network("corp", "10.0.0.0/24", outside=["192.0.2.1"], routed=True)
    corp_dns = corp.add_host("corp-dns")
    DnsServer(corp_dns, {**RECORDS, "nls.corp.contoso.com": ["10.0.0.80"]})
    inside = corp.add_host("desktop")
    inside.dns_servers = [corp_dns.interfaces[0].address]
    hotel = topo.add_network("hotel", "192.168.1.0/24", outside=["192.0.2.9"], routed=True)
    outside = hotel.add_host("laptop")
    outside.dns_servers = [PUBLIC_DNS]
    assert lookup(k, inside, "nls.corp.contoso.com")["addrs"] == [ip_address("10.0.0.80")]
    assert lookup(k, outside, "nls.corp.contoso.com")["error"] == "0x2af9"
    assert lookup(k, outside, "da.contoso.com")["addrs"] == [ip_address("131.107.0.1")]


def test_a_second_server_answers_when_the_preferred_one_is_silent():
    k, _topo, client, _server = world()
    client.dns_servers = [ip_address("198.51.100.99"), PUBLIC_DNS]   # the first is no server
    out = lookup(k, client, "da.contoso.com")
    assert out["addrs"] == [ip_address("131.107.0.1")]
    assert 1.0 < out["took"] < 1.1   # the second attempt goes to the alternate server


def test_a_client_without_dns_servers_fails_with_0x2afa():
    k, _topo, client, _server = world()
    client.dns_servers = []
    assert lookup(k, client, "da.contoso.com")["error"] == "0x2afa"


def test_message_sizes_follow_the_wire_format():
    q = DnsMessage(1, "da.contoso.com", 1)
    assert q.size == 12 + (len("da.contoso.com") + 2) + 4
    from sim.net.dns import DnsAnswer

    r = DnsMessage(1, "da.contoso.com", 28, True, 0, [DnsAnswer(ip_address("2001:db8::1"))])
    assert r.size == q.size + 12 + 16
