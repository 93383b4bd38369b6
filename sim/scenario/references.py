"""Cross-references of a scenario, checked once it is typed: names that must name something
(a client's network, an issuer, a root, an event's client), chains that must end (upstream
networks, issuers), and the combinations a network cannot have. Each check is one function;
each failure is one :class:`RefError` naming the key, with the nearest valid name suggested.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.config import suggest
from sim.net.internet import reserved_reason

if TYPE_CHECKING:
    from sim.scenario.model import Scenario


class RefError(ValueError):
    """A cross-reference that names nothing; ``loc`` is the dotted path of the bad value."""

    def __init__(self, loc: tuple, message: str) -> None:
        super().__init__(message)
        self.loc = loc


def check_references(scenario: Scenario) -> None:
    """Every check, in the order a reader of the file meets the keys."""
    for check in (_network_names, _network_links, _server_addresses, _sites, _upstream_loops,
                  _carrier_addressing, _issuers, _issuer_loops, _certificates,
                  _client_names, _client_links, _ipsec, _events):
        check(scenario)


def _known(loc: tuple, name: str | None, valid: set, what: str) -> None:
    if name is not None and name not in valid:
        many = "authorities" if what == "authority" else f"{what}s"
        hint = suggest(name, valid) or (f" (the {many}: {', '.join(sorted(valid))})"
                                        if valid else f" (the scenario has no {what})")
        raise RefError(loc, f"unknown {what} {name!r}{hint}")


def _network_names(s: Scenario) -> None:
    for n in s.networks:
        if "#" in n:
            raise RefError(("networks", n), f"network name {n!r}: '#' is kept for naming a "
                           "network's sites (home#2)")


def _network_links(s: Scenario) -> None:
    """A network's upstream, its proxy's CA and its portal's certificate exist."""
    nets, auths = set(s.networks), set(s.pki.authorities)
    for n, spec in s.networks.items():
        if spec.upstream != "internet":
            _known(("networks", n, "upstream"), spec.upstream, nets, "network")
        if spec.proxy is not None and spec.proxy.ca:
            _known(("networks", n, "proxy", "ca"), spec.proxy.ca, auths, "authority")
        if spec.captive_portal is not None:
            _known(("networks", n, "captive_portal", "certificate"),
                   spec.captive_portal.certificate, set(s.pki.certificates), "certificate")


def _server_addresses(s: Scenario) -> None:
    for i, addr in enumerate(s.server.facing):
        reason = reserved_reason(addr)
        if reason is not None:
            raise RefError(("server", "ipv4", i), (
                f"{reason}: the DirectAccess server's Internet-facing addresses must be "
                "public"))


def _sites(s: Scenario) -> None:
    """``laptops_per_site`` only where each site can be an instance of its own."""
    uplinks = {spec.upstream for spec in s.networks.values()}
    for n, spec in s.networks.items():
        if spec.laptops_per_site is None:
            continue
        why = ("a corporate network is one site" if spec.corporate else
               "its sites share one private prefix, so it needs a nat" if spec.nat is None
               else "other networks name it as their upstream, which would be ambiguous"
               if n in uplinks else None)
        if why:
            raise RefError(("networks", n, "laptops_per_site"),
                           f"network {n!r} cannot have laptops_per_site: {why}")


def _upstream_loops(s: Scenario) -> None:
    """Upstream chains end at the Internet."""
    for n in s.networks:
        seen, cur = [n], s.networks[n].upstream
        while cur != "internet":
            if cur in seen:
                raise RefError(("networks", n, "upstream"),
                               f"upstream networks form a loop ({' → '.join(seen)})")
            seen.append(cur)
            cur = s.networks[cur].upstream


def _carrier_addressing(s: Scenario) -> None:
    for n, spec in s.networks.items():
        if spec.addressing in ("shared", "pseudo-public") and not s.behind_nat(n):
            raise RefError(("networks", n, "addressing"), (
                f"network {n!r}: {spec.addressing} addressing is for the inside of a "
                "carrier's NAT, and no NAT stands between this network and the Internet: "
                "give it (or its upstream) a nat, or use public addressing"))


def _issuers(s: Scenario) -> None:
    auths = set(s.pki.authorities)
    for n, spec in s.pki.authorities.items():
        _known(("pki", "authorities", n, "issuer"), spec.issuer, auths, "authority")


def _issuer_loops(s: Scenario) -> None:
    """Issuers end at a root."""
    authorities = s.pki.authorities
    for n in authorities:
        seen, cur = [n], authorities[n].issuer
        while cur is not None:
            if cur in seen:
                raise RefError(("pki", "authorities", n, "issuer"),
                               f"issuers form a loop ({' → '.join([*seen, cur])})")
            seen.append(cur)
            cur = authorities[cur].issuer


def _certificates(s: Scenario) -> None:
    auths = set(s.pki.authorities)
    for n, spec in s.pki.certificates.items():
        _known(("pki", "certificates", n, "issuer"), spec.issuer, auths, "authority")
    if "iphttps" in s.server.methods:
        _known(("server", "iphttps", "certificate"), s.server.iphttps.certificate,
               set(s.pki.certificates) | auths, "certificate")


def _is_member(s: Scenario, name: str) -> bool:
    """``laptop-00042`` of a fleet of at least 42."""
    return any(c.count > 1 and c.index_of(name) is not None for c in s.clients)


def _client_names(s: Scenario) -> None:
    """Every laptop's name names one laptop (netsh, explain and events name it)."""
    seen: set[str] = set()
    for i, c in enumerate(s.clients):
        if c.name in seen or (c.count == 1 and _is_member(s, c.name)):
            raise RefError(("clients", i, "name"), (
                f"client name {c.name!r} is already taken"
                + ("" if c.name in seen else " by a member of a fleet")
                + ": netsh, explain and events name a laptop by it"))
        seen.add(c.name)


def _client_links(s: Scenario) -> None:
    nets = set(s.networks)
    certs = set(s.pki.certificates) | set(s.pki.authorities)
    for i, c in enumerate(s.clients):
        _known(("clients", i, "network"), c.network, nets, "network")
        for net in c.mix or {}:
            _known(("clients", i, "mix", net), net, nets, "network")
        for key in ("roots", "intermediates"):
            for j, r in enumerate(getattr(c, key)):
                _known(("clients", i, key, j), r, certs, "authority")


def _ipsec(s: Scenario) -> None:
    """The IPsec root and the computer certificates' issuers exist; Windows 7 is allowed
    only with computer certificates (A8)."""
    ipsec, auths = s.server.ipsec, set(s.pki.authorities)
    if ipsec is not None:
        _known(("server", "ipsec", "root"), ipsec.root, auths, "authority")
        if s.server.allow_windows7 and ipsec.authentication == "kerberos_proxy":
            raise RefError(("server", "allow_windows7"), (
                "allowing Windows 7 clients needs computer certificates: set "
                "server.ipsec.authentication: certificates"))
    for i, c in enumerate(s.clients):
        cert = c.computer_certificate
        if not isinstance(cert, str) and cert.issuer is not None:
            _known(("clients", i, "computer_certificate", "issuer"), cert.issuer, auths,
                   "authority")


def _events(s: Scenario) -> None:
    nets, names = set(s.networks), {c.name for c in s.clients}
    certs = set(s.pki.certificates) | set(s.pki.authorities)
    for i, e in enumerate(s.events):
        if e.client is not None and not _is_member(s, e.client):
            _event_client(s, i, e.client, names)
        _known(("events", i, "authority"), e.authority, certs, "authority")
        _known(("events", i, "network"), e.network, nets, "network")
        missing = missing_device(s, e)
        if missing:
            raise RefError(("events", i, "network"), missing)


# the actions that act on a device of the network they name, and the key of the network's
# settings that makes that device
DEVICES = {"portal_login": ("captive_portal", "captive portal",
                            "portal_login logs in to a network's captive portal"),
           "nat_reboot": ("nat", "NAT", "nat_reboot power-cycles a network's NAT")}


def missing_device(s: Scenario, event) -> str | None:
    """Why ``event`` cannot act: it names a network without the device it acts on (a
    portal_login where no portal asks for one); None if it can."""
    device = DEVICES.get(event.action)
    if device is None or event.network not in s.networks:
        return None
    key, what, does = device
    if getattr(s.networks[event.network], key) is not None:
        return None
    return f"network {event.network!r} has no {what} (networks.{event.network}.{key}): {does}"


def _event_client(s: Scenario, i: int, name: str, names: set[str]) -> None:
    for c in s.clients:   # a member number the fleet does not have
        if c.count > 1 and name.removeprefix(f"{c.name}-").isdigit():
            raise RefError(("events", i, "client"), (
                f"unknown client {name!r}: fleet {c.name!r} has {c.count} members, "
                f"{c.member(0)} to {c.member(c.count - 1)}"))
    _known(("events", i, "client"), name, names, "client")
