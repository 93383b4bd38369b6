"""Values a scenario may hold but that no real network or laptop has: a sub-second NAT
timeout (``udp_timeout: 30ms`` for 30 s), a one-way latency of minutes, a link that loses
most packets. They are valid, so the run goes on; the loader says each on stderr with its
file and place (:class:`sim.errors.ImplausibleValue`), as a compiler warns.

Each check names what real devices do, so that the reader can tell a typo from an experiment.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv6Network
from typing import TYPE_CHECKING, Any

from sim.directaccess.pac import problems as pac_problems

if TYPE_CHECKING:
    from sim.scenario.model import Scenario

Finding = tuple[tuple[Any, ...], str]

# below these a NAT timeout is not one any NAT has: RFC 4787 REQ-5 asks at least 2 min for
# UDP (and NATs in the field keep 30 s to 5 min); RFC 5382 REQ-5 2 h 4 min for established
# TCP and 4 min for transitory
NAT_TIMEOUT_FLOOR = 1.0
# one way: a geostationary satellite hop is about 0.27 s
LATENCY_CEILING = 2.0
LOSS_CEILING = 0.5
BANDWIDTH_FLOOR = 1000.0          # bit/s: slower than a 1990s modem
CLIENT_TIMER_FLOOR = 1.0          # checks and refreshes more than once a second
DURATION_FLOOR = 1.0


def _seconds(value: float) -> str:
    return f"{value * 1000:g} ms" if value < 1 else f"{value:g} s"


def _sub_second(value: float, what: str, real: str) -> str:
    return (f"{_seconds(value)} is implausibly short for {what}: {real}; a duration is in "
            "seconds unless it says otherwise (30 is 30 s, 30ms is 0.03 s)")


def implausible(s: Scenario) -> Iterator[Finding]:
    """Each implausible value of ``s``: its place (a key path) and what is odd about it."""
    if s.duration < DURATION_FLOOR:
        yield ("duration",), _sub_second(s.duration, "a run",
                                         "nothing qualifies in under a second")
    for name, net in s.networks.items():
        if net.dns is not None and net.dns.pac is not None:
            for problem in pac_problems(net.dns.pac):
                yield ("networks", name, "dns", "pac"), problem
        yield from _nat(("networks", name, "nat"), net.nat)
        yield from _link(("networks", name, "link"), net.link)
        for value in _values(net.access_latency):
            if value > LATENCY_CEILING:
                yield (("networks", name, "access_latency"),
                       f"a last mile of {_seconds(value)} one way is implausible "
                       f"(more than {_seconds(LATENCY_CEILING)})")
    yield from _names(s.server)
    for i, c in enumerate(s.clients):
        for key, what, real in (
                ("connectivity_probe", "the connectivity assistant's checks",
                 "DCA polls every 30 s"),
                ("teredo_refresh", "Teredo's refresh", "RFC 4380 refreshes every 30 s")):
            value = getattr(c, key)
            if value is not None and value < CLIENT_TIMER_FLOOR:
                yield ("clients", i, key), _sub_second(value, what, real)
        if c.start_at >= s.duration:
            yield (("clients", i, "start_at"),
                   f"the laptop starts at {_seconds(c.start_at)}, when the run "
                   f"({_seconds(s.duration)}) is over: it does nothing")


def _nat(loc: tuple, nat: Any) -> Iterator[Finding]:
    if nat is None:
        return
    for key, real in (("udp_timeout", "NATs keep UDP bindings 30 s to 5 min (RFC 4787 asks "
                       "at least 2 min)"),
                      ("tcp_established_timeout", "RFC 5382 asks at least 2 h 4 min"),
                      ("tcp_transitory_timeout", "RFC 5382 asks at least 4 min")):
        value = getattr(nat, key, None)
        if value is not None and value < NAT_TIMEOUT_FLOOR:
            yield (*loc, key), _sub_second(value, "a NAT timeout", real)


def _link(loc: tuple, link: Any) -> Iterator[Finding]:
    if link is None:
        return
    for value in _values(link.latency):
        if value > LATENCY_CEILING:
            yield ((*loc, "latency"), f"{_seconds(value)} one way is implausible for a link "
                   f"(a geostationary satellite hop is about 270 ms)")
            break
    if link.jitter > LATENCY_CEILING:
        yield (*loc, "jitter"), f"a jitter of {_seconds(link.jitter)} is implausible"
    if link.loss > LOSS_CEILING:
        yield ((*loc, "loss"), f"a link that loses {link.loss:.0%} of its packets carries "
               "almost nothing (a probability from 0 to 1: 0.01 is 1 %)")
    if link.bandwidth is not None and link.bandwidth < BANDWIDTH_FLOOR:
        yield ((*loc, "bandwidth"), f"{link.bandwidth:g} bit/s is slower than any modem "
               "(bandwidth is in bits per second: 10 Mbit/s is 10000000)")


def _values(value: Any) -> list[float]:
    """A duration or a range's bounds (None: none)."""
    if value is None:
        return []
    return [float(v) for v in value] if isinstance(value, list | tuple) else [float(value)]


WELL_KNOWN_PREFIX = IPv6Network("64:ff9b::/96")   # RFC 6052 §2.1


def _names(server: Any) -> Iterator[Finding]:
    """NRPT rules that do not say what their writer meant, and a NAT64 prefix that may not
    carry private addresses."""
    rules = server.nrpt if isinstance(server.nrpt, list) else []
    seen: dict[str, int] = {}
    for i, rule in enumerate(rules):
        space = rule.namespace
        if space != "." and not space.startswith(".") and rule.dns is not None:
            yield (("server", "nrpt", i, "namespace"),
                   f"{space} without a leading dot is that one name only, and sends nothing "
                   f"under it to its DNS servers; a suffix is written .{space}")
        if space in seen:
            yield (("server", "nrpt", i, "namespace"),
                   f"{space} is also rule {seen[space]}: that first rule decides, this one is "
                   "never used")
        seen.setdefault(space, i)
    if server.nat64_prefix == WELL_KNOWN_PREFIX:
        yield (("server", "nat64_prefix"),
               "the well-known prefix 64:ff9b::/96 must not carry private IPv4 addresses "
               "(RFC 6052 §3.1), and an intranet's are; use a prefix of your own, as the "
               "DirectAccess wizard does")
