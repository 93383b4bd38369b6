"""From a validated scenario to a running simulation: topology, PKI, server, clients, events.

Nothing here decides an outcome, and nothing here has a default of its own: the builder places
devices with the typed settings the scenario gives (``sim.scenario.model``); networks and
their sites are ``sim.scenario.sites``, the laptops' stores and profiles
``sim.scenario.clients``. The clients then try their methods and the packets decide.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sim.directaccess import services
from sim.directaccess.client import DirectAccessClient
from sim.directaccess.dns64 import Dns64Server, Nat64Gateway
from sim.directaccess.ipsec.config import IntranetSpec
from sim.directaccess.nrpt import Nrpt, wizard_rules
from sim.directaccess.proxysettings import ProxyManager, downloads, ip_helper
from sim.directaccess.result import ClientResult, RunResult
from sim.directaccess.server import DNS64_ADDRESS, IPHTTPS_PREFIX, DirectAccessServer
from sim.errors import InputError
from sim.net.dns import DnsServer
from sim.net.kernel import Kernel, long_lived_build
from sim.net.packet import TCP
from sim.net.portforward import PortForward
from sim.net.topology import AccessNetwork, Topology
from sim.pki import Authority, CertStore, Hierarchy, MachineStores
from sim.scenario import events as scenario_events
from sim.scenario.above import AboveTunnel
from sim.scenario.clients import Laptop, Stores, client_profile, shard_laptops
from sim.scenario.laptop import SimClient
from sim.scenario.model import DEFAULT_SHARD_SIZE, Scenario
from sim.scenario.plan import PUBLIC_DNS, PUBLIC_WEB, AddressPlan
from sim.scenario.sites import Sites
from sim.transition.iphttps import IpHttpsClient, IpHttpsServer

if TYPE_CHECKING:
    from collections.abc import Callable

    from sim.net.host import Host

__all__ = ["DEFAULT_SHARD_SIZE", "Simulation"]

DC_NAME = services.DC_NAME


def _host_of(url: str) -> str:
    return urlsplit(url).hostname or ""


class Simulation:
    """One run of a scenario: build it, run it, read its result."""

    nls_trusted_root = None   # the root of the NLS certificate the simulation made itself

    def __init__(self, scenario: Scenario, seed: int | None = None, trace: bool = False,
                 shard: int = 0) -> None:
        """``shard``: which slice of a fleet bigger than its ``shard_size`` this run carries
        (``sim.fleet.shards``); shard 0 of a scenario that fits in one is all of it."""
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.start: dt.datetime = scenario.start
        self.duration = scenario.duration
        self.shard = shard
        self.shards = scenario.shard_count
        if not 0 <= shard < self.shards:
            raise InputError(f"shard {shard}: the fleet has shards 0 to {self.shards - 1}")
        self.kernel = Kernel(self.seed, trace=trace, streams=f"shard{shard}/" if shard else "")
        self.topo = Topology(self.kernel)
        self.clients: list[SimClient] = []
        self._nls_roots: CertStore | None = None
        self.pki = Hierarchy.from_spec(scenario.pki, self.start, seed=self.seed,
                                       base_dir=scenario.base_dir)
        self.network_specs = scenario.all_networks
        self._build_public_services()
        self.site_map = Sites(self.kernel, self.topo, AddressPlan(shard), self.pki,
                              self.network_specs, shard, self.public_records)
        self.networks: dict[str, AccessNetwork] = self.site_map.networks
        self.sites: dict[str, list[AccessNetwork]] = self.site_map.sites
        with self.site_map.room():
            self._build_corporate_services()
            self._build_server()
            self._build_clients()
        for index, event in enumerate(scenario.events):
            self.kernel.env.process(scenario_events.run_event(self, event, index))

    # -- time --------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        """The simulated wall-clock time (certificate validity, CRL freshness)."""
        return self.start + dt.timedelta(seconds=self.kernel.now)

    # -- public services ---------------------------------------------------------------
    def _build_public_services(self) -> None:
        topo = self.topo
        self.public_dns_host = topo.add_public_host("public-dns", [PUBLIC_DNS])
        self.public_web_host = topo.add_public_host("public-web", [PUBLIC_WEB])
        self.public_records: dict[str, list] = {}
        self.inside_records: dict[str, list] = {}
        for url, (_name, where) in self._published().items():
            if where == "outside":
                self.public_records.setdefault(_host_of(url), []).append(PUBLIC_WEB)

    def _published(self) -> dict[str, tuple[str, str]]:
        """Every CRL and AIA URL of the PKI: (what it serves, inside or outside)."""
        return {**self.pki.crl_urls(), **self.pki.aia_urls()}

    # -- the corporate network ---------------------------------------------------------
    def _build_corporate_services(self) -> None:
        corp_name = next(n for n in self.networks if self.network_specs[n].corporate)
        corp = self.corp = self.networks[corp_name]
        self.corp_dns_host = corp.add_host("corp-dns")
        self.nls_host = corp.add_host("nls")
        self.dc_host = corp.add_host("dc")
        self.corp_web_host = corp.add_host("corp-web")
        self.nls_url = self.scenario.server.nls
        self.inside_records[self.scenario.server.nls_host] = [self.nls_host.interfaces[0].address]
        self.inside_records[DC_NAME] = [self.dc_host.interfaces[0].address]
        for url, (_n, where) in self._published().items():
            self.inside_records.setdefault(_host_of(url), []).append(
                self.corp_web_host.interfaces[0].address if where == "inside" else PUBLIC_WEB)
        for name in self.networks:
            if self.network_specs[name].corporate:
                self.site_map.dns_for[name] = self.corp_dns_host.interfaces[0].address

    # -- the DirectAccess server -------------------------------------------------------
    def _build_server(self) -> None:
        spec = self.scenario.server
        ipv4, ipv6 = list(spec.ipv4), list(spec.ipv6)
        if spec.behind_nat:
            edge = self.topo.add_network("da-edge", "10.254.0.0/24", outside=ipv4[:1])
            host = edge.add_host("da-server")
            if ipv6:
                host.add_address(host.interfaces[0], f"{ipv6[0]}/128")
            edge.gateway.add_stage(PortForward(TCP, ipv4[0], spec.iphttps.port,
                                               host.interfaces[0].address))
            server_ipv4 = [host.interfaces[0].address]
        else:
            host = self.topo.add_public_host("da-server", [*ipv4, *ipv6])
            server_ipv4 = ipv4
        public_ipv4 = spec.facing
        self.server_host = host
        iphttps_spec = spec.iphttps
        if iphttps_spec.public_dns:
            self.public_records.setdefault(iphttps_spec.host, []).append(public_ipv4[0])
        iphttps = None
        if "iphttps" in spec.methods:
            chain = self.pki.chain(iphttps_spec.certificate, send_root=iphttps_spec.send_root)
            terminator = None if iphttps_spec.terminator is None else \
                iphttps_spec.terminator.device()
            iphttps = IpHttpsServer(host, services.listen, chain, iphttps_spec.url,
                                    IPHTTPS_PREFIX, terminator)
        rules = self._nrpt_rules()
        self.server = DirectAccessServer(host, server_ipv4, set(spec.methods), ipv6=ipv6,
                                         public_ipv4=public_ipv4, iphttps=iphttps,
                                         nls_url=self.nls_url, force_tunnel=spec.force_tunnel,
                                         dns64=DNS64_ADDRESS if rules else None,
                                         nat64=spec.nat64_prefix
                                         if rules and spec.dns64 else None)
        if self.server.nat64 is not None:
            self._internal_adapter(host)
        self.policy = self.server.policy()
        self.nrpt = Nrpt(rules) if rules else None
        self._start_services()
        self.above = None if spec.ipsec is None else AboveTunnel(self)

    def _nrpt_rules(self) -> list:
        """The scenario's NRPT rules: its own, or with ``wizard`` the wizard's (B3): the
        intranet's domain to the DNS64, the NLS's name exempt. None: no table (N3)."""
        spec = self.scenario.server
        if spec.nrpt == "wizard":
            domain = (self.scenario.intranet or IntranetSpec()).domain
            return wizard_rules(f".{domain}", spec.nls_host, DNS64_ADDRESS)
        return [rule.rule(DNS64_ADDRESS) for rule in spec.nrpt or ()]

    def _internal_adapter(self, host: Host) -> None:
        """The server's internal adapter on the corporate LAN, where its NAT64 sends what
        clients address to the prefix (C1, C2)."""
        corp = self.corp
        plen = corp.prefix.prefixlen
        top = corp.prefix.broadcast_address   # from the top: the LAN's hosts keep theirs
        internal = host.add_interface(corp.lan, f"{top - 1}/{plen}", name="internal")
        Nat64Gateway(host, internal, top - 2, self.server.nat64, lambda: self.kernel.now)

    def _start_services(self) -> None:
        """DNS views, the CRL/AIA web servers inside and outside, and the NLS."""
        self.public_dns = DnsServer(self.public_dns_host, self.public_records)
        self.corp_dns = DnsServer(self.corp_dns_host, {**self.public_records,
                                                       **self.inside_records})
        if self.nrpt is not None:   # the server's DNS64: the intranet's view of every name
            server = self.scenario.server
            intranet = (self.scenario.intranet or IntranetSpec()).records() \
                if server.ipsec is not None else {}
            self.dns64 = Dns64Server(self.server_host, {**self.public_records,
                                                        **self.inside_records, **intranet},
                                     server.nat64_prefix, synthesis=server.dns64)
        for host in (self.public_dns_host, self.public_web_host, self.corp_web_host):
            host.dns_servers = [PUBLIC_DNS]
        outside = {u for u, (_n, where) in self._published().items() if where == "outside"}
        self.public_web = services.web_server(
            self.public_web_host, lambda url: self.pki.serve(url, self.now())
            if url in outside else None)
        self.corp_web = services.web_server(
            self.corp_web_host, lambda url: self.pki.serve(url, self.now()))
        self.nls = services.HttpsSite(self.nls_host, self._nls_chain())

    def _nls_chain(self) -> list:
        """The NLS certificate: ``pki.certificates.nls`` if the scenario has one, else one the
        simulation issues from a root of its own (clients are assumed to trust the NLS
        unless the scenario says otherwise)."""
        if "nls" in self.pki.certificates:
            return self.pki.chain("nls")
        begin = self.start - dt.timedelta(days=365)
        ca = Authority.root("dasim-nls-ca", "CN=Corporate NLS CA", seed=0, not_before=begin,
                            not_after=self.start + dt.timedelta(days=3650))
        host = self.scenario.server.nls_host
        leaf = ca.issue(host, san=[host], eku=["server_auth"], not_before=begin,
                        not_after=self.start + dt.timedelta(days=730))
        self.nls_trusted_root = ca.certificate
        return [leaf, ca.certificate]

    # -- clients -----------------------------------------------------------------------
    def _build_clients(self) -> None:
        stores = Stores(self.pki)
        for laptop in shard_laptops(self.scenario, self.shard):
            self.clients.append(self._build_client(laptop, stores.of(laptop)))

    def _build_client(self, laptop: Laptop, stores: MachineStores) -> SimClient:
        name, network, spec = laptop.name, laptop.network, laptop.spec
        net = self.site_map.place(network)
        host = self.site_map.join(net, network, name)
        host.dns_servers = [self.site_map.dns_for[network]]
        prof = client_profile(spec)
        client = SimClient(name, network, host, None, stores,  # type: ignore[arg-type]
                           spec.start_at, net.name)
        if spec.proxy is not None:   # the suffix of the site the laptop is on at the time
            client.proxy_settings = ProxyManager(spec.proxy, lambda: getattr(
                self.topo.networks[client.site], "dns_suffix", None))
        nls_stores = stores
        if self.nls_trusted_root is not None:
            if self._nls_roots is None:
                self._nls_roots = CertStore.of("Root", [self.nls_trusted_root])
            nls_stores = MachineStores(root=self._nls_roots.like(), ca=stores.ca)
        nls_verify = services.chain_verifier(host, nls_stores, self.now, False)
        client.da = DirectAccessClient(
            host, self.policy, prof,
            nls_probe=services.nls_prober(self.nls_url, nls_verify, services.connector(prof)),
            iphttps_factory=self._iphttps_factory(client),
            managed_probe=services.domain_prober(),
            teredo_type=None if spec.teredo == "default" else spec.teredo,
            sixtofour=spec.sixtofour, iphttps=spec.iphttps,
            probe_interval=None if self.above else spec.connectivity_probe,
            teredo_refresh=spec.teredo_refresh, nrpt=self.nrpt)
        if self.above is not None:
            self.above.attach(client, laptop)
        if client.started_at:
            self.kernel.env.process(self._start_later(client))
        else:
            client.da.start()
        return client

    def _start_later(self, client: SimClient):
        yield self.kernel.env.timeout(client.started_at)
        client.da.start()

    def _iphttps_factory(self, client: SimClient) -> Callable[[DirectAccessClient],
                                                               IpHttpsClient]:
        def make(da: DirectAccessClient) -> IpHttpsClient:
            # the proxy of the site the laptop is on now (it may have roamed since), unless
            # the laptop has proxy settings of its own: then they decide at each attempt
            settings = client.proxy_settings
            proxy = None if settings is not None else getattr(
                self.topo.networks[client.site], "proxy_address", None)
            find = None if settings is None else ip_helper(
                settings, da.profile.cancels_static_proxy, services.resolve, da.note)
            return IpHttpsClient(
                client.host, self.policy.iphttps_url,
                verify=services.chain_verifier(
                    client.host, client.stores, self.now, da.profile.crl_enforced, proxy,
                    None if settings is None else downloads(settings, services.resolve)),
                resolve=services.resolve, connect=services.connector(da.profile),
                proxy=proxy, find_proxy=find)
        return make

    def roam(self, client: SimClient, network: str, site: str | None = None) -> None:
        """Move a laptop to another network (to its site ``site``, else where ``place`` puts
        it): its NIC leaves the old LAN, joins the new one with a new address, and the
        DirectAccess client starts over (F1.20)."""
        if network not in self.networks:
            raise InputError(f"roam: unknown network {network!r}")
        with self.site_map.room():
            self.site_map.move(client, network, site)
        client.da.restart(f"network change: roamed to network {network}")

    def place(self, network: str) -> AccessNetwork:
        """The site of ``network`` that the next laptop joins (``Sites.place``)."""
        return self.site_map.place(network)

    # -- run ---------------------------------------------------------------------------
    def run(self) -> RunResult:
        with long_lived_build():
            self.kernel.run(until=self.duration)
        return self.result()

    def result(self) -> RunResult:
        return RunResult(
            scenario=self.scenario.name, seed=self.seed, duration_s=self.duration,
            clients=[ClientResult.of(c.da, c.name, c.network, c.started_at,
                                     self.site_map.site_label(c)) for c in self.clients])

    def client(self, name: str) -> SimClient:
        for c in self.clients:
            if c.name == name:
                return c
        raise InputError(f"no client named {name!r}; clients: "
                         + ", ".join(c.name for c in self.clients[:10]))

    def is_corporate(self, network: str) -> bool:
        return self.network_specs[network].corporate


