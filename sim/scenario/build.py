"""From a validated scenario to a running simulation: topology, PKI, server, clients, events.

Nothing here decides an outcome. The builder only places devices with the settings the
scenario gives (addresses, NAT behaviour, firewall rules, proxies, stores); the clients then
try their methods and the packets decide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from ipaddress import IPv4Address, ip_address
from typing import Any
from urllib.parse import urlsplit

from sim.directaccess import services
from sim.directaccess.client import DirectAccessClient
from sim.directaccess.profiles import profile as windows_profile
from sim.directaccess.result import ClientResult, RunResult
from sim.directaccess.server import IPHTTPS_PREFIX, DirectAccessServer
from sim.errors import InputError
from sim.net.dns import DnsServer
from sim.net.firewall import Firewall
from sim.net.kernel import Kernel, Stream, long_lived_build
from sim.net.nat import Nat, nat_config
from sim.net.packet import TCP
from sim.net.portal import CaptivePortal
from sim.net.portforward import PortForward
from sim.net.proxy import HttpProxy
from sim.net.tls import TlsTerminator
from sim.net.topology import AccessNetwork, PrefixFull, Topology
from sim.pki import CertStore, Hierarchy, MachineStores, load_certificates
from sim.pki.errors import PkiInputError
from sim.scenario import events as scenario_events
from sim.scenario.laptop import SimClient
from sim.scenario.model import member_name
from sim.scenario.plan import PUBLIC_DNS, PUBLIC_WEB, AddressPlan
from sim.transition.iphttps import IpHttpsClient, IpHttpsServer

DC_NAME = services.DC_NAME


class SourceExempt:
    """Lets one host's own traffic bypass a firewall stage (an explicit proxy's connections
    out are not filtered by the network's firewall, design.md)."""

    def __init__(self, stage: Any, sources: set) -> None:
        self.stage = stage
        self.sources = sources

    def attach(self, gateway: Any) -> None:
        if hasattr(self.stage, "attach"):
            self.stage.attach(gateway)

    def outbound(self, pkt: Any) -> Any:
        return pkt if pkt.src in self.sources else self.stage.outbound(pkt)

    def inbound(self, pkt: Any) -> Any:
        return pkt if pkt.dst in self.sources else self.stage.inbound(pkt)


def document(scenario: Any) -> dict[str, Any]:
    """The scenario as plain data (a validated Scenario, or already a dict)."""
    if hasattr(scenario, "model_dump"):
        return scenario.model_dump(mode="python", exclude_none=True)
    return dict(scenario)


def _order_networks(networks: dict[str, Any]) -> list[str]:
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        up = networks[name].get("upstream") or "internet"
        if up != "internet":
            visit(up)
        order.append(name)

    for name in networks:
        visit(name)
    return order


class Simulation:
    """One run of a scenario: build it, run it, read its result."""

    def __init__(self, scenario: Any, seed: int | None = None, trace: bool = False,
                 shard: int = 0) -> None:
        """``shard``: which slice of a fleet bigger than its ``shard_size`` this run carries
        (``sim.fleet.shards``); shard 0 of a scenario that fits in one is all of it."""
        self.scenario = scenario
        self.doc = doc = document(scenario)
        self.seed = doc.get("seed", 1) if seed is None else seed
        self.start: dt.datetime = doc.get("start") or dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
        self.duration = float(doc.get("duration", 300))
        self.shard = shard
        self.shards = shard_count(doc)
        if not 0 <= shard < self.shards:
            raise InputError(f"shard {shard}: the fleet has shards 0 to {self.shards - 1}")
        self.kernel = Kernel(self.seed, trace=trace, streams=f"shard{shard}/" if shard else "")
        self.topo = Topology(self.kernel)
        self.plan = AddressPlan(shard)
        self.clients: list[SimClient] = []
        self._store_templates: dict[int, tuple[CertStore, CertStore]] = {}
        self._nls_roots: CertStore | None = None
        self.networks: dict[str, AccessNetwork] = {}
        self.dns_for: dict[str, IPv4Address] = {}
        self.pki = Hierarchy.from_spec(doc.get("pki") or {}, self.start, seed=self.seed,
                                       base_dir=doc.get("base_dir"))
        with self._room():
            self._build_public_services()
            self._build_networks()
            self._build_corporate_services()
            self._build_server()
            self._build_clients()
        self._schedule_events()

    @contextmanager
    def _room(self) -> Iterator[None]:
        """A network whose prefix cannot hold its hosts is the scenario's fault: say which
        key to change."""
        try:
            yield
        except PrefixFull as full:
            kind = full.network.split("#")[0].removeprefix(f"shard{self.shard}/")
            specs = getattr(self, "network_specs", {})
            given = kind in specs and specs[kind].get("prefix")
            where = f"networks.{kind}.prefix" if given else f"networks.{kind}"
            what = "" if given else " (the default for its addressing; set a larger prefix)"
            raise InputError(f"{where}: {full.prefix}{what} has room for {full.room} hosts, "
                             f"and network {full.network} needs more") from None

    # -- time --------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        """The simulated wall-clock time (certificate validity, CRL freshness)."""
        return self.start + dt.timedelta(seconds=self.kernel.now)

    # -- public services ---------------------------------------------------------------
    def _url_host(self, url: str) -> str:
        return urlsplit(url).hostname or ""

    def _build_public_services(self) -> None:
        topo = self.topo
        self.public_dns_host = topo.add_public_host("public-dns", [PUBLIC_DNS])
        self.public_web_host = topo.add_public_host("public-web", [PUBLIC_WEB])
        self.public_records: dict[str, list] = {}
        self.inside_records: dict[str, list] = {}
        for url, (_name, where) in {**self.pki.crl_urls(), **self.pki.aia_urls()}.items():
            if where == "outside":
                self.public_records.setdefault(self._url_host(url), []).append(PUBLIC_WEB)

    # -- networks ----------------------------------------------------------------------
    def _build_networks(self) -> None:
        nets = self.doc.get("networks") or {}
        if not any(n.get("corporate") for n in nets.values()):
            nets = {**nets, "corp": {"corporate": True}}
        self.network_specs = nets
        self.sites: dict[str, list[AccessNetwork]] = {}
        self._prefixes: dict[str, Any] = {}
        self._placed: dict[str, int] = {}
        for name in _order_networks(nets):
            self.networks[name] = self._build_network(name, nets[name], 0)
            self.sites[name] = [self.networks[name]]

    def place(self, network: str) -> AccessNetwork:
        """The site of ``network`` that the next laptop joins: its only instance, or, with
        ``laptops_per_site``, the last site until it is full, then a new one (a home of its
        own, another hotel) with its own edge address and NAT."""
        sites = self.sites[network]
        per = self.network_specs[network].get("laptops_per_site")
        placed = self._placed.get(network, 0)
        self._placed[network] = placed + 1
        if per is None:
            return sites[0]
        index = placed // per
        if index == len(sites):
            sites.append(self._build_network(network, self.network_specs[network], index))
        return sites[index]

    def _build_network(self, name: str, spec: dict[str, Any], site: int) -> AccessNetwork:
        """Site ``site`` of network ``name`` (site 0 bears the network's name, site 1
        ``name#2``, …): every site has the same private prefix, as every home has its
        192.168.1.0/24, behind its own edge address."""
        k = self.kernel
        corporate = bool(spec.get("corporate"))
        nat_spec = spec.get("nat")
        if corporate and nat_spec is None:
            nat_spec = {"preset": "linux-masquerade"}
        addressing = spec.get("addressing") or ("private" if nat_spec else "public")
        prefix = self._prefixes.get(name)
        if prefix is None:
            prefix = self._prefixes[name] = spec.get("prefix") or self.plan.lan(addressing)
            if addressing == "pseudo-public":
                self.topo.internet.declare_pseudo_public(prefix)
        kind = name
        if site:
            name = f"{name}#{site + 1}"
        upstream = spec.get("upstream") or "internet"
        if upstream == "internet":
            outside = [self.plan.edge()]
            up = None
        else:
            up = self.networks[upstream]
            outside = [up.next_address()]
        link = spec.get("link") or {}
        prefix6 = self.plan.native_v6() if spec.get("ipv6") == "native" else None
        net = self.topo.add_network(
            name, prefix, outside=outside, upstream=None if up is None else upstream,
            latency=self._latency(name, link.get("latency", 0.010)), prefix6=prefix6,
            routed=nat_spec is None,
            link_options={k2: link[k2] for k2 in ("jitter", "loss", "bandwidth") if k2 in link})
        self.dns_for.setdefault(kind, PUBLIC_DNS)
        stages: list[Any] = []
        exempt: set = set()
        if spec.get("proxy"):
            self._build_proxy(net, spec["proxy"], exempt)
        if spec.get("firewall"):
            fw = Firewall.from_spec(k, f"{name}-firewall", self._firewall_spec(spec["firewall"]))
            stages.append(SourceExempt(fw, exempt) if exempt else fw)
        if spec.get("captive_portal") is not None:
            stages.append(self._build_portal(net, spec["captive_portal"]))
        if nat_spec is not None:
            stages.append(Nat(k, f"{name}-nat", outside, nat_config(self._nat_spec(nat_spec))))
        for stage in stages:
            net.gateway.add_stage(stage)
        net.spec = spec
        return net

    def _access_delay(self, network: str, laptop: str) -> float:
        """The laptop's own last mile on ``network`` (``access_latency``), from a stream
        named after the network and the laptop."""
        latency = self.network_specs[network].get("access_latency") or 0.0
        return drawn(latency, lambda: self.kernel.once(f"access:{network}:{laptop}"))

    def _latency(self, site: str, latency: float | list[float]) -> float:
        """The uplink latency of one site, from the site's own random stream (so adding a
        site never changes another's)."""
        return drawn(latency, lambda: self.kernel.rng(f"latency:{site}"))

    @staticmethod
    def _nat_spec(spec: dict[str, Any]) -> dict[str, Any]:
        out = dict(spec)
        for key in ("mapping", "filtering"):
            if key in out:
                out[key] = str(out[key]).replace("_", "-")
        out.pop("pool_size", None)
        return out

    @staticmethod
    def _firewall_spec(spec: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in spec.items():
            if isinstance(value, list):
                out[key] = [v if isinstance(v, str) else _rule_text(v) for v in value]
            else:
                out[key] = value
        return out

    def _build_proxy(self, net: AccessNetwork, spec: dict[str, Any], exempt: set) -> None:
        host = net.add_host(f"{net.name}-proxy")
        host.dns_servers = [PUBLIC_DNS]
        inspector = None
        if spec.get("inspect_tls"):
            inspector = ResigningInspector(self.pki.authority(spec["ca"]))
        net.proxy = HttpProxy(host, spec.get("port", 8080), spec.get("auth", "none"),
                              inspector)
        net.proxy_address = (host.interfaces[0].address, spec.get("port", 8080))
        exempt.add(host.interfaces[0].address)

    def _build_portal(self, net: AccessNetwork, spec: dict[str, Any]) -> Any:
        chain = self.pki.chain(spec["certificate"]) if spec.get("certificate") else None
        portal = CaptivePortal(self.kernel, f"{net.name}-portal", https=spec.get("https", "drop"),
                               certificate=chain)
        login_at = spec.get("login_at")
        if isinstance(login_at, list):   # each guest in its own time: see _guest_arrives
            portal.login_range = login_at
        elif login_at is not None:
            portal.schedule_login(float(login_at))
        net.portal = portal
        return portal

    def _guest_arrives(self, site: AccessNetwork, network: str, laptop: str, host: Any) -> None:
        """A laptop joined ``site``: where the portal's guests log in each in their own time
        (``login_at: [low, high]``), this one logs in that long after it arrived, drawn from a
        stream named after the laptop and the network."""
        portal = getattr(site, "portal", None)
        span = getattr(portal, "login_range", None)
        if span is None:
            return
        after = drawn(span, lambda: self.kernel.once(f"login:{network}:{laptop}"))
        portal.schedule_login(self.kernel.env.now + after, site.address_of(host))

    # -- the corporate network ---------------------------------------------------------
    def _build_corporate_services(self) -> None:
        corp_name = next(n for n in self.networks if self.network_specs[n].get("corporate"))
        corp = self.corp = self.networks[corp_name]
        self.corp_dns_host = corp.add_host("corp-dns")
        self.nls_host = corp.add_host("nls")
        self.dc_host = corp.add_host("dc")
        self.corp_web_host = corp.add_host("corp-web")
        nls_url = (self.doc.get("server") or {}).get("nls") or "https://nls.corp.contoso.com/"
        self.nls_url = nls_url
        self.inside_records[self._url_host(nls_url)] = [self.nls_host.interfaces[0].address]
        self.inside_records[DC_NAME] = [self.dc_host.interfaces[0].address]
        for url, (_n, where) in {**self.pki.crl_urls(), **self.pki.aia_urls()}.items():
            host = self._url_host(url)
            if where == "inside":
                self.inside_records.setdefault(host, []).append(
                    self.corp_web_host.interfaces[0].address)
            else:
                self.inside_records.setdefault(host, []).append(PUBLIC_WEB)
        for name in self.networks:
            if self.network_specs[name].get("corporate"):
                self.dns_for[name] = self.corp_dns_host.interfaces[0].address

    # -- the DirectAccess server -------------------------------------------------------
    def _build_server(self) -> None:
        spec = self.doc.get("server") or {}
        ipv4 = [ip_address(a) for a in spec.get("ipv4") or ["131.107.0.1", "131.107.0.2"]]
        ipv6 = [ip_address(a) for a in spec.get("ipv6") or []]
        methods = set(spec.get("methods") or ["6to4", "teredo", "iphttps"])
        if spec.get("behind_nat"):
            edge = self.topo.add_network("da-edge", "10.254.0.0/24", outside=ipv4[:1])
            host = edge.add_host("da-server")
            host.add_address(host.interfaces[0], f"{ipv6[0]}/128") if ipv6 else None
            edge.gateway.add_stage(PortForward(TCP, ipv4[0], self._iphttps_port(spec),
                                               host.interfaces[0].address))
            server_ipv4 = [host.interfaces[0].address]
            public_ipv4 = ipv4[:1]
        else:
            host = self.topo.add_public_host("da-server", [*ipv4, *ipv6])
            server_ipv4, public_ipv4 = ipv4, ipv4
        self.server_host = host
        iphttps_spec = spec.get("iphttps") or {}
        url = iphttps_spec.get("url", "https://da.contoso.com:443/IPHTTPS")
        if iphttps_spec.get("public_dns", True):
            self.public_records.setdefault(self._url_host(url), []).append(public_ipv4[0])
        iphttps = None
        if "iphttps" in methods:
            cert_name = iphttps_spec.get("certificate", "iphttps")
            chain = self.pki.chain(cert_name, send_root=iphttps_spec.get("send_root", True))
            term = iphttps_spec.get("terminator")
            terminator = None if term is None else TlsTerminator.adc(
                term.get("null_suites", False), term.get("client_certificate") == "required")
            iphttps = IpHttpsServer(host, services.listen, chain, url, IPHTTPS_PREFIX,
                                    terminator)
        self.server = DirectAccessServer(host, server_ipv4, methods, ipv6=ipv6,
                                         public_ipv4=public_ipv4, iphttps=iphttps,
                                         nls_url=self.nls_url,
                                         force_tunnel=bool(spec.get("force_tunnel")))
        self.policy = self.server.policy()
        self._start_services()

    def _start_services(self) -> None:
        """DNS views, the CRL/AIA web servers inside and outside, and the NLS."""
        self.public_dns = DnsServer(self.public_dns_host, self.public_records)
        self.corp_dns = DnsServer(self.corp_dns_host, {**self.public_records,
                                                       **self.inside_records})
        for host in (self.public_dns_host, self.public_web_host, self.corp_web_host):
            host.dns_servers = [PUBLIC_DNS]
        urls = {**self.pki.crl_urls(), **self.pki.aia_urls()}
        outside = {u for u, (_n, where) in urls.items() if where == "outside"}
        self.public_web = services.web_server(
            self.public_web_host, lambda url: self.pki.serve(url, self.now())
            if url in outside else None)
        self.corp_web = services.web_server(
            self.corp_web_host, lambda url: self.pki.serve(url, self.now()))
        nls_chain = self._nls_chain()
        self.nls = services.HttpsSite(self.nls_host, nls_chain)

    def _nls_chain(self) -> list:
        """The NLS certificate: ``pki.certificates.nls`` if the scenario has one, else one the
        simulation issues from the scenario's first root (clients are assumed to trust the NLS
        unless the scenario says otherwise)."""
        if "nls" in self.pki.certificates:
            return self.pki.chain("nls")
        return self._default_nls_chain()

    def _default_nls_chain(self) -> list:
        from sim.pki import Authority

        begin = self.start - dt.timedelta(days=365)
        ca = Authority.root("dasim-nls-ca", "CN=Corporate NLS CA", seed=0, not_before=begin,
                            not_after=self.start + dt.timedelta(days=3650))
        host = self._url_host(self.nls_url)
        leaf = ca.issue(host, san=[host], eku=["server_auth"], not_before=begin,
                        not_after=self.start + dt.timedelta(days=730))
        self.nls_trusted_root = ca.certificate
        return [leaf, ca.certificate]

    nls_trusted_root = None

    @staticmethod
    def _iphttps_port(spec: dict[str, Any]) -> int:
        url = (spec.get("iphttps") or {}).get("url", "https://da.contoso.com/IPHTTPS")
        return urlsplit(url).port or 443

    # -- clients -----------------------------------------------------------------------
    def _client_entries(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(name, network, spec) for every client of this shard, fleets expanded."""
        size = shard_size(self.doc)
        first, end = self.shard * size, (self.shard + 1) * size
        out = []
        at = 0   # index of a spec's first member in the whole fleet
        for spec in self.doc.get("clients") or []:
            count = int(spec.get("count", 1))
            lo, hi = max(first - at, 0), min(end - at, count)
            if lo < hi:
                mix = spec.get("mix")
                networks = _apportioned(tuple(sorted(mix.items())), count)[lo:hi] if mix \
                    else [spec["network"]] * (hi - lo)
                for i, network in enumerate(networks, lo):
                    out.append((member_name(spec["name"], i, count), network, spec))
            at += count
        return out

    def _stores(self, spec: dict[str, Any]) -> MachineStores:
        """The client's stores, sharing their initial contents with every member of its
        fleet (copy on write: an import on one laptop changes only that laptop)."""
        made = self._store_templates.get(id(spec))
        if made is None:
            roots = [self.pki.certificate(a) for a in spec.get("roots") or []]
            inter = [self.pki.certificate(a) for a in spec.get("intermediates") or []]
            if spec.get("roots_file"):
                index = next(i for i, c in enumerate(self.doc["clients"]) if c is spec)
                try:
                    roots += load_certificates(spec["roots_file"])
                except PkiInputError as exc:
                    raise InputError(f"clients.{index}.roots_file: {exc}") from None
            made = self._store_templates[id(spec)] = (
                CertStore.of("Root", roots), CertStore.of("CA", inter))
        root, ca = made
        return MachineStores(root=root.like(), ca=ca.like())

    def _build_clients(self) -> None:
        for name, network, spec in self._client_entries():
            if network not in self.networks:
                raise InputError(f"client {name}: unknown network {network!r}")
            net = self.place(network)
            host = net.add_host(name, access_delay=self._access_delay(network, name))
            self._guest_arrives(net, network, name, host)
            host.dns_servers = [self.dns_for[network]]
            prof = windows_profile(spec.get("profile", "windows10")).with_overrides(
                strong_crl_required=spec.get("strong_crl_required"))
            stores = self._stores(spec)
            client = SimClient(name, network, host, None, stores,  # type: ignore[arg-type]
                               float(spec.get("start_at", 0)), net.name)
            teredo = spec.get("teredo", "default")
            nls_stores = stores
            if self.nls_trusted_root is not None:
                if self._nls_roots is None:
                    self._nls_roots = CertStore.of("Root", [self.nls_trusted_root])
                nls_stores = MachineStores(root=self._nls_roots.like(), ca=stores.ca)
            nls_verify = services.chain_verifier(host, nls_stores, self.now, False)
            da = DirectAccessClient(
                host, self.policy, prof,
                nls_probe=services.nls_prober(self.nls_url, nls_verify,
                                              services.connector(prof)),
                iphttps_factory=self._iphttps_factory(client),
                managed_probe=services.domain_prober(),
                teredo_type=None if teredo == "default" else teredo,
                sixtofour=spec.get("sixtofour", "default"),
                iphttps=spec.get("iphttps", "default"),
                probe_interval=spec.get("connectivity_probe"),
                teredo_refresh=spec.get("teredo_refresh"))
            client.da = da
            self.clients.append(client)
            if client.started_at:
                self.kernel.env.process(self._start_later(client))
            else:
                da.start()

    def roam(self, client: SimClient, network: str, site: str | None = None) -> None:
        """Move a laptop to another network (to its site ``site``, else where ``place`` puts
        it): its NIC leaves the old LAN, joins the new one with a new address, and the
        DirectAccess client starts over (F1.20)."""
        if network not in self.networks:
            raise InputError(f"roam: unknown network {network!r}")
        with self._room():
            self._move(client, network, site)

    def _move(self, client: SimClient, network: str, site: str | None) -> None:
        host = client.host
        old = host.interfaces[0]
        old.link.detach(old)
        for addr in list(old.addresses):
            host.remove_address(old, addr)
        host.routes.remove_interface(old)
        host.interfaces.remove(old)
        into = next((n for n in self.sites[network] if n.name == site), None) \
            if site is not None else None
        site_net = into or self.place(network)
        site_net.add_host(client.name, host=host,
                          access_delay=self._access_delay(network, client.name))
        self._guest_arrives(site_net, network, client.name, host)
        host.interfaces.insert(0, host.interfaces.pop())
        host.dns_servers = [self.dns_for[network]]
        host.__dict__.pop("dns_cache", None)
        client.network, client.site = network, site_net.name
        client.da.restart(f"network change: roamed to network {network}")

    def _start_later(self, client: SimClient):
        yield self.kernel.env.timeout(client.started_at)
        client.da.start()

    def _iphttps_factory(self, client: SimClient):
        def make(da: DirectAccessClient) -> IpHttpsClient:
            # the proxy of the site the laptop is on now (it may have roamed since)
            proxy = getattr(self.topo.networks[client.site], "proxy_address", None)
            return IpHttpsClient(
                client.host, self.policy.iphttps_url,
                verify=services.chain_verifier(client.host, client.stores, self.now,
                                               da.profile.crl_enforced, proxy),
                resolve=services.resolve, connect=services.connector(da.profile),
                proxy=proxy)
        return make

    # -- events ------------------------------------------------------------------------
    def _schedule_events(self) -> None:
        for index, event in enumerate(self.doc.get("events") or []):
            self.kernel.env.process(scenario_events.run_event(self, event, index))

    # -- run ---------------------------------------------------------------------------
    def run(self) -> RunResult:
        with long_lived_build():
            self.kernel.run(until=self.duration)
        return self.result()

    def result(self) -> RunResult:
        return RunResult(
            scenario=self.doc.get("name", "scenario"), seed=self.seed,
            duration_s=self.duration,
            clients=[ClientResult.of(c.da, c.name, c.network, c.started_at,
                                     self._site_label(c)) for c in self.clients])

    def _site_label(self, client: SimClient) -> str | None:
        """The laptop's site for the result, when its network has sites: unique in a whole
        fleet (shard k's ``home#2`` is another home than shard 0's: ``shard3/home#2``)."""
        if self.network_specs[client.network].get("laptops_per_site") is None:
            return None
        return f"shard{self.shard}/{client.site}" if self.shard else client.site

    def client(self, name: str) -> SimClient:
        for c in self.clients:
            if c.name == name:
                return c
        raise InputError(f"no client named {name!r}; clients: "
                         + ", ".join(c.name for c in self.clients[:10]))


from cryptography.hazmat.primitives.hashes import SHA256 as _SHA256_CLS  # noqa: E402

_SHA256 = _SHA256_CLS()


def client_count(doc: dict[str, Any]) -> int:
    """How many laptops the scenario document has, fleets counted."""
    return sum(int(c.get("count", 1)) for c in doc.get("clients") or [])


def drawn(value: float | list[float], stream: Callable[[], Stream]) -> float:
    """A scenario's fixed duration, or a uniform draw from its ``[low, high]`` range by the
    stream that ``stream()`` names (made only when there is something to draw)."""
    if isinstance(value, list):
        low, high = value
        return stream().uniform(low, high)
    return value


def shard_size(doc: dict[str, Any]) -> int:
    return int(doc.get("shard_size") or DEFAULT_SHARD_SIZE)


def shard_count(doc: dict[str, Any]) -> int:
    """How many shards the fleet is cut into (one at least)."""
    return max(1, -(-client_count(doc) // shard_size(doc)))


def fleet_index(doc: dict[str, Any], name: str) -> int | None:
    """The position of laptop ``name`` in the whole fleet (``laptop-00042`` → its index)."""
    at = 0
    for spec in doc.get("clients") or []:
        count = int(spec.get("count", 1))
        if count == 1 and name == spec["name"]:
            return at
        number = name.removeprefix(f"{spec['name']}-")
        if count > 1 and number != name and number.isdigit() and 1 <= int(number) <= count:
            return at + int(number) - 1
        at += count
    return None


# laptops per shard of a fleet (``shard_size:``); see sim.fleet.shards
# (small shards keep a process's working set in cache: per laptop, shards of 250 cost ~25 %
# less CPU than shards of 1,000, and smaller ones no less)
DEFAULT_SHARD_SIZE = 250


@lru_cache(maxsize=8)
def _apportioned(mix: tuple[tuple[str, float], ...], count: int) -> tuple[str, ...]:
    """``apportion`` kept for the next shard of the same fleet in this process."""
    return tuple(apportion(dict(mix), count))


def apportion(mix: dict[str, float], count: int) -> list[str]:
    """``count`` network names in the shares of ``mix`` (largest remainder, deterministic),
    interleaved so that any prefix of the fleet has about the same mix."""
    names = sorted(mix)
    exact = {n: mix[n] * count for n in names}
    counts = {n: int(exact[n]) for n in names}
    rest = count - sum(counts.values())
    for n in sorted(names, key=lambda n: (-(exact[n] - counts[n]), n))[:rest]:
        counts[n] += 1
    out: list[str] = []
    placed = dict.fromkeys(names, 0)
    for i in range(count):
        # the network furthest behind its share so far goes next
        n = max(names, key=lambda n: (counts[n] * (i + 1) / count - placed[n], n))
        placed[n] += 1
        out.append(n)
    return out


def _rule_text(rule: Any) -> str:
    """A parsed firewall rule model back to its scenario text (``tcp/443``)."""
    if isinstance(rule, dict):
        proto = rule.get("protocol") or rule.get("proto")
        lo, hi = rule.get("port_from") or rule.get("low"), rule.get("port_to") or rule.get("high")
        if lo is None:
            return str(proto)
        return f"{proto}/{lo}" if hi in (None, lo) else f"{proto}/{lo}-{hi}"
    return str(rule)


class ResigningInspector:
    """A TLS-inspecting proxy's CA: it shows clients the server's certificate re-signed by
    itself, followed by its own chain (F5.7)."""

    def __init__(self, authority: Any) -> None:
        self.authority = authority
        self._made: dict[bytes, list] = {}

    def substitute(self, server_chain: list) -> list:
        """Re-signed once per server certificate, as inspection appliances cache them."""
        key = server_chain[0].fingerprint(_SHA256)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = [self.authority.resign(server_chain[0]),
                                      *self.authority.chain()]
        return made
