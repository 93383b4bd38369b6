"""HTTP over the simulated TCP, and the explicit proxy: CONNECT through an unauthenticated
proxy (S4), 407 from an authenticating one (S5, MS-IPHTTPS note <1>), relaying both ways,
upstream failures, absolute-form GET for CRL fetches, and the TLS-inspection seam (S7)."""

import datetime as dt
from ipaddress import ip_address

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sim.net.dns import DnsServer
from sim.net.errors import SocketError
from sim.net.http import HttpRequest, HttpResponse, HttpServer, http_get
from sim.net.kernel import Kernel
from sim.net.packet import SYN, TCP
from sim.net.proxy import HttpProxy, proxy_target
from sim.net.tcp import tcp_stack
from sim.net.tls import Certificate, TlsServerSession, client_handshake
from sim.net.topology import Topology

DNS = ip_address("198.51.100.53")
SERVER = ip_address("131.107.0.1")
SILENT = ip_address("131.107.0.66")     # a name that resolves to a host that drops SYNs
RECORDS = {"da.contoso.com": [str(SERVER)], "crl.contoso.com": [str(SERVER)],
           "closed.contoso.com": [str(SERVER)], "silent.contoso.com": [str(SILENT)]}


class OnlyTheProxyGoesOut:
    """The network's firewall: nothing leaves but the proxy's own connections (the scenario
    builder's exemption, F5.6)."""

    def __init__(self):
        self.proxy_address = None

    def outbound(self, pkt):
        return pkt if pkt.src == self.proxy_address else None

    def inbound(self, pkt):
        return pkt


class DropSyns:
    def outbound(self, pkt):
        return pkt

    def inbound(self, pkt):
        return None if pkt.proto == TCP and pkt.flags & SYN else pkt


def world(auth="none", inspector=None):
    k = Kernel(seed=1)
    topo = Topology(k)
    DnsServer(topo.add_public_host("resolver", [DNS]), RECORDS)
    server = topo.add_public_host("server", [SERVER])
    silent = topo.add_public_host("silent", [SILENT])
    tcp_stack(silent)
    silent.handlers[TCP] = lambda pkt, iface: None           # a black hole for TCP
    net = topo.add_network("office", "10.1.0.0/24", outside=["192.0.2.9"], routed=True)
    firewall = OnlyTheProxyGoesOut()
    net.gateway.add_stage(firewall)
    proxy_host = net.add_host("proxy")
    proxy_host.dns_servers = [DNS]
    firewall.proxy_address = proxy_host.interfaces[0].address
    proxy = HttpProxy(proxy_host, 8080, auth, inspector)
    client = net.add_host("laptop")
    client.dns_servers = [DNS]
    return k, client, server, proxy, (proxy_host.interfaces[0].address, 8080)


def echo_server(server, port=443):
    seen = []

    def on_accept(conn):
        def on_message(msg):
            seen.append(msg)
            conn.send(("echo", msg), 100)
        conn.on_message = on_message

    tcp_stack(server).listen(port, on_accept)
    return seen


def run(k, gen, until=100):
    out = {}

    def proc():
        try:
            out["value"] = yield from gen
        except SocketError as exc:
            out["error"] = exc.hex
        out["t"] = k.now

    k.env.process(proc())
    k.run(until=k.now + until)
    return out


def connect_via_proxy(client, proxy_addr, target, headers=None):
    conn = yield from tcp_stack(client).connect(*proxy_addr)
    req = HttpRequest("CONNECT", target, {"Host": target, **(headers or {})})
    conn.send(req)
    resp = yield conn.recv(timeout=60)
    return conn, resp


# -- HTTP ---------------------------------------------------------------------------------
def test_http_messages_count_their_text_and_body():
    req = HttpRequest("GET", "/issuing.crl", {"Host": "crl.contoso.com"})
    assert req.size == len("GET /issuing.crl HTTP/1.1\r\nHost: crl.contoso.com\r\n\r\n")
    resp = HttpResponse(200, body=b"x" * 700)
    assert resp.reason == "OK" and resp.size == len("HTTP/1.1 200 OK\r\n\r\n") + 700
    post = HttpRequest("POST", "/IPHTTPS", {"Content-Length": str(2**64 - 1)})
    assert post.size == len(post.text())    # the stream that follows is not its body
    assert post.header("content-length") == str(2**64 - 1)


def test_http_get_fetches_a_crl_by_name_and_the_server_routes_by_path():
    k = Kernel(seed=1)
    topo = Topology(k)
    DnsServer(topo.add_public_host("resolver", [DNS]), RECORDS)
    server = topo.add_public_host("server", [SERVER])
    web = HttpServer(server, {"/crl/": lambda req: HttpResponse(200, body=b"CRL")})
    net = topo.add_network("home", "192.168.1.0/24", outside=["192.0.2.9"], routed=True)
    client = net.add_host("laptop")
    client.dns_servers = [DNS]
    out = run(k, http_get(client, "http://crl.contoso.com/crl/issuing.crl"))
    assert out["value"].status == 200 and out["value"].body == b"CRL"
    missing = run(k, http_get(client, "http://crl.contoso.com/other"))
    assert missing["value"].status == 404
    assert [entry[2:] for entry in web.log] == [("/crl/issuing.crl", 200), ("/other", 404)]
    assert run(k, http_get(client, "http://nowhere.contoso.com/"))["error"] == "0x2af9"


def test_http_get_to_a_server_behind_a_syn_dropping_firewall_fails_at_21_s_with_0x274c():
    k = Kernel(seed=1)
    topo = Topology(k)
    DnsServer(topo.add_public_host("resolver", [DNS]), RECORDS)
    HttpServer(topo.add_public_host("server", [SERVER]), lambda req: HttpResponse(200))
    net = topo.add_network("home", "192.168.1.0/24", outside=["192.0.2.9"], routed=True)
    net.gateway.add_stage(DropSyns())
    client = net.add_host("laptop")
    client.dns_servers = [DNS]
    out = run(k, http_get(client, "http://crl.contoso.com/issuing.crl"))
    assert out["error"] == "0x274c"
    assert out["t"] == pytest.approx(21.0, abs=0.05)    # after the DNS round trip


# -- the proxy -----------------------------------------------------------------------------
def test_connect_through_an_unauthenticated_proxy_is_established():
    k, client, server, proxy, addr = world()
    echo_server(server)
    out = run(k, connect_via_proxy(client, addr, "da.contoso.com:443"))
    _conn, resp = out["value"]
    assert (resp.status, resp.reason) == (200, "Connection established")
    assert proxy.requests[-1][1:] == ("da.contoso.com:443", 200)


def test_the_firewall_blocks_the_client_but_not_the_proxy():
    k, client, server, _proxy, _addr = world()
    echo_server(server)
    out = run(k, tcp_stack(client).connect(SERVER, 443))
    assert out["error"] == "0x274c"


def test_the_tunnel_relays_messages_both_ways():
    k, client, server, _proxy, addr = world()
    seen = echo_server(server)
    got = []

    def proc():
        conn, resp = yield from connect_via_proxy(client, addr, "da.contoso.com:443")
        assert resp.status == 200
        for i in range(3):
            conn.send(f"hello {i}", 200)
        for _ in range(3):
            got.append((yield conn.recv(timeout=10)))

    run(k, proc())
    assert seen == ["hello 0", "hello 1", "hello 2"]
    assert got == [("echo", "hello 0"), ("echo", "hello 1"), ("echo", "hello 2")]


def test_closing_the_tunnel_closes_the_upstream_connection():
    k, client, server, _proxy, addr = world()
    accepted = []
    tcp_stack(server).listen(443, accepted.append)

    def proc():
        conn, _resp = yield from connect_via_proxy(client, addr, "da.contoso.com:443")
        conn.close()
        yield k.env.timeout(5)

    run(k, proc())
    assert accepted and accepted[0].closed and accepted[0].state == "CLOSED"


@pytest.mark.parametrize("auth, challenge", [("basic", 'Basic realm="proxy"'),
                                             ("ntlm", "NTLM"), ("negotiate", "Negotiate")])
def test_an_authenticating_proxy_answers_connect_with_407(auth, challenge):
    """The IP Helper service cannot answer the challenge (MS-IPHTTPS note <1>, F5.6)."""
    k, client, server, _proxy, addr = world(auth=auth)
    accepted = []
    tcp_stack(server).listen(443, accepted.append)
    out = run(k, connect_via_proxy(client, addr, "da.contoso.com:443"))
    resp = out["value"][1]
    assert (resp.status, resp.reason) == (407, "Proxy Authentication Required")
    assert resp.header("Proxy-Authenticate") == challenge
    assert accepted == []                       # the proxy never went upstream


def test_a_client_that_sends_credentials_gets_through_an_authenticating_proxy():
    k, client, server, _proxy, addr = world(auth="ntlm")
    echo_server(server)
    out = run(k, connect_via_proxy(client, addr, "da.contoso.com:443",
                                   {"Proxy-Authorization": "NTLM TlRMTVNTUAADAAAAGAAYAEgAAAA="}))
    assert out["value"][1].status == 200


def test_upstream_refusal_and_unknown_names_are_502_and_silence_is_504():
    k, client, server, _proxy, addr = world()
    tcp_stack(server)                            # nothing listens: RST
    refused = run(k, connect_via_proxy(client, addr, "closed.contoso.com:443"))
    assert refused["value"][1].status == 502 and refused["t"] < 1
    k2, client2, _s2, _p2, addr2 = world()
    unknown = run(k2, connect_via_proxy(client2, addr2, "nowhere.contoso.com:443"))
    assert unknown["value"][1].status == 502
    k3, client3, _s3, _p3, addr3 = world()
    silent = run(k3, connect_via_proxy(client3, addr3, "silent.contoso.com:443"))
    assert silent["value"][1].status == 504
    assert silent["t"] == pytest.approx(21.0, abs=0.1)    # the proxy's own SYN time-out


def test_the_proxy_forwards_an_absolute_form_get_for_a_crl_fetch():
    k, client, server, proxy, addr = world()
    HttpServer(server, lambda req: HttpResponse(200, body=b"CRL bytes"))
    out = run(k, http_get(client, "http://crl.contoso.com/issuing.crl", proxy=addr))
    assert out["value"].status == 200 and out["value"].body == b"CRL bytes"
    assert proxy.requests[-1][1:] == ("http://crl.contoso.com/issuing.crl", 200)


def test_proxy_target_names_the_connect_authority():
    assert proxy_target("https://da.contoso.com/IPHTTPS") == "da.contoso.com:443"
    assert proxy_target("https://da.contoso.com:44500/IPHTTPS") == "da.contoso.com:44500"


# -- the TLS-inspection seam ---------------------------------------------------------------
def self_signed(name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=365))
            .sign(key, hashes.SHA256()))


class FakeInspector:
    """Records the server's chain it was handed and shows its own instead."""

    def __init__(self, chain):
        self.chain = chain
        self.seen = []

    def substitute(self, server_chain):
        self.seen.append(server_chain)
        return self.chain


def test_an_inspecting_proxy_shows_the_inspectors_chain_and_relays_the_decrypted_stream():
    server_cert, inspection_cert = self_signed("da.contoso.com"), self_signed("Inspection CA")
    inspector = FakeInspector([inspection_cert])
    k, client, server, _proxy, addr = world(inspector=inspector)
    rng = k.rng("test")
    at_server = []

    def accept(conn):
        def on_data(msg):
            at_server.append(msg)
            conn.send(("reply", msg), 100)
        conn.on_message = TlsServerSession(conn, Certificate([server_cert]), rng,
                                           on_data).receive

    tcp_stack(server).listen(443, accept)
    shown, got = [], []

    def proc():
        conn, resp = yield from connect_via_proxy(client, addr, "da.contoso.com:443")
        assert resp.status == 200
        yield from client_handshake(conn, "da.contoso.com", lambda chain: shown.append(chain),
                                    rng)
        conn.send("POST /IPHTTPS", 100)
        got.append((yield conn.recv(timeout=10)))

    run(k, proc())
    assert inspector.seen == [[server_cert]]        # the proxy's own handshake saw the server
    assert shown == [[inspection_cert]]             # the client saw the inspector's chain
    assert at_server == ["POST /IPHTTPS"]           # and the stream crossed both sessions
    assert got == [("reply", "POST /IPHTTPS")]
