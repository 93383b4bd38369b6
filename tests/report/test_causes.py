"""explain names the device and the mechanism of every drop and expiry (issue 19, Why 4): a
NAT binding that expires before the DNS reply comes back is the NAT's doing, not "the network
blocks or loses DNS"; behind NAT444 the symmetric NAT is named."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.errors import ImplausibleValue

SCEN = Path(__file__).resolve().parents[2] / "scenarios"


def explain(scenario: str, *sets: str) -> str:
    args = ["explain", str(SCEN / scenario)]
    for s in sets:
        args += ["--set", s]
    out = CliRunner().invoke(cli, args)
    assert out.exit_code == 0, out.output
    return out.output


def test_a_binding_that_expires_before_the_dns_reply_is_the_nats():
    with pytest.warns(ImplausibleValue, match="30 ms is implausibly short"):
        text = explain("home-nat.yaml", "networks.home.nat.udp_timeout=30ms",
                       "networks.home.link.latency=40ms")
    failure = text.split("(0x2afa): da.contoso.com: the DNS server did not answer")[1]
    dropped, remedy = failure.splitlines()[1:3]
    assert dropped.startswith("      the network dropped its packets at home-nat (binding "
                              "expiry): the reply to 198.51.100.10:57006 came 0.1 s after its "
                              "udp binding from 10.1.0.10:57006 expired (t=20.0 s, 30 ms idle)")
    assert remedy.startswith("      remedy: The NAT home-nat forgets an idle UDP binding")
    assert "the network blocks or loses DNS" not in text


def test_the_symmetric_nat_of_a_nat444_chain_is_named():
    text = explain("cgn-shared-100-64.yaml", "networks.carrier.nat={preset: symmetric}")
    assert ("the NAT that maps per destination: carrier-nat mapped 100.64.0.10:57007 to "
            "198.51.100.10:62885 towards 131.107.0.1:3544 and to 198.51.100.10:54259 towards "
            "131.107.0.2:3544") in text
    assert "home-nat mapped" not in text   # the home router keeps one mapping
    assert "remedy: The NAT carrier-nat gives a new external port for each destination" in text


def test_a_nat_that_drops_protocol_41_is_named_with_its_mechanism():
    text = explain("cgn-pseudo-public.yaml")
    assert "the network dropped its packets at mobile-nat (not translated): protocol 41" \
        in text
