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
