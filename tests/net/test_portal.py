"""The captive portal (S3): web traffic answered by the portal until login, HTTPS dropped,
reset or intercepted, DNS allowed, everything else dropped; after login everything passes."""

import datetime as dt
from ipaddress import ip_address

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sim.net.dns import DnsServer, resolve
from sim.net.errors import SocketError
from sim.net.http import HttpResponse, HttpServer, http_get
from sim.net.kernel import Kernel
from sim.net.packet import TCP
from sim.net.portal import CaptivePortal
from sim.net.tcp import tcp_stack
from sim.net.tls import Certificate, TlsServerSession, client_handshake
from sim.net.topology import Topology

DNS = ip_address("198.51.100.53")
SERVER = ip_address("131.107.0.1")
LOGIN = "http://portal.hotel.example/login"


def world(https="drop", certificate=None, login_at=None):
    k = Kernel(seed=1, trace=True)
    topo = Topology(k)
    DnsServer(topo.add_public_host("resolver", [DNS]),
              {"crl.contoso.com": [str(SERVER)], "da.contoso.com": [str(SERVER)]})
    server = topo.add_public_host("server", [SERVER])
    net = topo.add_network("hotel", "192.168.1.0/24", outside=["192.0.2.9"], routed=True)
    portal = CaptivePortal(k, "hotel-portal", https=https, login_url=LOGIN,
                           certificate=certificate)
    net.gateway.add_stage(portal)
    if login_at is not None:
        portal.schedule_login(login_at)
    client = net.add_host("laptop")
    client.dns_servers = [DNS]
    HttpServer(server, lambda req: HttpResponse(200, body=b"the real CRL"))
    return k, client, server, portal


def run(k, gen, at=0.0, until=200):
    out = {}

    def proc():
        yield k.env.timeout(at)
        start = k.now
        try:
            out["value"] = yield from gen
        except SocketError as exc:
            out["error"] = exc.hex
        out["took"] = k.now - start

    k.env.process(proc())
    k.run(until=until)
    return out


def test_before_login_web_requests_get_a_302_to_the_login_page_from_the_portal():
    k, client, server, portal = world()
    out = run(k, http_get(client, "http://crl.contoso.com/issuing.crl"))
    resp = out["value"]
    assert (resp.status, resp.header("Location")) == (302, LOGIN)
    assert out["took"] < 0.1              # the portal is at the edge, not on the Internet
    assert server.tcp.connections == {} and portal.redirects == 1


def test_the_portals_answer_comes_from_the_servers_address_over_real_tcp():
    k, client, _server, _portal = world()
    capture = client.interfaces[0].capture = []
    run(k, http_get(client, "http://crl.contoso.com/issuing.crl"))
    inbound = [p for _t, d, p in capture if d == "in" and p.proto == TCP]
    assert {p.src for p in inbound} == {SERVER}
    assert "SA" in repr(inbound[0]) and any(isinstance(p.payload, HttpResponse)
                                            for p in inbound)
    assert any("F" in repr(p) for p in inbound)   # then the portal closes


def test_dns_passes_before_login():
    k, client, _server, _portal = world()
    assert run(k, resolve(client, "da.contoso.com"))["value"] == [SERVER]


def test_before_login_https_is_dropped_and_connect_times_out_at_21_s():
    k, client, server, _portal = world()
    tcp_stack(server).listen(443)
    out = run(k, tcp_stack(client).connect(SERVER, 443))
    assert out == {"error": "0x274c", "took": 21.0}
    assert any(r.fields["reason"] == "captive portal: not logged in yet"
               for r in k.trace.of_kind("drop"))


def test_https_reset_refuses_at_once_with_0x274d():
    k, client, server, _portal = world(https="reset")
    tcp_stack(server).listen(443)
    out = run(k, tcp_stack(client).connect(SERVER, 443))
    assert out["error"] == "0x274d" and out["took"] < 0.1


def test_other_udp_is_dropped_before_login():
    k, client, _server, _portal = world()
    sock = client.udp_open()
    sock.sendto(SERVER, 3544, payload_size=40)     # Teredo qualification, say
    k.run(until=1)
    drops = k.trace.of_kind("drop")
    assert [r.fields["pkt"].dport for r in drops] == [3544]


def test_after_login_everything_passes():
    k, client, server, portal = world(login_at=90)
    tcp_stack(server).listen(443)
    before = run(k, http_get(client, "http://crl.contoso.com/issuing.crl"), at=10, until=20)
    after = run(k, http_get(client, "http://crl.contoso.com/issuing.crl"), at=80, until=200)
    assert before["value"].status == 302
    assert portal.logged_in
    assert after["value"].status == 200 and after["value"].body == b"the real CRL"
    tls = run(k, tcp_stack(client).connect(SERVER, 443), at=0, until=300)
    assert "value" in tls and tls["took"] < 0.1
    assert [r.t for r in k.trace.of_kind("portal-login")] == [90.0]


def test_a_connect_in_flight_at_login_succeeds_on_its_next_syn():
    """Dropped SYNs at 0 and 3 s; login at 5 s; the SYN sent at 9 s gets through."""
    k, client, server, _portal = world(login_at=5)
    tcp_stack(server).listen(443)
    out = run(k, tcp_stack(client).connect(SERVER, 443))
    assert "value" in out and out["took"] == pytest.approx(9.0, abs=0.1)


def self_signed(name):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=365))
            .sign(key, hashes.SHA256()))


def test_https_intercept_presents_the_portals_own_certificate():
    portal_cert, server_cert = self_signed("portal.hotel.example"), self_signed("da.contoso.com")
    k, client, server, _portal = world(https="intercept", certificate=[portal_cert])
    rng = k.rng("test")
    tcp_stack(server).listen(443, lambda conn: setattr(
        conn, "on_message", TlsServerSession(conn, Certificate([server_cert]), rng).receive))
    shown = []

    def proc():
        conn = yield from tcp_stack(client).connect(SERVER, 443)
        yield from client_handshake(conn, "da.contoso.com", shown.append, rng)
        return conn

    out = run(k, proc())
    assert shown == [[portal_cert]]                # not the server's chain
    assert "value" in out


def test_intercept_needs_a_certificate_and_modes_are_checked():
    with pytest.raises(ValueError, match="certificate"):
        CaptivePortal(Kernel(), "p", https="intercept")
    with pytest.raises(ValueError, match="drop, reset, intercept"):
        CaptivePortal(Kernel(), "p", https="redirect")
