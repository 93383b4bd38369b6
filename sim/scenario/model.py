"""The scenario file's schema (design.md "Scenario file"): typed, frozen, no unknown keys.

Cross-references (a client's network, an issuer, a root, an event's client) are checked here
with the nearest valid name suggested, so that a typo is one readable message, not a failure
halfway through a run.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from sim.net.internet import reserved_reason

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string like "20ms", "90s", "5m", "2h", "3d", "1h30m"."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 5m")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        parts = re.fullmatch(r"((\d+(\.\d+)?)(ms|[smhd]))+", text)
        if parts:
            return float(sum(float(n) * _UNITS[u] for n, _f, u in
                             re.findall(r"(\d+(\.\d+)?)(ms|[smhd])", text)))
        try:
            return parse_duration(float(text))
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a duration (seconds, or e.g. 20ms, 90s, 5m, 2h, 3d)")


Duration = Annotated[float, BeforeValidator(parse_duration)]


def duration_range(what: str) -> Any:
    """A validator of a duration, or of ``[low, high]`` from which each site, laptop or guest
    draws its own (homes and hotels are not all as far from the Internet, guests do not all
    log in at once)."""
    def parse(value: Any) -> Any:
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError(f"a {what} range is [low, high], e.g. [5ms, 40ms]")
            low, high = parse_duration(value[0]), parse_duration(value[1])
            if low > high:
                raise ValueError(f"{what} range [{value[0]}, {value[1]}]: low is above high")
            return [low, high]
        return parse_duration(value)
    return parse


DurationRange = Annotated[float | list[float], BeforeValidator(duration_range("latency"))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def suggest(name: str, valid: Any) -> str:
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class RefError(ValueError):
    """A cross-reference that names nothing; ``loc`` is the dotted path of the bad value."""

    def __init__(self, loc: tuple, message: str) -> None:
        super().__init__(message)
        self.loc = loc


# -- server ------------------------------------------------------------------------------
Method = Literal["6to4", "teredo", "iphttps"]


class TerminatorSpec(Strict):
    """An SSL-offloading load balancer or ADC that terminates IP-HTTPS's TLS (unsupported:
    F1). Without the NULL suites it fails Windows 8+ clients after ClientHello; demanding a
    client certificate, it fails clients without one after ServerHello (0x80090326)."""

    null_suites: bool = False
    client_certificate: Literal["none", "required"] = "none"


class IpHttpsSpec(Strict):
    url: str = "https://da.contoso.com:443/IPHTTPS"
    certificate: str = "iphttps"
    send_root: bool = True   # N1: Schannel servers commonly send the root too
    # the URL's name has an address in public DNS; false: it does not resolve from outside
    # (0x2af9, KB 3056560 — in the field, usually an NRPT rule that sends it inside)
    public_dns: bool = True
    terminator: TerminatorSpec | None = None

    @field_validator("url")
    @classmethod
    def _https(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"{v!r} is not an https:// URL with a host name")
        return v


class ServerSpec(Strict):
    ipv4: list[IPv4Address] = Field(default_factory=lambda: [
        IPv4Address("131.107.0.1"), IPv4Address("131.107.0.2")], min_length=1, max_length=2)
    ipv6: list[IPv6Address] = Field(default_factory=list)
    behind_nat: bool = False
    methods: list[Method] = Field(default_factory=lambda: ["6to4", "teredo", "iphttps"],
                                  min_length=1)
    force_tunnel: bool = False
    iphttps: IpHttpsSpec = Field(default_factory=IpHttpsSpec)
    nls: str = "https://nls.corp.contoso.com/"


# -- PKI ---------------------------------------------------------------------------------
KeyAlgorithm = Literal["rsa2048", "rsa3072", "rsa4096", "p256", "p384"]
Date = dt.datetime | dt.date


class CrlSpec(Strict):
    url: str
    published: Literal["outside", "inside"] = "outside"


class AuthoritySpec(Strict):
    issuer: str | None = None
    subject: str | None = None
    key: KeyAlgorithm = "rsa2048"
    not_before: Date | None = None
    not_after: Date | None = None
    path_length: int | None = Field(default=None, ge=0)
    crl: CrlSpec | None = None
    aia: str | None = None


class CertificateSpec(Strict):
    issuer: str | None = None
    subject: str | None = None
    san: list[str] | None = None
    eku: list[Literal["server_auth", "client_auth"]] = Field(
        default_factory=lambda: ["server_auth"])
    key: KeyAlgorithm = "rsa2048"
    not_before: Date | None = None
    not_after: Date | None = None
    revoked: bool = False
    chain_file: str | None = None

    @model_validator(mode="after")
    def _source(self) -> CertificateSpec:
        if self.chain_file is None and self.issuer is None:
            raise ValueError("give an issuer (an authority under pki.authorities) or a "
                             "chain_file")
        return self


class PkiSpec(Strict):
    authorities: dict[str, AuthoritySpec] = Field(default_factory=dict)
    certificates: dict[str, CertificateSpec] = Field(default_factory=dict)


# -- networks ----------------------------------------------------------------------------
BehaviourName = Literal["endpoint-independent", "address-dependent",
                        "address-and-port-dependent"]
Preset = Literal["full-cone", "restricted-cone", "port-restricted-cone", "symmetric",
                 "linux-masquerade", "linux-masquerade-random-fully"]


class NatSpec(Strict):
    preset: Preset | None = None
    mapping: BehaviourName | None = None
    filtering: BehaviourName | None = None
    port_allocation: Literal["preservation", "sequential", "random"] | None = None
    udp_timeout: Duration | None = Field(default=None, gt=0)
    tcp_established_timeout: Duration | None = Field(default=None, gt=0)
    tcp_transitory_timeout: Duration | None = Field(default=None, gt=0)
    hairpinning: bool | None = None
    proto41_passthrough: bool | None = None


_RULE = re.compile(r"^(?:(allow|deny|reject)\s+)?(?:(out|in|both)\s+)?"
                   r"(any|ip|tcp|udp|icmp|icmpv6|proto41|proto/\d+)(?:/(\d+)(?:-(\d+))?)?$")


def _rule(value: Any) -> str:
    if not isinstance(value, str) or not _RULE.match(value.strip().lower()):
        raise ValueError(f"{value!r} is not a firewall rule (e.g. tcp/443, udp/53, udp, "
                         "icmp, proto/41, tcp/8000-8100)")
    m = _RULE.match(value.strip().lower())
    for port in (m.group(4), m.group(5)):
        if port is not None and not 0 <= int(port) <= 65535:
            raise ValueError(f"{value!r}: port {port} is out of range")
    return value.strip().lower()


Rule = Annotated[str, BeforeValidator(_rule)]


def _ordered_rule(value: Any) -> str:
    rule = _rule(value)
    if not rule.startswith(("allow ", "deny ", "reject ")):
        raise ValueError(f"{value!r}: a rule of the ordered list starts with what it does "
                         "(allow, deny or reject), e.g. 'allow udp/53'")
    return rule


OrderedRule = Annotated[str, BeforeValidator(_ordered_rule)]


class FirewallSpec(Strict):
    default: Literal["allow", "deny"] = "allow"
    inbound_default: Literal["allow", "deny"] = "deny"
    # first match wins: the ordered rules, then every deny, every reject, every allow
    rules: list[OrderedRule] = Field(default_factory=list)
    allow: list[Rule] = Field(default_factory=list)
    deny: list[Rule] = Field(default_factory=list)
    reject: list[Rule] = Field(default_factory=list)


class ProxySpec(Strict):
    auth: Literal["none", "basic", "ntlm", "negotiate"] = "none"
    inspect_tls: bool = False
    ca: str | None = None
    port: int = Field(default=8080, ge=1, le=65535)

    @model_validator(mode="after")
    def _ca(self) -> ProxySpec:
        if self.inspect_tls and not self.ca:
            raise ValueError("inspect_tls needs ca: the authority that re-signs certificates")
        return self


class PortalSpec(Strict):
    # when the guests log in: a time (the whole site at once), or a range from which each
    # guest draws its own delay after it joins the site (they do not all log in at once)
    login_at: Annotated[float | list[float],
                        BeforeValidator(duration_range("login_at"))] | None = None
    # TCP 443 before login: dropped, reset, or intercepted by the portal's own TLS server
    # presenting ``certificate`` (a name under pki.certificates), so the client's chain check
    # fails on the portal's chain
    https: Literal["drop", "reset", "intercept"] = "drop"
    certificate: str | None = None

    @model_validator(mode="after")
    def _certificate(self) -> PortalSpec:
        if self.https == "intercept" and not self.certificate:
            raise ValueError("https: intercept needs certificate: the portal's certificate, "
                             "a name under pki.certificates")
        return self


class LinkSpec(Strict):
    latency: DurationRange = 0.010
    jitter: Duration = 0.0
    loss: float = Field(default=0.0, ge=0.0, le=1.0)
    bandwidth: float | None = Field(default=None, gt=0)


class NetworkSpec(Strict):
    addressing: Literal["private", "shared", "pseudo-public", "public"] | None = None
    prefix: IPv4Network | None = None
    nat: NatSpec | None = None
    firewall: FirewallSpec | None = None
    proxy: ProxySpec | None = None
    captive_portal: PortalSpec | None = None
    ipv6: Literal["none", "native"] = "none"
    upstream: str = "internet"
    corporate: bool = False
    link: LinkSpec | None = None
    # Each laptop's own last mile (one way, between it and the gateway): a duration, or a
    # range from which each laptop draws its own, as a carrier's subscribers or the phones
    # behind one mobile NAT are not all as far from it. None: the LAN's 1 ms.
    access_latency: DurationRange | None = None
    # How many of a fleet's laptops share one instance (a "site") of this network: 1 for
    # homes and tethered phones (each laptop its own router), a few dozen for hotels. None:
    # every laptop of a shard on this network shares its one instance (a carrier's NAT).
    laptops_per_site: int | None = Field(default=None, ge=1, le=240)


# -- clients and events ------------------------------------------------------------------
Profile = Literal["windows7", "windows8.1", "windows10", "windows10-1803", "windows10-1803+",
                  "windows11"]


def member_name(fleet: str, index: int, count: int) -> str:
    """The name of a fleet's member ``index`` (from 0): ``laptop-00042``; a lone client keeps
    the fleet's name."""
    return fleet if count == 1 else f"{fleet}-{index + 1:05d}"


class ClientSpec(Strict):
    name: str
    network: str | None = None
    mix: dict[str, float] | None = None
    profile: Profile = "windows10"
    teredo: Literal["default", "client", "enterpriseclient", "disabled"] = "default"
    sixtofour: Literal["default", "enabled", "disabled"] = "default"
    iphttps: Literal["default", "enabled", "disabled"] = "default"
    strong_crl_required: bool | None = None
    roots: list[str] = Field(default_factory=list)
    intermediates: list[str] = Field(default_factory=list)
    roots_file: str | None = None
    count: int = Field(default=1, ge=1, le=1_000_000)
    start_at: Duration = 0.0
    # DCA/NCA corporate-resource check through the tunnel while connected; DCA 1.5 polls
    # every 30 s (Microsoft Edge Access blog, "DirectAccess Connectivity Assistant polling
    # interval"). None: no probes.
    connectivity_probe: Duration | None = Field(default=None, gt=0)
    # Group Policy "Set Teredo Refresh Rate" (ADMX-TCPIP): how often Teredo refreshes its
    # NAT mapping; None: 30 s (RFC 4380 §5.2.5). Longer than a NAT's UDP timeout loses it.
    teredo_refresh: Duration | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _where(self) -> ClientSpec:
        if (self.network is None) == (self.mix is None):
            raise ValueError("give either network or mix (shares of networks)")
        shares = (self.mix or {}).values()
        if self.mix is not None and (any(v < 0 for v in shares) or abs(sum(shares) - 1) > 1e-6):
            raise ValueError("mix shares must be non-negative and sum to 1")
        return self


Action = Literal["import_root", "remove_root", "gpo_deploy_root", "gpo_refresh", "roam",
                 "portal_login", "nat_reboot", "server_down", "server_up", "nls_down",
                 "nls_up", "restart_ip_helper"]
NEEDS = {"import_root": ("client", "authority"), "remove_root": ("client", "authority"),
         "gpo_deploy_root": ("authority",), "roam": ("client", "network"),
         "portal_login": ("network",), "nat_reboot": ("network",)}


# actions on clients: ``client`` names one laptop, a fleet (all its members) or, left out,
# every laptop; ``share`` keeps each of them with that probability
ON_CLIENTS = ("import_root", "remove_root", "gpo_deploy_root", "gpo_refresh", "roam",
              "portal_login", "restart_ip_helper")


class EventSpec(Strict):
    at: Duration
    action: Action
    client: str | None = None
    authority: str | None = None
    network: str | None = None
    # each named laptop takes part with this probability, drawn from a stream of its own (so
    # the same laptops take part whatever the shards): 10 % of a fleet visits the office
    share: float | None = Field(default=None, gt=0, le=1)
    # a roam that ends: after this long each laptop goes back to the network and site it
    # came from (an office visit, a night in a hotel), unless it has roamed again since
    back_after: Duration | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _fields(self) -> EventSpec:
        missing = [f for f in NEEDS.get(self.action, ()) if getattr(self, f) is None]
        if missing:
            raise ValueError(f"action {self.action} needs {' and '.join(missing)}")
        if self.share is not None and self.action not in ON_CLIENTS:
            raise ValueError(f"share applies to actions on clients ({', '.join(ON_CLIENTS)}), "
                             f"not to {self.action}")
        if self.back_after is not None and self.action != "roam":
            raise ValueError(f"back_after applies to roam, not to {self.action}")
        uses = {*NEEDS.get(self.action, ()), *(("client",) if self.action in ON_CLIENTS
                                                else ())}
        for key in ("client", "authority", "network"):
            if getattr(self, key) is not None and key not in uses:
                raise ValueError(f"{key} does not apply to {self.action}"
                                 + (f" (it takes {' and '.join(sorted(uses))})" if uses
                                    else " (it takes no other key)"))
        return self


# -- the scenario ------------------------------------------------------------------------
class Scenario(Strict):
    name: str
    description: str = ""
    seed: int = 1
    start: dt.datetime = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
    duration: Duration = Field(default=300.0, gt=0)
    server: ServerSpec = Field(default_factory=ServerSpec)
    pki: PkiSpec = Field(default_factory=PkiSpec)
    networks: dict[str, NetworkSpec]
    clients: list[ClientSpec] = Field(min_length=1)
    events: list[EventSpec] = Field(default_factory=list)
    # A fleet bigger than this is simulated as independent shards of this many laptops, each
    # with its own instance of every network and its own public addresses (sim.fleet.shards);
    # raise it to keep more laptops behind one NAT. None: the default (250).
    shard_size: int | None = Field(default=None, ge=1, le=1_000_000)
    base_dir: str | None = Field(default=None, exclude=False)

    @field_validator("start")
    @classmethod
    def _aware(cls, v: dt.datetime) -> dt.datetime:
        return v if v.tzinfo is not None else v.replace(tzinfo=dt.UTC)

    def _behind_nat(self, network: str) -> bool:
        """Whether a NAT stands between ``network`` and the Internet (its own or an
        upstream's; a corporate network has one by default). Upstream loops are refused
        before this is asked."""
        cur = network
        while cur != "internet":
            spec = self.networks[cur]
            if spec.nat is not None or spec.corporate:
                return True
            cur = spec.upstream
        return False

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        nets = set(self.networks)
        auths = set(self.pki.authorities)
        certs = set(self.pki.certificates) | auths

        def check(loc: tuple, name: str | None, valid: set, what: str) -> None:
            if name is not None and name not in valid:
                raise RefError(loc, f"unknown {what} {name!r}{suggest(name, valid)}")

        for n, spec in self.networks.items():
            if "#" in n:
                raise RefError(("networks", n), f"network name {n!r}: '#' is kept for naming "
                               "a network's sites (home#2)")
            if spec.upstream != "internet":
                check(("networks", n, "upstream"), spec.upstream, nets, "network")
            if spec.proxy is not None and spec.proxy.ca:
                check(("networks", n, "proxy", "ca"), spec.proxy.ca, auths, "authority")
            if spec.captive_portal is not None:
                check(("networks", n, "captive_portal", "certificate"),
                      spec.captive_portal.certificate, set(self.pki.certificates),
                      "certificate")
        # the addresses that face the Internet: behind an edge NAT, the NAT's (the first)
        facing = self.server.ipv4[:1] if self.server.behind_nat else self.server.ipv4
        for i, addr in enumerate(facing):
            reason = reserved_reason(addr)
            if reason is not None:
                raise RefError(("server", "ipv4", i), (
                    f"{reason}: the DirectAccess server's Internet-facing addresses must be "
                    "public"))
        uplinks = {spec.upstream for spec in self.networks.values()}
        for n, spec in self.networks.items():
            if spec.laptops_per_site is None:
                continue
            why = ("a corporate network is one site" if spec.corporate else
                   "its sites share one private prefix, so it needs a nat" if spec.nat is None
                   else "other networks name it as their upstream, which would be ambiguous"
                   if n in uplinks else None)
            if why:
                raise RefError(("networks", n, "laptops_per_site"),
                               f"network {n!r} cannot have laptops_per_site: {why}")
        for n in self.networks:   # upstream chains must end at the Internet
            seen, cur = [n], self.networks[n].upstream
            while cur != "internet":
                if cur in seen:
                    raise RefError(("networks", n, "upstream"),
                                   f"upstream networks form a loop ({' → '.join(seen)})")
                seen.append(cur)
                cur = self.networks[cur].upstream
        for n, spec in self.networks.items():
            if spec.addressing in ("shared", "pseudo-public") and not self._behind_nat(n):
                raise RefError(("networks", n, "addressing"), (
                    f"network {n!r}: {spec.addressing} addressing is for the inside of a "
                    "carrier's NAT, and no NAT stands between this network and the "
                    "Internet: give it (or its upstream) a nat, or use public addressing"))
        for n, spec in self.pki.authorities.items():
            check(("pki", "authorities", n, "issuer"), spec.issuer, auths, "authority")
        for n in self.pki.authorities:   # issuers must end at a root
            seen, cur = [n], self.pki.authorities[n].issuer
            while cur is not None:
                if cur in seen:
                    raise RefError(("pki", "authorities", n, "issuer"),
                                   f"issuers form a loop ({' → '.join([*seen, cur])})")
                seen.append(cur)
                cur = self.pki.authorities[cur].issuer
        for n, spec in self.pki.certificates.items():
            check(("pki", "certificates", n, "issuer"), spec.issuer, auths, "authority")
        if "iphttps" in self.server.methods:
            check(("server", "iphttps", "certificate"), self.server.iphttps.certificate,
                  certs, "certificate")
        names = {c.name for c in self.clients}   # a fleet's name means all its members

        def member(name: str) -> bool:   # laptop-00042 of a fleet of at least 42
            for c in self.clients:
                index = name.removeprefix(f"{c.name}-")
                if c.count > 1 and index != name and index.isdigit() and \
                        1 <= int(index) <= c.count and \
                        member_name(c.name, int(index) - 1, c.count) == name:
                    return True
            return False
        seen_names: set[str] = set()
        for i, c in enumerate(self.clients):   # every laptop's name names one laptop
            if c.name in seen_names or (c.count == 1 and member(c.name)):
                raise RefError(("clients", i, "name"), (
                    f"client name {c.name!r} is already taken"
                    + ("" if c.name in seen_names else " by a member of a fleet")
                    + ": netsh, explain and events name a laptop by it"))
            seen_names.add(c.name)
        for i, c in enumerate(self.clients):
            check(("clients", i, "network"), c.network, nets, "network")
            for net in c.mix or {}:
                check(("clients", i, "mix", net), net, nets, "network")
            for j, r in enumerate(c.roots):
                check(("clients", i, "roots", j), r, certs, "authority")
            for j, r in enumerate(c.intermediates):
                check(("clients", i, "intermediates", j), r, certs, "authority")
        for i, e in enumerate(self.events):
            if e.client is None or member(e.client):
                continue
            for c in self.clients:   # a member number the fleet does not have
                if c.count > 1 and e.client.removeprefix(f"{c.name}-").isdigit():
                    raise RefError(("events", i, "client"), (
                        f"unknown client {e.client!r}: fleet {c.name!r} has {c.count} "
                        f"members, {member_name(c.name, 0, c.count)} to "
                        f"{member_name(c.name, c.count - 1, c.count)}"))
            check(("events", i, "client"), e.client, names, "client")
            check(("events", i, "authority"), e.authority, certs, "authority")
            check(("events", i, "network"), e.network, nets, "network")
        return self
