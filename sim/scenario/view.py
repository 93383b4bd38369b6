"""One read-only view of a run, for everything that reads one: the report, the command line,
the fleet's sampler and the notebooks.

``prepare`` builds the simulation of a scenario (for a fleet in shards, the shard of the laptop
asked about); the :class:`PreparedRun` attaches capture points and runs it; its ``view()`` is a
:class:`RunView`: the result, the trace, one :class:`ClientView` per laptop with what netsh and
a story need, the policy the server hands out, and the captures. Nothing outside
``sim.scenario`` reads a ``Simulation``'s attributes: the ones read here are listed in
``SIMULATION_ATTRIBUTES``, and a test keeps the report and the command line to this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.errors import InputError
from sim.net.fastpath import events_scheduled
from sim.scenario.capture import Capture, Point
from sim.scenario.probe import ProbeKind, ProbeRecording
from sim.scenario.probe import schedule as schedule_probe
from sim.scenario.taps import Crossing, Device, devices, path_gateways, stage_kinds, tap

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from sim.directaccess.result import ClientResult, RunResult
    from sim.fleet.shards import Fleet
    from sim.scenario.build import Simulation
    from sim.scenario.laptop import SimClient

# What this module reads of a Simulation (a builder that keeps these keeps the view working).
SIMULATION_ATTRIBUTES = (
    "scenario.name", "start", "duration", "shard", "shards", "clients", "client()", "run()",
    "result()", "kernel.env", "kernel.trace.records", "topo.networks",
    "networks",
    "is_corporate()", "sites", "policy.iphttps_url", "policy.teredo_server", "policy.relay", "nrpt",
    "pki.chain()", "server_host", "public_dns_host", "public_web_host", "corp_dns_host",
    "nls_host", "dc_host", "corp_web_host",
    # through sim.scenario.taps and sim.scenario.probe (pictures, traces)
    "topo.internet", "public_records", "inside_records", "kernel.trace.on",
)
# ... of each site (``topo.networks`` and ``sites`` values): name, gateway (outside.address,
# outside.link.latency, interfaces), hosts; of each service host: name, interfaces; of
# each SimClient: name, network, site, host.interfaces[].addresses, and of its DirectAccess
# client ``da``: state (method, location, attempts, timeline()), iphttps (status.history,
# last_detail), teredo (status.history), teredo_type, managed, teredo_refresh,
# sixtofour_history, sixtofour_setting, profile.name, ipsec; its proxy_settings
# (config_at()); and of the Fleet:
# simulation(client, trace, shard), run(local=...).


PROBE_WAIT = 3.0   # seconds a probe is recorded: an answer from anywhere on Earth is back by then


@dataclass(frozen=True)
class PolicyView:
    """What the server's Group Policy tells its clients, as netsh shows it."""

    iphttps_url: str | None
    teredo_server: str | None
    relay: str | None
    nrpt: tuple = ()   # the NRPT's rules (sim.directaccess.nrpt.NrptRule), if modelled


@dataclass(frozen=True)
class SiteView:
    """One instance of a network (a home, a hotel): its name, its edge's public address and
    its uplink latency (s)."""

    name: str
    edge: Any
    latency: float


class ClientView:
    """One laptop of a run, read-only: who and where it is, its story and what netsh shows.
    It reads the laptop as it is when asked (the fleet's sampler asks during the run)."""

    __slots__ = ("_client", "corporate")

    def __init__(self, client: SimClient, corporate: bool) -> None:
        self._client = client
        self.corporate = corporate   # whether its network is the organisation's own

    def __repr__(self) -> str:
        return f"ClientView({self.name!r})"

    @property
    def name(self) -> str:
        return self._client.name

    @property
    def network(self) -> str:
        return self._client.network

    @property
    def site(self) -> str:
        """Which instance of its network: ``home``, ``home#2`` … (``laptops_per_site``)."""
        return self._client.site

    @property
    def addresses(self) -> frozenset:
        """Every address on the laptop's interfaces now."""
        return host_addresses(self._client.host)

    @property
    def method(self) -> str | None:
        """The method that carries its DirectAccess traffic now (None: none does)."""
        return self._client.da.state.method

    @property
    def location(self) -> str | None:
        """inside (the NLS answered) or outside, once it knows."""
        return self._client.da.state.location

    @property
    def attempts(self) -> list:
        return self._client.da.state.attempts

    @property
    def timeline(self) -> list[tuple[float, str]]:
        """Its own events as ``(t, text)``, for a story."""
        return self._client.da.state.timeline()

    # -- what netsh shows ------------------------------------------------------------------
    @property
    def iphttps_history(self) -> list | None:
        """``(t, snapshot)`` of the IP-HTTPS interface (None: it never had one)."""
        iphttps = self._client.da.iphttps
        return iphttps.status.history if iphttps else None

    @property
    def iphttps_detail(self) -> Any:
        """The chain engine's result of the last IP-HTTPS failure (None: none, or connected)."""
        iphttps = self._client.da.iphttps
        return iphttps.last_detail if iphttps else None

    def proxy_settings_at(self, t: float) -> Any:
        """The laptop's ``proxy:`` settings in force at ``t`` (a ``ClientProxyConfig``), or
        None: none given, or reset by then (``netsh winhttp show proxy``)."""
        settings = self._client.proxy_settings
        return None if settings is None else settings.config_at(t)

    @property
    def teredo_history(self) -> list | None:
        """``(t, snapshot)`` of the Teredo interface (None: it has none now)."""
        teredo = self._client.da.teredo
        return teredo.status.history if teredo else None

    @property
    def teredo_type(self) -> str:
        return self._client.da.teredo_type

    @property
    def teredo_refresh(self) -> float:
        return self._client.da.teredo_refresh

    @property
    def managed(self) -> bool:
        """Whether it found a domain controller (Teredo type ``client`` stays off then)."""
        return self._client.da.managed

    @property
    def sixtofour_history(self) -> list[tuple[float, str]]:
        return self._client.da.sixtofour_history

    @property
    def sixtofour_setting(self) -> str:
        """6to4's configured state: default, enabled or disabled (``clients[].sixtofour``)."""
        return self._client.da.sixtofour_setting

    @property
    def profile(self) -> str:
        """Its Windows release (``windows10``)."""
        return self._client.da.profile.name

    @property
    def ipsec(self) -> Any:
        """Its IPsec layer (``sim.directaccess.ipsec.session.IpsecSession``: status and SA
        histories, tunnels, resources), or None when the scenario does not model IPsec."""
        return self._client.da.ipsec


def host_addresses(host: Any) -> frozenset:
    """Every address on a host's interfaces."""
    return frozenset(a for iface in host.interfaces for a in iface.addresses)


class RunView:
    """A run, read-only: its result, trace, laptops, policy, sites and captures."""

    def __init__(self, sim: Simulation, result: RunResult | None = None,
                 captures: dict[str, Capture] | None = None) -> None:
        self._sim = sim
        self._result = result
        self._by_name: dict[str, ClientResult] | None = None
        self.captures: dict[str, Capture] = dict(captures or {})
        self.scenario: str = sim.scenario.name
        self.start: dt.datetime = sim.start
        self.duration: float = sim.duration
        self.shard: int = sim.shard
        self.shards: int = sim.shards
        policy = sim.policy
        self.policy = PolicyView(
            policy.iphttps_url, str(policy.teredo_server) if policy.teredo_server else None,
            str(policy.relay) if policy.relay else None,
            sim.nrpt.rules if sim.nrpt is not None else ())
        self.clients = [self._view(c) for c in sim.clients]

    def _view(self, client: SimClient) -> ClientView:
        return ClientView(client, self._sim.is_corporate(client.network))

    @property
    def result(self) -> RunResult:
        """The run's result (the whole fleet's, when the run was one), else this shard's
        clients as they stand."""
        return self._result if self._result is not None else self._sim.result()

    @property
    def trace(self) -> list:
        """The trace records (empty unless the run was prepared with ``trace=True``)."""
        return self._sim.kernel.trace.records

    def client(self, name: str) -> ClientView:
        """The laptop named ``name`` (an input error naming the clients, if none is)."""
        return self._view(self._sim.client(name))

    def result_of(self, name: str) -> ClientResult:
        """The result of the laptop named ``name``."""
        if self._by_name is None:
            self._by_name = {c.name: c for c in self.result.clients}
        return self._by_name[name]

    @property
    def sites(self) -> dict[str, list[SiteView]]:
        """Each network's sites (one, unless it has ``laptops_per_site``)."""
        return {name: [SiteView(s.name, s.gateway.outside.address,
                                s.gateway.outside.link.latency) for s in sites]
                for name, sites in self._sim.sites.items()}

    def devices(self) -> list[Device]:
        """Every device of the topology (this shard's) with its stages, addresses and
        links, for a picture of it."""
        return devices(self._sim)

    def path_of(self, name: str) -> list[Device]:
        """The devices between laptop ``name`` and the Internet, nearest first: its
        network's proxy (if any), then each edge outwards (NAT444: home, then carrier)."""
        client = self._sim.client(name)
        by_name = {d.name: d for d in self.devices()}
        out = []
        for net in path_gateways(self._sim, client.site):
            proxy = getattr(net, "proxy", None)
            if proxy is not None and net.name == client.site:
                out.append(by_name[proxy.host.name])
            out.append(by_name[net.gateway.name])
        return out

    def chain(self, certificate: str) -> list:
        """The certificate chain the scenario's PKI issued as ``certificate``."""
        return self._sim.pki.chain(certificate)

    def names_by_address(self, site: str | None = None) -> dict[Any, str]:
        """Every address in the topology → the name of the device that owns it. The sites of
        a network share its private prefix (every hotel's gateway is 10.3.0.1): the devices
        of ``site``, the one the reader looks from, name them first."""
        sim = self._sim
        out: dict[Any, str] = {}
        hosts = [sim.server_host, sim.public_dns_host, sim.public_web_host, sim.corp_dns_host,
                 sim.nls_host, sim.dc_host, sim.corp_web_host]
        networks = sorted(sim.topo.networks.values(), key=lambda net: net.name != site)
        for net in networks:   # every site of every network, the reader's own first
            hosts.append(net.gateway)
            hosts.extend(net.hosts)
        for node in hosts:
            for iface in node.interfaces:
                for addr in iface.addresses:
                    out.setdefault(addr, node.name)
        return out


class PreparedRun:
    """A built simulation, not yet run: attach captures, run it (alone, or as one shard of
    its fleet), then read its :meth:`view`."""

    def __init__(self, sim: Simulation, fleet: Fleet | None = None) -> None:
        self._sim = sim
        self._fleet = fleet
        self._result: RunResult | None = None
        self.captures: dict[str, Capture] = {}
        self.start: dt.datetime = sim.start
        self.duration: float = sim.duration
        self.shard: int = sim.shard
        self.shards: int = sim.shards

    @property
    def client_names(self) -> list[str]:
        """The names of this run's laptops, in order."""
        return [c.name for c in self._sim.clients]

    def require(self, name: str) -> None:
        """An input error naming the clients, unless this run has a laptop ``name``."""
        self._sim.client(name)

    def capture(self, point: str | None) -> Capture:
        """Start recording at ``point``: ``client:NAME`` (the laptop's NIC; the default is the
        first client), ``nat:NETWORK`` (the network edge's outside: its first site, or one
        site: ``nat:home#2``, ``nat:shard3/home#2``; ``nat:home:inside`` its LAN side, before
        translation; ``firewall:`` and ``edge:`` the same gateway), ``proxy:NETWORK`` (the
        explicit proxy's NIC), or ``server``."""
        sim = self._sim
        if point is None:
            point = f"client:{sim.clients[0].name}"
        where = Point.parse(point)
        if where.kind == "client":
            iface = sim.client(where.name).host.interfaces[0]
        elif where.kind == "server":
            iface = sim.server_host.interfaces[0]
        else:
            iface = self._device_interface(point, where)
        records = iface.capture = self.captures[point] = Capture(iface)
        return records

    def _device_interface(self, point: str, where: Point) -> Any:
        """The interface a network device's point names (an input error saying what the
        network has, if it has no such device)."""
        sim = self._sim
        name = where.name.removeprefix(f"shard{sim.shard}/")
        site = sim.topo.networks.get(name)
        if site is None:
            raise InputError(f"--point {point}: no network {name!r}; networks: "
                             + ", ".join(sim.networks))
        has = stage_kinds(site.gateway)
        if where.kind == "proxy":
            proxy = getattr(site, "proxy", None)
            if proxy is None:
                raise InputError(f"--point {point}: network {name!r} has no proxy")
            return proxy.host.interfaces[0]
        if where.kind in ("nat", "firewall") and where.kind not in has:
            raise InputError(f"--point {point}: network {name!r} has no {where.kind} (its edge "
                             f"has: {', '.join(has) or 'no stages, it routes'}); "
                             f"edge:{where.name} names the gateway whatever it holds")
        gateway = site.gateway
        return gateway.outside if where.side == "outside" else gateway.interfaces[0]

    def tap_path(self, name: str) -> list[Crossing]:
        """Record, in one list in the order they happen, the packets crossing laptop
        ``name``'s NIC and every interface of the devices on its path (its proxy, each edge
        outwards) as the run goes (``sim.scenario.taps``)."""
        sim = self._sim
        client = sim.client(name)
        ifaces = [client.host.interfaces[0]]
        for net in path_gateways(sim, client.site):
            ifaces += net.gateway.interfaces
            proxy = getattr(net, "proxy", None)
            if proxy is not None:
                ifaces += proxy.host.interfaces
        out: list[Crossing] = []
        tap(ifaces, out)
        return out

    def probe(self, name: str, at: float, to: str, kind: ProbeKind,
              wait: float = PROBE_WAIT) -> ProbeRecording:
        """Have laptop ``name`` send one probe (``kind``) to ``to`` (an address, a device or
        a DNS name) at ``at``, and record every device it and its answer cross for ``wait``
        seconds (``sim.scenario.probe``)."""
        if not 0 <= at < self.duration:
            raise InputError(f"--at {at:g} s: the run lasts {self.duration:g} s; probe within it")
        return schedule_probe(self._sim, name, at, to, kind, wait)

    def every(self, step: float, sample: Callable[[float], Any]) -> None:
        """Call ``sample(now)`` at the start and every ``step`` simulated seconds of the run."""
        env = self._sim.kernel.env

        def tick():
            while True:
                sample(env.now)
                yield env.timeout(step)

        env.process(tick())

    def client_views(self) -> list[ClientView]:
        """The laptops, read as they are when asked (for a sampler during the run)."""
        return RunView(self._sim).clients

    def run(self) -> RunResult:
        """Run this simulation alone (one shard of a fleet: only its laptops)."""
        self._result = self._sim.run()
        return self._result

    def events(self) -> int:
        """How many events the run scheduled."""
        return events_scheduled(self._sim.kernel.env)

    def run_fleet(self, **kwargs: Any) -> RunResult:
        """The whole fleet's result (``Fleet.run``'s options), this shard run here with its
        captures, the others wherever the fleet runs them."""
        if self._fleet is None:
            return self.run()
        self._result = self._fleet.run(local=self, **kwargs)
        return self._result

    def view(self) -> RunView:
        return RunView(self._sim, self._result, self.captures)


def prepared(run: Any) -> PreparedRun:
    """``run`` as a PreparedRun (a Simulation is wrapped; it has no fleet)."""
    return run if isinstance(run, PreparedRun) else PreparedRun(run)


def view_of(run: Any) -> RunView:
    """The view of a PreparedRun, a RunView or a Simulation (what older callers pass)."""
    if isinstance(run, RunView):
        return run
    return prepared(run).view()

