"""The scenario file's schema (design.md "Scenario file"): typed, frozen, no unknown keys.

The schema is made of the devices' own configuration types (``NatSettings``,
``FirewallConfig``, ``ProxyConfig``, ``PortalConfig``, ``UplinkConfig``), so a key is defined,
defaulted and checked once, and the builder (``sim.scenario.build``) reads typed settings.
Cross-references (a client's network, an issuer, a root, an event's client) are checked by
``sim.scenario.references`` with the nearest valid name suggested, so that a typo is one
readable message, not a failure halfway through a run.
"""

from __future__ import annotations

import datetime as dt
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from sim.config import Duration, DurationRange, Strict, one_word, parse_duration, suggest
from sim.directaccess.dns64 import NAT64_PREFIX
from sim.directaccess.ipsec.config import ComputerCertificateSpec, IntranetSpec, IpsecConfig
from sim.directaccess.ipsec.opens import target as open_target
from sim.directaccess.nrpt import NrptRuleConfig
from sim.directaccess.proxysettings import ClientProxyConfig
from sim.net.firewall import FirewallConfig
from sim.net.landns import LanDnsConfig
from sim.net.natsettings import NatSettings
from sim.net.portal import PortalConfig
from sim.net.proxy import ProxyConfig
from sim.net.tls import TerminatorConfig
from sim.net.topology import UplinkConfig
from sim.pki.spec import PUBLIC_ROOT, PkiSpec, public_pki
from sim.scenario.events import ACTIONS
from sim.scenario.references import RefError, check_references

__all__ = ["ClientSpec", "EventSpec", "IpHttpsSpec", "NetworkSpec", "RefError", "Scenario",
           "ServerSpec", "Strict", "parse_duration", "suggest"]

# laptops per shard of a fleet (``shard_size:``); see sim.fleet.shards
# (small shards keep a process's working set in cache: per laptop, shards of 250 cost ~25 %
# less CPU than shards of 1,000, and smaller ones no less)
DEFAULT_SHARD_SIZE = 250

# -- server ------------------------------------------------------------------------------
Method = Literal["6to4", "teredo", "iphttps"]


class IpHttpsSpec(Strict):
    url: str = "https://da.contoso.com:443/IPHTTPS"
    certificate: str = "iphttps"
    send_root: bool = True   # N1: Schannel servers commonly send the root too
    # the URL's name has an address in public DNS; false: it does not resolve from outside
    # (0x2af9, KB 3056560 — in the field, usually an NRPT rule that sends it inside)
    public_dns: bool = True
    terminator: TerminatorConfig | None = None

    @field_validator("url")
    @classmethod
    def _https(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"{v!r} is not an https:// URL with a host name")
        return v

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 443


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
    # the IPsec tunnels above the transition (design.md "Above the tunnel"); None: not
    # modelled, and a client is connected once its transition interface reaches the intranet
    ipsec: IpsecConfig | None = None
    allow_windows7: bool = False   # A8: a 2012+ deployment refuses Windows 7 by default
    # the Name Resolution Policy Table clients apply outside (B1-B7): rules, or "wizard" for
    # the wizard's (B3); None: not modelled, names resolve through the network's DNS
    # wherever the laptop is
    nrpt: list[NrptRuleConfig] | Literal["wizard"] | None = None
    # the server's DNS64 synthesises AAAA answers from A records in nat64_prefix, and its
    # NAT64 translates what clients send there to IPv4 (C1, C2); false: neither
    dns64: bool = True
    nat64_prefix: IPv6Network = NAT64_PREFIX

    @field_validator("nrpt", mode="before")
    @classmethod
    def _nrpt_word(cls, value: object) -> object:
        return one_word(value, "wizard", "the Remote Access wizard's rules, or a list of "
                        "{namespace, dns} rules")

    @field_validator("nat64_prefix")
    @classmethod
    def _prefix96(cls, value: IPv6Network) -> IPv6Network:
        if value.prefixlen != 96:
            raise ValueError(f"{value}: the NAT64 prefix must be a /96 (the IPv4 address "
                             "fills its last 32 bits, RFC 6052 §2.2)")
        return value

    @property
    def nls_host(self) -> str:
        return urlsplit(self.nls).hostname or ""

    @property
    def facing(self) -> list[IPv4Address]:
        """The addresses that face the Internet: behind an edge NAT, the NAT's (the first)."""
        return self.ipv4[:1] if self.behind_nat else self.ipv4


# -- networks ----------------------------------------------------------------------------
Addressing = Literal["private", "shared", "pseudo-public", "public"]
# a corporate network without a nat of its own reaches the Internet through this one
CORPORATE_NAT = NatSettings(preset="linux-masquerade")


class NetworkSpec(Strict):
    addressing: Addressing | None = None
    prefix: IPv4Network | None = None
    nat: NatSettings | None = None
    firewall: FirewallConfig | None = None
    proxy: ProxyConfig | None = None
    captive_portal: PortalConfig | None = None
    ipv6: Literal["none", "native"] = "none"
    upstream: str = "internet"
    corporate: bool = False
    link: UplinkConfig = Field(default_factory=UplinkConfig)
    # Each laptop's own last mile (one way, between it and the gateway): a duration, or a
    # range from which each laptop draws its own, as a carrier's subscribers or the phones
    # behind one mobile NAT are not all as far from it. None: the LAN's 1 ms.
    access_latency: DurationRange | None = None
    # How many of a fleet's laptops share one instance (a "site") of this network: 1 for
    # homes and tethered phones (each laptop its own router), a few dozen for hotels. None:
    # every laptop of a shard on this network shares its one instance (a carrier's NAT).
    laptops_per_site: int | None = Field(default=None, ge=1, le=240)
    # the network's own DNS server, with the suffix DHCP hands out and the PAC file its WPAD
    # server serves (sim.net.landns); None: its laptops use the public resolver
    dns: LanDnsConfig | None = None

    @property
    def edge_nat(self) -> NatSettings | None:
        """The NAT at this network's edge: its own, or a corporate network's default."""
        return CORPORATE_NAT if self.nat is None and self.corporate else self.nat

    @property
    def effective_addressing(self) -> Addressing:
        """Behind a NAT the inside is private unless the scenario says otherwise."""
        return self.addressing or ("private" if self.edge_nat else "public")


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
    # above the tunnel (used when server.ipsec is set): the computer certificate ("auto":
    # auto-enrolled from the CA server.ipsec.root names; "none": none), when the user logs on
    # ("none": nobody does), Windows Firewall, and how far the clock is off (Kerberos)
    computer_certificate: Literal["auto", "none"] | ComputerCertificateSpec = "auto"
    logon_at: Duration | Literal["none"] = 0.0
    windows_firewall: bool = True
    clock_skew: Duration = 0.0
    # what the user opens once DirectAccess is connected (with server.ipsec): URLs and UNC
    # paths, by name or by address; the result says which answered (C1-C3)
    opens: list[str] = Field(default_factory=list)
    # the machine's proxy settings that IP-HTTPS uses (sim.directaccess.proxysettings);
    # None: the proxy of the network the laptop is on, if it has one
    proxy: ClientProxyConfig | None = None

    @field_validator("opens")
    @classmethod
    def _targets(cls, value: list[str]) -> list[str]:
        for text in value:
            open_target(text)
        return value

    @field_validator("windows_firewall", mode="before")
    @classmethod
    def _on_off(cls, v: object) -> object:
        return {"on": True, "off": False}.get(v, v) if isinstance(v, str) else v

    @field_validator("logon_at", mode="before")
    @classmethod
    def _never(cls, v: object) -> object:
        return "none" if v is None else v

    @model_validator(mode="after")
    def _where(self) -> ClientSpec:
        if (self.network is None) == (self.mix is None):
            raise ValueError("give either network or mix (shares of networks)")
        shares = (self.mix or {}).values()
        if self.mix is not None and (any(v < 0 for v in shares) or abs(sum(shares) - 1) > 1e-6):
            raise ValueError("mix shares must be non-negative and sum to 1")
        return self

    def member(self, index: int) -> str:
        """The name of member ``index`` (from 0)."""
        return member_name(self.name, index, self.count)

    def index_of(self, name: str) -> int | None:
        """Which member ``name`` is (``laptop-00042`` → 41), or None if none of this fleet's
        (the one parser of a member's name)."""
        if self.count == 1:
            return 0 if name == self.name else None
        number = name.removeprefix(f"{self.name}-")
        if number == name or not number.isdigit() or not 1 <= int(number) <= self.count:
            return None
        return int(number) - 1 if self.member(int(number) - 1) == name else None


Action = Literal["import_root", "remove_root", "gpo_deploy_root", "gpo_refresh", "roam",
                 "portal_login", "nat_reboot", "server_down", "server_up", "nls_down",
                 "nls_up", "restart_ip_helper", "logon", "clear_proxy_cache",
                 "winhttp_reset_proxy"]
# the actions on clients: ``client`` names one laptop, a fleet (all its members) or, left
# out, every laptop; ``share`` keeps each of them with that probability
ON_CLIENTS = tuple(name for name, act in ACTIONS.items() if act.on_clients)


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
        act = ACTIONS[self.action]
        missing = [f for f in act.needs if getattr(self, f) is None]
        if missing:
            raise ValueError(f"action {self.action} needs {' and '.join(missing)}")
        if self.share is not None and not act.on_clients:
            raise ValueError(f"share applies to actions on clients ({', '.join(ON_CLIENTS)}), "
                             f"not to {self.action}")
        if self.back_after is not None and self.action != "roam":
            raise ValueError(f"back_after applies to roam, not to {self.action}")
        uses = {*act.needs, *(("client",) if act.on_clients else ())}
        for key in ("client", "authority", "network"):
            if getattr(self, key) is not None and key not in uses:
                raise ValueError(f"{key} does not apply to {self.action}"
                                 + (f" (it takes {' and '.join(sorted(uses))})" if uses
                                    else " (it takes no other key)"))
        return self


def _trusting(client: object, root: str) -> object:
    """A client entry (as written) with ``root`` in its Trusted Root store."""
    if not isinstance(client, dict):
        return client
    roots = client.get("roots", [])
    if not isinstance(roots, list) or root in roots:
        return client
    return {**client, "roots": [*roots, root]}


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
    # the hosts behind the DA server (with server.ipsec); None: the default intranet
    intranet: IntranetSpec | None = None
    # A fleet bigger than this is simulated as independent shards of this many laptops, each
    # with its own instance of every network and its own public addresses (sim.fleet.shards);
    # raise it to keep more laptops behind one NAT. None: the default (250).
    shard_size: int | None = Field(default=None, ge=1, le=1_000_000)
    base_dir: str | None = Field(default=None, exclude=False)

    @model_validator(mode="before")
    @classmethod
    def _public_pki(cls, data: object) -> object:
        """No ``pki:``: the IP-HTTPS certificate comes from a public CA whose root every
        client trusts (``sim.pki.spec.public_pki``), so that ``name``, ``networks`` and
        ``clients`` are a scenario that runs."""
        if not isinstance(data, dict) or "pki" in data:
            return data
        server = data.get("server")
        iphttps = server.get("iphttps") if isinstance(server, dict) else None
        iphttps = iphttps if isinstance(iphttps, dict) else {}
        url = iphttps.get("url", IpHttpsSpec.model_fields["url"].default)
        host = urlsplit(url).hostname if isinstance(url, str) else None
        certificate = iphttps.get("certificate", "iphttps")
        if not host or not isinstance(certificate, str):
            return data   # the server's own checks report it
        clients = data.get("clients")
        if isinstance(clients, list):
            clients = [_trusting(c, PUBLIC_ROOT) for c in clients]
        return {**data, "pki": public_pki(host, certificate),
                **({"clients": clients} if clients is not None else {})}

    @field_validator("start")
    @classmethod
    def _aware(cls, v: dt.datetime) -> dt.datetime:
        return v if v.tzinfo is not None else v.replace(tzinfo=dt.UTC)

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        check_references(self)
        return self

    @property
    def all_networks(self) -> dict[str, NetworkSpec]:
        """The networks, with a corporate network ``corp`` added if the file has none."""
        if any(n.corporate for n in self.networks.values()):
            return self.networks
        return {**self.networks, "corp": NetworkSpec(corporate=True)}

    def behind_nat(self, network: str) -> bool:
        """Whether a NAT stands between ``network`` and the Internet (its own or an
        upstream's; a corporate network has one by default). Upstream loops are refused
        before this is asked."""
        cur = network
        while cur != "internet":
            spec = self.networks[cur]
            if spec.edge_nat is not None:
                return True
            cur = spec.upstream
        return False

    @property
    def laptops(self) -> int:
        """How many laptops the scenario has, fleets counted."""
        return sum(c.count for c in self.clients)

    @property
    def laptops_per_shard(self) -> int:
        return self.shard_size or DEFAULT_SHARD_SIZE

    @property
    def shard_count(self) -> int:
        """How many shards the fleet is cut into (one at least)."""
        return max(1, -(-self.laptops // self.laptops_per_shard))

    def fleet_index(self, name: str) -> int | None:
        """The position of laptop ``name`` in the whole fleet (``laptop-00042`` → its index
        among all the scenario's laptops), or None."""
        at = 0
        for spec in self.clients:
            index = spec.index_of(name)
            if index is not None:
                return at + index
            at += spec.count
        return None
