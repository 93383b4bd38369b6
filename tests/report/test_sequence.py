"""The sequence diagram follows each of a laptop's packets across the devices it crosses: a
lifeline per NAT, firewall and proxy, both sides of every translation, and each drop on the
lifeline of the device that dropped it."""

from collections import Counter
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.fleet.prepare import prepare
from sim.report import sequence

SCEN = Path(__file__).resolve().parents[2] / "scenarios"
SHARED = ip_network("100.64.0.0/10")


def diagram(scenario, name="laptop", limit=10_000, **overrides):
    run = prepare(str(SCEN / f"{scenario}.yaml"), name, trace=True, overrides=overrides or None)
    crossings = run.tap_path(name)
    run.run()
    return run, sequence.laptop_sequence(run.view(), crossings, name, limit)


@pytest.fixture(scope="module")
def nat444():
    return diagram("cgn-shared-100-64")


def test_a_nat444_diagram_has_a_lifeline_for_each_nat(nat444):
    _run, (_journeys, _total, lanes, labels) = nat444
    assert lanes[:3] == ["laptop", "home-gw", "carrier-gw"]
    assert labels["home-gw"] == "home-gw\n(NAT)" and labels["carrier-gw"] == "carrier-gw\n(NAT)"
    assert "da-server" in lanes


def test_each_leg_carries_the_addresses_of_its_side_of_the_translation(nat444):
    _run, (journeys, *_rest) = nat444
    syn = next(j for j in journeys if j.label == "TCP S")
    assert [(leg.src, leg.dst) for leg in syn.legs] == [
        ("laptop", "home-gw"), ("home-gw", "carrier-gw"), ("carrier-gw", "da-server")]
    sources = [leg.pkt.src for leg in syn.legs]
    assert sources[0].is_private and sources[0] not in SHARED   # the home LAN
    assert sources[1] in SHARED                                  # the carrier's shared space
    assert sources[2].is_global or sources[2] in ip_network("198.51.100.0/24")
    assert len(set(sources)) == 3 and syn.translated and syn.dropped_by is None
    answer = next(j for j in journeys if j.label == "TCP SA")
    assert [(leg.src, leg.dst) for leg in answer.legs] == [
        ("da-server", "carrier-gw"), ("carrier-gw", "home-gw"), ("home-gw", "laptop")]
    assert answer.legs[-1].pkt.dst == sources[0]


def test_an_inbound_packet_a_nat_filters_is_dropped_on_that_nats_lifeline(nat444):
    _run, (journeys, *_rest) = nat444
    filtered = [j for j in journeys if j.dropped_by is not None]
    assert filtered and {j.dropped_by for j in filtered} == {"carrier-gw"}
    assert all("filtered" in j.reason for j in filtered)
    assert {j.legs[0].pkt.src for j in filtered} == {ip_address("131.107.0.2")}


def test_home_nat_drops_the_cone_tests_answers_where_they_happen():
    _run, (journeys, *_rest) = diagram("home-nat")
    dropped = Counter(j.dropped_by for j in journeys if j.dropped_by)
    assert dropped["home-gw"] >= 1 and "laptop" not in dropped
    assert all(j.legs[0].src == "da-server" for j in journeys if j.dropped_by == "home-gw")


def test_a_dropped_rs_is_crossed_on_the_firewalls_gateway_not_on_a_server():
    _run, (journeys, total, lanes, labels) = diagram("kb2980667-untrusted-root")
    rs = [j for j in journeys if j.label == "Teredo RS"]
    assert rs and {j.dropped_by for j in rs} == {"hotel-gw"}
    assert all("hotel-firewall" in j.reason for j in rs)
    assert labels["hotel-gw"] == "hotel-gw\n(firewall, NAT)"
    assert all(j.dropped_by is None for j in journeys if j.label.startswith("TLS"))
    assert lanes.index("hotel-gw") == 1 and total > 100


def test_a_retransmission_that_got_through_is_not_drawn_as_dropped():
    """On a lossy uplink each packet is followed as itself: a TCP retransmission that got
    through is delivered, the sending that was lost is dropped, on the uplink."""
    _run, (journeys, *_rest) = diagram("hotel-udp-blocked",
                                      **{"networks.hotel.link": {"loss": 0.3}})
    lost = [j for j in journeys if j.dropped_by == "hotel-uplink"]
    assert lost
    sent = Counter((j.label, j.legs[0].pkt.seq) for j in journeys if j.label.startswith("TLS"))
    resent = [key for key, n in sent.items() if n > 1]
    assert any(not j.dropped_by for j in journeys
               if (j.label, j.legs[0].pkt.seq) in resent)


def test_the_figure_names_its_cut(tmp_path, monkeypatch):
    titles = []
    draw = sequence.draw
    monkeypatch.setattr(sequence, "draw", lambda j, lanes, labels, path, title, look:
                        titles.append(title) or draw(j, lanes, labels, path, title, look))
    out = tmp_path / "seq.svg"
    res = CliRunner().invoke(cli, ["plot", str(SCEN / "kb2980667-untrusted-root.yaml"),
                                   "--kind", "sequence", "--out", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0 and out.exists()
    assert titles == ["kb2980667-untrusted-root: laptop (its first 60 of 114 packets)"]
    assert "hotel-gw" in out.read_text() and "dropped by hotel-gw" in out.read_text()


def test_a_proxy_has_its_lifeline_and_its_own_connection_out_is_drawn():
    _run, (journeys, _total, lanes, labels) = diagram("enterprise-proxy", name="laptop-open")
    assert lanes[:3] == ["laptop-open", "partner-open-proxy", "partner-open-gw"]
    assert labels["partner-open-proxy"] == "partner-open-proxy\n(proxy)"
    connect = next(j for j in journeys if j.label.startswith("HTTP CONNECT"))
    assert [(leg.src, leg.dst) for leg in connect.legs] == [("laptop-open",
                                                             "partner-open-proxy")]
    out = [j for j in journeys if j.legs[0].src == "partner-open-proxy"
           and j.legs[-1].dst == "da-server"]
    assert out and out[0].label == "TCP S"   # the proxy's own connection, through its NAT
    assert [leg.dst for leg in out[0].legs] == ["partner-open-gw", "da-server"]


def test_the_nls_lookup_sent_into_the_tunnel_is_drawn_as_a_dns_exchange_inside_ip_https():
    """The NLS's name without its NRPT exemption (B8): the diagram shows the DNS query for
    it inside IP-HTTPS, its answer, and the NLS's TLS handshake through the tunnel."""
    _run, (journeys, *_rest) = diagram("nrpt-nls-not-exempt", limit=60, duration=1)
    labels = [j.label for j in journeys]
    plain = labels.index("DNS query nls.corp.contoso.com")   # first, the hotel's DNS
    inner = labels.index("IP-HTTPS DNS query nls.corp.contoso.com")
    assert plain < labels.index("HTTP POST /IPHTTPS") < inner
    assert labels[inner + 1] == "IP-HTTPS DNS answer nls.corp.contoso.com"
    assert "IP-HTTPS TLS ClientHello" in labels[inner:]
    query = journeys[inner]
    assert query.legs[-1].dst == "da-server"
