"""One simulated laptop of a scenario: what the builder made for it and the events act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.directaccess.client import DirectAccessClient
    from sim.net.host import Host
    from sim.pki import MachineStores


@dataclass
class SimClient:
    """One simulated laptop: its host, its DirectAccess client and its stores."""

    name: str
    network: str
    host: Host
    da: DirectAccessClient
    stores: MachineStores
    started_at: float = 0.0
    site: str = ""   # which instance of the network: "home", "home#2", … (laptops_per_site)
    policy_refresh: Any = None   # fired by a gpo_refresh event (sim.scenario.events)
    # its ``proxy:`` settings and ProxyMgr cache (sim.directaccess.proxysettings), if given
    proxy_settings: Any = None
