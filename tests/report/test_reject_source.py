"""A firewall that rejects answers from its own address (issue 19, Why 2): the ICMP
administratively-prohibited error in a dissected pcap comes from the hotel gateway's inside
address, not from the DirectAccess server the datagram was for."""

from pathlib import Path

from click.testing import CliRunner

from sim.cli import cli

from .test_pcap import needs_tshark, tshark

HOTEL = str(Path(__file__).resolve().parents[2] / "scenarios" / "hotel-udp-blocked.yaml")
REJECT = "networks.hotel.firewall={default: allow, reject: [udp/3544]}"


@needs_tshark
def test_the_icmp_error_of_a_reject_carries_the_firewalls_address(tmp_path):
    scenario = HOTEL
    out = tmp_path / "reject.pcap"
    res = CliRunner().invoke(cli, ["pcap", scenario, "--set", REJECT, "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = tshark(out, "ip.src", "ip.dst", "icmp.code", "udp.dstport",
                  display_filter="icmp.type == 3")
    assert rows, "no ICMP destination unreachable dissected"
    for src, dst, code, quoted_port in rows:
        # outer header first, then the quoted datagram's (laptop -> server)
        assert src.split(",") == ["10.1.0.1", "10.1.0.10"]
        assert dst.split(",") == ["10.1.0.10", "131.107.0.1"]
        assert code == "13" and quoted_port == "3544"


def test_explain_names_the_rejecting_firewall_once():
    scenario = HOTEL
    text = CliRunner().invoke(cli, ["explain", scenario, "--set", REJECT]).output
    assert ("the network dropped its packets at hotel-firewall (filtering): outbound udp "
            "10.1.0.10:57007 -> 131.107.0.1:3544 rejected by rule 'reject udp/3544'") in text
    assert "firewall hotel-firewall:" not in text   # the device is named once


def native_v6_reject():
    """A laptop with native IPv6 behind a firewall that rejects UDP; it sends one datagram
    to a public IPv6 server. Captured on the laptop's NIC."""
    from ipaddress import ip_address

    from sim.net.firewall import Firewall
    from sim.net.kernel import Kernel
    from sim.net.topology import Topology
    from sim.report.capture import Capture

    k = Kernel(seed=1)
    topo = Topology(k)
    net = topo.add_network("home", "203.0.113.0/24", outside=["198.51.100.2"], routed=True,
                           prefix6="2001:db8:77::/64")
    net.gateway.add_stage(Firewall.from_spec(k, "home-fw", {"reject": ["udp"]}))
    laptop = net.add_host("laptop")
    topo.add_public_host("server", ["2001:db8:99::1"])
    errors = []
    laptop.icmp_listener = errors.append
    iface = laptop.interfaces[0]
    capture = iface.capture = Capture(iface)
    laptop.udp_open(50000).sendto(ip_address("2001:db8:99::1"), 3544)
    k.run()
    return errors, capture


def test_an_ipv6_reject_is_icmpv6_administratively_prohibited_from_the_firewall():
    from ipaddress import ip_address

    (err,) = native_v6_reject()[0]
    assert err.proto == 58 and err.payload.code == 1          # RFC 4443 §3.1
    assert err.src == ip_address("2001:db8:77::1")            # the gateway's inside address
    assert (err.inner.sport, err.inner.dport) == (50000, 3544)
    from sim.report.pcap import encode

    assert len(bytes(encode(err))) == err.size == 40 + 8 + 48   # the whole datagram quoted


@needs_tshark
def test_the_icmpv6_error_dissects_with_the_firewalls_source(tmp_path):
    from datetime import UTC, datetime

    from sim.report.pcap import write_pcap

    _, capture = native_v6_reject()
    out = tmp_path / "v6.pcap"
    write_pcap(str(out), capture, datetime(2026, 6, 1, tzinfo=UTC))
    rows = tshark(out, "ipv6.src", "icmpv6.code", "udp.dstport",
                  display_filter="icmpv6.type == 1")
    # outer source the firewall's, then the quoted datagram's source (the laptop)
    assert rows == [["2001:db8:77::1,2001:db8:77::720a", "1", "3544"]]
    assert not tshark(out, "frame.number", display_filter="_ws.malformed")
