"""The scenario's networks as placed devices: each network's sites (a home of its own, a
hotel of 20 guests, a carrier's one NAT), their gateways' stages, and laptops joining and
leaving them.

A site is an :class:`AccessNetwork` built from the network's typed settings; the stages go on
its gateway in the order packets meet them leaving the LAN: firewall (with the proxy's own
traffic exempt), captive portal, NAT.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from sim.errors import InputError
from sim.net.firewall import Firewall, SourceExempt
from sim.net.landns import lan_services
from sim.net.nat import Nat
from sim.net.portal import CaptivePortal, PortalConfig
from sim.net.proxy import HttpProxy, ProxyConfig, ResigningInspector
from sim.net.topology import AccessNetwork, PrefixFull, Topology
from sim.scenario.plan import PUBLIC_DNS, AddressPlan

if TYPE_CHECKING:
    from sim.net.host import Host
    from sim.net.kernel import Kernel, Stream
    from sim.pki import Hierarchy
    from sim.scenario.laptop import SimClient
    from sim.scenario.model import NetworkSpec


def drawn(value: float | list[float], stream: Callable[[], Stream]) -> float:
    """A scenario's fixed duration, or a uniform draw from its ``[low, high]`` range by the
    stream that ``stream()`` names (made only when there is something to draw)."""
    if isinstance(value, list):
        low, high = value
        return stream().uniform(low, high)
    return value


def upstream_first(networks: dict[str, NetworkSpec]) -> list[str]:
    """The network names in an order where each comes after its upstream."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        if networks[name].upstream != "internet":
            visit(networks[name].upstream)
        order.append(name)

    for name in networks:
        visit(name)
    return order


@contextmanager
def room(specs: dict[str, NetworkSpec], shard: int) -> Iterator[None]:
    """A network whose prefix cannot hold its hosts is the scenario's fault: say which key
    to change."""
    try:
        yield
    except PrefixFull as full:
        kind = full.network.split("#")[0].removeprefix(f"shard{shard}/")
        given = kind in specs and specs[kind].prefix is not None
        where = f"networks.{kind}.prefix" if given else f"networks.{kind}"
        what = "" if given else " (the default for its addressing; set a larger prefix)"
        raise InputError(f"{where}: {full.prefix}{what} has room for {full.room} hosts, "
                         f"and network {full.network} needs more") from None


class Sites:
    """Every network of one shard, by name, and the sites each has so far."""

    def __init__(self, kernel: Kernel, topo: Topology, plan: AddressPlan, pki: Hierarchy,
                 specs: dict[str, NetworkSpec], shard: int,
                 public_records: dict[str, list] | None = None) -> None:
        self.kernel, self.topo, self.plan, self.pki = kernel, topo, plan, pki
        # the public view a network's own resolver answers other names from (``dns:``)
        self.public_records = {} if public_records is None else public_records
        self.specs = specs
        self.shard = shard
        self.networks: dict[str, AccessNetwork] = {}   # each network's first site
        self.sites: dict[str, list[AccessNetwork]] = {}
        self.dns_for: dict[str, IPv4Address] = {}      # the resolver a network's laptops use
        self._prefixes: dict[str, Any] = {}
        self._placed: dict[str, int] = {}
        with self.room():
            for name in upstream_first(specs):
                self.networks[name] = self._build(name, 0)
                self.sites[name] = [self.networks[name]]

    def room(self) -> Any:
        """``room`` for this shard's networks."""
        return room(self.specs, self.shard)

    def place(self, network: str) -> AccessNetwork:
        """The site of ``network`` that the next laptop joins: its only instance, or, with
        ``laptops_per_site``, the last site until it is full, then a new one (a home of its
        own, another hotel) with its own edge address and NAT."""
        sites = self.sites[network]
        per = self.specs[network].laptops_per_site
        placed = self._placed.get(network, 0)
        self._placed[network] = placed + 1
        if per is None:
            return sites[0]
        index = placed // per
        if index == len(sites):
            sites.append(self._build(network, index))
        return sites[index]

    def _build(self, kind: str, site: int) -> AccessNetwork:
        """Site ``site`` of network ``kind`` (site 0 bears the network's name, site 1
        ``kind#2``, …): every site has the same private prefix, as every home has its
        192.168.1.0/24, behind its own edge address."""
        spec = self.specs[kind]
        prefix = self._prefixes.get(kind)
        if prefix is None:
            prefix = self._prefixes[kind] = spec.prefix or self.plan.lan(
                spec.effective_addressing)
            if spec.effective_addressing == "pseudo-public":
                self.topo.internet.declare_pseudo_public(prefix)
        name = f"{kind}#{site + 1}" if site else kind
        up = None if spec.upstream == "internet" else self.networks[spec.upstream]
        outside = [self.plan.edge() if up is None else up.next_address()]
        net = self.topo.add_network(
            name, prefix, outside=outside, upstream=None if up is None else spec.upstream,
            latency=drawn(spec.link.latency, lambda: self.kernel.rng(f"latency:{name}")),
            prefix6=self.plan.native_v6() if spec.ipv6 == "native" else None,
            routed=spec.edge_nat is None, link_options=spec.link.options())
        self.dns_for.setdefault(kind, PUBLIC_DNS)
        for stage in self._stages(net, spec, outside):
            net.gateway.add_stage(stage)
        if spec.dns is not None:   # every site's resolver has the same private address
            self.dns_for[kind] = net.lan_dns.host.interfaces[0].address
        return net

    def _stages(self, net: AccessNetwork, spec: NetworkSpec, outside: list) -> list[Any]:
        k = self.kernel
        stages: list[Any] = []
        exempt: set = set()
        proxy = None
        if spec.proxy is not None:
            proxy = self._proxy(net, spec.proxy)
            exempt.add(proxy)
        if spec.dns is not None:   # the network's own resolver, its suffix and WPAD server
            lan = lan_services(net.add_host, net.name, spec.dns, self.public_records, proxy)
            net.dns_suffix = spec.dns.suffix
            net.lan_dns = lan
        if spec.firewall is not None:
            fw = Firewall.from_config(k, f"{net.name}-firewall", spec.firewall)
            stages.append(SourceExempt(fw, exempt) if exempt else fw)
        if spec.captive_portal is not None:
            stages.append(self._portal(net, spec.captive_portal))
        if spec.edge_nat is not None:
            stages.append(Nat(k, f"{net.name}-nat", outside, spec.edge_nat.config()))
        return stages

    def _proxy(self, net: AccessNetwork, config: ProxyConfig) -> IPv4Address:
        """The network's explicit proxy on a host of its own; returns its address."""
        host = net.add_host(f"{net.name}-proxy")
        host.dns_servers = [PUBLIC_DNS]
        inspector = ResigningInspector(self.pki.authority(config.ca)) \
            if config.inspect_tls else None
        net.proxy = HttpProxy(host, config.port, config.auth, inspector)
        address = host.interfaces[0].address
        net.proxy_address = (address, config.port)
        return address

    def _portal(self, net: AccessNetwork, config: PortalConfig) -> CaptivePortal:
        chain = self.pki.chain(config.certificate) if config.certificate else None
        portal = CaptivePortal(self.kernel, f"{net.name}-portal", https=config.https,
                               certificate=chain)
        if isinstance(config.login_at, list):   # each guest in its own time: guest_arrives
            portal.login_range = config.login_at
        elif config.login_at is not None:
            portal.schedule_login(config.login_at)
        net.portal = portal
        return portal

    # -- laptops ---------------------------------------------------------------------------
    def join(self, site: AccessNetwork, network: str, laptop: str, host: Host | None = None,
             ) -> Host:
        """Put laptop ``laptop`` (a new host, or ``host`` moving in) on ``site`` of
        ``network``, with its own last mile, its resolver and, behind a portal whose guests
        log in each in their own time, its own login."""
        host = site.add_host(laptop, host=host, access_delay=drawn(
            self.specs[network].access_latency or 0.0,
            lambda: self.kernel.once(f"access:{network}:{laptop}")))
        self._guest_arrives(site, network, laptop, host)
        return host

    def _guest_arrives(self, site: AccessNetwork, network: str, laptop: str, host: Host) -> None:
        """Where the portal's guests log in each in their own time (``login_at: [low,
        high]``), this one logs in that long after it arrived, drawn from a stream named
        after the laptop and the network."""
        portal = getattr(site, "portal", None)
        span = getattr(portal, "login_range", None)
        if span is None:
            return
        after = drawn(span, lambda: self.kernel.once(f"login:{network}:{laptop}"))
        portal.schedule_login(self.kernel.env.now + after, site.address_of(host))

    def move(self, client: SimClient, network: str, site: str | None) -> None:
        """The laptop's NIC leaves its LAN and joins ``network`` (its site ``site``, else
        where ``place`` puts it) with a new address."""
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
        self.join(site_net, network, client.name, host)
        host.interfaces.insert(0, host.interfaces.pop())
        host.dns_servers = [self.dns_for[network]]
        host.__dict__.pop("dns_cache", None)
        client.network, client.site = network, site_net.name

    def site_label(self, client: SimClient) -> str | None:
        """The laptop's site for the result, when its network has sites: unique in a whole
        fleet (shard k's ``home#2`` is another home than shard 0's: ``shard3/home#2``)."""
        if self.specs[client.network].laptops_per_site is None:
            return None
        return f"shard{self.shard}/{client.site}" if self.shard else client.site
