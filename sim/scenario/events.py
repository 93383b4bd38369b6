"""Scheduled actions of a scenario: certificate imports, Group Policy, roaming, outages.

Group Policy reaches a client only when the client can reach a domain controller: inside the
corporate network, or through an established DirectAccess tunnel (the catch of KB 2980667: a
client already outside cannot receive the missing root through the tunnel that the missing
root breaks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sim.errors import InputError

if TYPE_CHECKING:
    from sim.directaccess.server import DirectAccessServer, ServerPolicy
    from sim.net.host import Host
    from sim.net.kernel import Kernel
    from sim.net.topology import AccessNetwork
    from sim.pki import Hierarchy
    from sim.scenario.laptop import SimClient
    from sim.scenario.model import EventSpec


class Simulation(Protocol):
    """What the events act on: ``sim.scenario.build.Simulation``, which schedules them (and so
    imports this module)."""

    kernel: Kernel
    clients: list[SimClient]
    shards: int
    sites: dict[str, list[AccessNetwork]]
    pki: Hierarchy
    server: DirectAccessServer
    policy: ServerPolicy
    dc_host: Host
    nls_host: Host

    def roam(self, client: SimClient, network: str, site: str | None = None) -> None: ...

# Windows background Group Policy refresh: every 90 minutes with a random offset of up to
# 30 minutes (Microsoft, "Group Policy background refresh"); Windows also processes policy
# when it regains a domain controller (a network change, a DirectAccess tunnel coming up).
GP_REFRESH = 90 * 60.0
GP_OFFSET = 30 * 60.0


def _clients(sim: Simulation, event: EventSpec, index: int) -> list[SimClient]:
    """The laptops an event acts on: the one it names, the members of the fleet it names, or
    all; with ``share``, each of them with that probability. A laptop's draw comes from a
    stream named after the event and the laptop alone, so the same laptops take part
    whatever the shards or the other laptops."""
    name = event.client
    if name is None:
        found = list(sim.clients)
    else:
        exact = [c for c in sim.clients if c.name == name]
        found = exact or [c for c in sim.clients if c.name.startswith(f"{name}-")]
        if not found and sim.shards == 1:   # in a fleet's shard, the client may be in another
            raise InputError(f"event names unknown client {name!r}")
    share = event.share
    if share is not None:
        found = [c for c in found if sim.kernel.once(f"event{index}:{c.name}").random() < share]
    return found


def can_reach_dc(sim: Simulation, client: SimClient):
    """A generator: True if the client reaches a domain controller, by IPv4 inside or over
    its DirectAccess tunnel (IPv6 to the intranet) outside."""
    host = client.host
    if client.da.state.location == "inside":
        rtt = yield from host.ping(sim.dc_host.interfaces[0].address, timeout=2.0)
        return rtt is not None
    if client.da.state.method is None:
        return False
    if client.da.ipsec is not None:   # with IPsec modelled: through the infrastructure tunnel
        return (yield from client.da.ipsec.reach_dc())
    rtt = yield from host.ping(sim.policy.intranet, timeout=4.0)
    return rtt is not None


def _policy_refresh(sim: Simulation, client: SimClient) -> Any:
    """The SimPy event that the next ``gpo_refresh`` (gpupdate) of ``client`` fires."""
    if client.policy_refresh is None:
        client.policy_refresh = sim.kernel.env.event()
    return client.policy_refresh


def gpo_apply(sim: Simulation, client: SimClient, cert: Any, label: str):
    """Keep trying at each background refresh until the client reaches a DC."""
    env = sim.kernel.env
    rng = sim.kernel.rng(f"gpo:{client.name}")
    told = False
    while True:
        ok = yield from can_reach_dc(sim, client)
        if ok:
            if client.stores.root.add(cert, at=env.now):
                client.da.note(f"Group Policy installed root {label} in Trusted Root "
                               "Certification Authorities")
            return
        if not told:
            client.da.note("Group Policy: no domain controller reachable (not inside, no "
                           "tunnel); the policy waits for the next refresh")
            told = True
        yield env.timeout(GP_REFRESH + rng.uniform(0, GP_OFFSET)) | \
            client.da.connectivity_changed | _policy_refresh(sim, client)
        yield env.timeout(1.0)   # let the new location or tunnel settle


def roam_back(sim: Simulation, client: SimClient, network: str, home: str, site: str,
              after: float):
    """A visit ends: after ``after`` the laptop goes back to network ``home``, site
    ``site``, unless it has moved on since (it is no longer on ``network``)."""
    yield sim.kernel.env.timeout(after)
    if client.network == network:
        sim.roam(client, home, site)


def _not_a_root(cert: Any) -> str:
    """A warning when a certificate imported as a root is not one (issued by another CA):
    the chain engine does not stop at it, so the import fixes nothing (F6.1)."""
    if cert.issuer == cert.subject:
        return ""
    return (f" — but it is not a root: it was issued by {cert.issuer.rfc4514_string()}, "
            "and the chain goes on up to that CA's own root")


def _tell(sim: Simulation, network: str | None, text: str) -> None:
    """Put a change of the world in the timeline of each laptop it concerns (on
    ``network``, or all), so that a laptop's story shows what broke or mended it."""
    for c in sim.clients:
        if network is None or c.network == network:
            c.da.note(text)


@dataclass(frozen=True)
class Action:
    """One event action: what it does at the event's time (``act(sim, event, index)``), the
    keys it needs, and whether it acts on clients (``client`` names one laptop, a fleet, or,
    left out, every laptop; ``share`` keeps each with that probability)."""

    act: Callable[[Simulation, EventSpec, int], None]
    needs: tuple[str, ...] = ()
    on_clients: bool = False


#: every event action by its scenario name (``EventSpec.action`` is checked against it)
ACTIONS: dict[str, Action] = {}


def action(name: str, needs: tuple[str, ...] = (), on_clients: bool = False) -> Callable:
    def register(act: Callable[[Simulation, EventSpec, int], None]) -> Callable:
        ACTIONS[name] = Action(act, needs, on_clients)
        return act
    return register


def run_event(sim: Simulation, event: EventSpec, index: int = 0):
    """Wait until the event's time, then act (``index``: the event's place in the scenario,
    which names the draws of its ``share``)."""
    yield sim.kernel.env.timeout(event.at)
    sim.kernel.log("scenario", "event", action=event.action)
    try:
        act = ACTIONS[event.action].act
    except KeyError:
        raise InputError(f"unknown event action {event.action!r}") from None
    act(sim, event, index)


@action("import_root", needs=("client", "authority"), on_clients=True)
def _import_root(sim: Simulation, event: EventSpec, index: int) -> None:
    cert = sim.pki.certificate(event.authority)
    for c in _clients(sim, event, index):
        c.stores.root.add(cert, at=sim.kernel.env.now)
        c.da.note(f"root {event.authority} imported into Trusted Root Certification "
                  "Authorities by hand", _not_a_root(cert))


@action("remove_root", needs=("client", "authority"), on_clients=True)
def _remove_root(sim: Simulation, event: EventSpec, index: int) -> None:
    cert = sim.pki.certificate(event.authority)
    for c in _clients(sim, event, index):
        c.stores.root.remove(cert, at=sim.kernel.env.now)
        c.da.note(f"root {event.authority} removed from Trusted Root")


@action("gpo_deploy_root", needs=("authority",), on_clients=True)
def _gpo_deploy_root(sim: Simulation, event: EventSpec, index: int) -> None:
    cert = sim.pki.certificate(event.authority)
    for c in _clients(sim, event, index):
        c.da.note(f"scenario: Group Policy deploys root {event.authority}; it applies when "
                  "the laptop reaches a domain controller")
        sim.kernel.env.process(gpo_apply(sim, c, cert, event.authority))


@action("gpo_refresh", on_clients=True)
def _gpo_refresh(sim: Simulation, event: EventSpec, index: int) -> None:
    """gpupdate: policy waiting for a domain controller is tried again now."""
    for c in _clients(sim, event, index):
        c.da.note("Group Policy refresh (gpupdate)")
        signal, c.policy_refresh = c.policy_refresh, None
        if signal is not None:
            signal.succeed()


@action("restart_ip_helper", on_clients=True)
def _restart_ip_helper(sim: Simulation, event: EventSpec, index: int) -> None:
    for c in _clients(sim, event, index):
        c.da.restart("IP Helper service restarted", relocate=False)


@action("roam", needs=("client", "network"), on_clients=True)
def _roam(sim: Simulation, event: EventSpec, index: int) -> None:
    for c in _clients(sim, event, index):
        home, site = c.network, c.site
        sim.roam(c, event.network)
        if event.back_after:
            sim.kernel.env.process(roam_back(sim, c, event.network, home, site,
                                             event.back_after))


@action("portal_login", needs=("network",), on_clients=True)
def _portal_login(sim: Simulation, event: EventSpec, index: int) -> None:
    """The named guests' devices, each at the site it is on; naming none, everyone on every
    site of the network (each hotel); the laptops' stories read it from the trace."""
    if event.client or event.share:
        sites = {site.name: site for site in sim.sites[event.network]}
        for c in _clients(sim, event, index):
            if c.network == event.network:
                site = sites[c.site]
                site.portal.login(site.address_of(c.host))
        return
    for site in sim.sites[event.network]:
        site.portal.login()


@action("nat_reboot", needs=("network",))
def _nat_reboot(sim: Simulation, event: EventSpec, index: int) -> None:
    for site in sim.sites[event.network]:
        for stage in site.gateway.stages:
            if hasattr(stage, "nat_reboot"):
                stage.nat_reboot()
    _tell(sim, event.network, "scenario: the network's NAT reboots and loses every binding")


@action("server_down")
def _server_down(sim: Simulation, event: EventSpec, index: int) -> None:
    sim.server.down()
    _tell(sim, None, "scenario: the DirectAccess server goes down")


@action("server_up")
def _server_up(sim: Simulation, event: EventSpec, index: int) -> None:
    sim.server.up()
    _tell(sim, None, "scenario: the DirectAccess server is back")


@action("logon", on_clients=True)
def _logon(sim: Simulation, event: EventSpec, index: int) -> None:
    """The user logs on: with IPsec modelled, the intranet tunnel follows (A1)."""
    for client in _clients(sim, event, index):
        if client.da.ipsec is not None:
            client.da.ipsec.logon()
        else:
            client.da.note("the user logs on")


@action("nls_down")
def _nls_down(sim: Simulation, event: EventSpec, index: int) -> None:
    sim.nls_host.up = False
    _tell(sim, None, "scenario: the network location server (NLS) stops answering")


@action("nls_up")
def _nls_up(sim: Simulation, event: EventSpec, index: int) -> None:
    sim.nls_host.up = True
    _tell(sim, None, "scenario: the network location server (NLS) answers again")


@action("clear_proxy_cache", on_clients=True)
def _clear_proxy_cache(sim: Simulation, event: EventSpec, index: int) -> None:
    """KB 2980635's fix (E2): export and delete the subkeys of
    ``HKLM\\SYSTEM\\CurrentControlSet\\Services\\iphlpsvc\\Parameters\\ProxyMgr``, then restart
    the IP Helper service, which decides its proxy afresh."""
    for c in _clients(sim, event, index):
        if c.proxy_settings is not None:
            c.proxy_settings.remember(sim.kernel.env.now, None)
        c.da.restart("ProxyMgr cache cleared (the subkeys of HKLM\\SYSTEM\\CurrentControlSet"
                     "\\Services\\iphlpsvc\\Parameters\\ProxyMgr deleted) and the IP Helper "
                     "service restarted", relocate=False)


@action("winhttp_reset_proxy", on_clients=True)
def _winhttp_reset_proxy(sim: Simulation, event: EventSpec, index: int) -> None:
    """``netsh winhttp reset proxy``: the static proxy and its bypass list go (KB 3017472's
    fix, E3); a PAC URL or automatic detection stay. The IP Helper reads the settings again
    at its next attempt."""
    for c in _clients(sim, event, index):
        settings = c.proxy_settings
        if settings is None or settings.config is None:
            c.da.note("netsh winhttp reset proxy: there was no static proxy")
            continue
        settings.reset_winhttp(sim.kernel.env.now)
        c.da.note("netsh winhttp reset proxy: direct access (no proxy server)")
