"""The outcome of one run, per client, in the shape of the JSON contract (``dasim.result/1``).

Times are simulated seconds rounded to microseconds, so that the same scenario and seed give
byte-identical JSON.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.directaccess.client import DirectAccessClient

SCHEMA = "dasim.result/1"

# A client whose connectivity checks (``connectivity_probe``) were lost more than this share
# is degraded: its tunnel is up but does not carry its traffic reliably. A modelling choice,
# not a Windows rule: one check in ten lost is already felt by users (docs/model.md).
DEGRADED_LOSS = 0.1


def degraded(answered: int, unanswered: int, threshold: float = DEGRADED_LOSS) -> bool:
    """Whether checks lost more than ``threshold`` of the time (none sent: not degraded)."""
    sent = answered + unanswered
    return sent > 0 and unanswered / sent > threshold


def _t(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


_ATTEMPT_FIELDS = ("method", "start_s", "end_s", "result", "reason", "error")


@dataclass
class ClientResult:
    """One client's outcome. Its attempts and interface histories are kept as the client
    recorded them (tuples, snapshots) and become dicts only when read: a fleet result holds
    hundreds of thousands of them."""

    name: str
    network: str
    location: str | None
    connected: bool
    method: str | None
    time_to_connect_s: float | None
    last_error: str | None
    attempt_values: tuple[tuple, ...] = ()
    probes: tuple[int, int] | None = None   # connectivity checks (answered, unanswered)
    site: str | None = None   # which site of its network ("home#12"), if it has several
    # above the tunnel (with IPsec modelled): {status, error, tunnels} and {host: reachable}
    directaccess: dict[str, Any] | None = None
    resources: dict[str, bool] | None = None
    histories: dict[str, list[tuple[float, Any]]] = field(default_factory=dict, repr=False)
    # which method carried DirectAccess traffic from when (None: none did): a Windows 8+
    # client runs Teredo and IP-HTTPS side by side and moves to Teredo when it comes up
    uses: tuple[tuple[float, str | None], ...] = ()
    nls_through_tunnel: int = 0   # times it found the NLS through its own tunnel (N7)

    @classmethod
    def of(cls, client: DirectAccessClient, name: str, network: str,
           started_at: float = 0.0, site: str | None = None) -> ClientResult:
        st = client.state
        histories: dict[str, list[tuple[float, Any]]] = {}
        # copies of the lists (not of the snapshots): what was recorded up to now
        if client.teredo is not None:
            histories["teredo"] = client.teredo.status.history[:]
        if client.iphttps is not None:
            histories["iphttps"] = client.iphttps.status.history[:]
        if client.sixtofour_history:
            histories["6to4"] = [(t, {"state": s}) for t, s in client.sixtofour_history]
        return cls(
            name=name, network=network, location=st.location,
            connected=st.method is not None, method=st.method,
            time_to_connect_s=None if st.connected_at is None
            else _t(st.connected_at - started_at),
            # null while a method carries the traffic, as netsh shows 0x0 then
            last_error=None if st.method is not None else st.last_error,
            attempt_values=tuple(tuple(getattr(a, f) for f in _ATTEMPT_FIELDS)
                                 for a in st.attempts),
            histories=histories,
            uses=tuple(st.method_history),
            probes=(st.probes_ok, st.probes_failed) if client.probe_interval else None,
            site=site,
            nls_through_tunnel=st.nls_through_tunnel,
            **_above(client),
        )

    @property
    def degraded(self) -> bool:
        """Whether its connectivity checks show a degraded tunnel (``DEGRADED_LOSS``)."""
        return self.probes is not None and degraded(*self.probes)

    @property
    def attempts(self) -> list[dict[str, Any]]:
        out = []
        for method, start, end, result, reason, error in self.attempt_values:
            a = {"method": method, "start_s": _t(start), "end_s": _t(end), "result": result,
                 "reason": reason}
            if error is not None:
                a["error"] = error
            out.append(a)
        return out

    @property
    def interfaces(self) -> dict[str, list[dict[str, Any]]]:
        return {kind: [{"t": _t(t), **snap} for t, snap in history]
                for kind, history in self.histories.items()}

    def as_dict(self, with_interfaces: bool = False) -> dict[str, Any]:
        out = {"name": self.name, "network": self.network,
               **({"site": self.site} if self.site is not None else {}),
               "location": self.location,
               "connected": self.connected, "method": self.method,
               "time_to_connect_s": self.time_to_connect_s, "last_error": self.last_error,
               "attempts": self.attempts,
               "uses": [{"t": _t(t), "method": m} for t, m in self.uses]}
        if self.nls_through_tunnel:   # the NLS's name without its exemption (B8)
            out["nls_through_tunnel"] = self.nls_through_tunnel
        if self.probes is not None:
            answered, lost = self.probes
            out["probes"] = {"answered": answered, "unanswered": lost,
                             "lost_share": round(lost / (answered + lost), 4)
                             if answered + lost else None,
                             "degraded": self.degraded}
        if self.directaccess is not None:
            out["directaccess"] = self.directaccess
            out["resources"] = self.resources
        if with_interfaces:
            out["interfaces"] = self.interfaces
        return out


def _above(client: DirectAccessClient) -> dict[str, Any]:
    """The IPsec layer's part of the result (nothing when it is not modelled)."""
    ipsec = client.ipsec
    if ipsec is None:
        return {}
    inside = client.state.location == "inside"
    status = "ConnectedLocally" if inside else ipsec.status
    error = None if inside or ipsec.error is None else str(ipsec.error)
    reason = None if inside or error is None else ipsec.reason
    tunnels = {} if inside else dict(ipsec.tunnels)
    history = [{"t": _t(t), "status": st, "error": None if e is None else str(e),
                "tunnels": dict(tun)} for t, st, e, tun in ipsec.history]
    reached = [{"t": _t(t), "host": name, "reachable": ok}
               for t, name, ok in ipsec.resource_history]
    return {"directaccess": {"status": status, "error": error, "reason": reason,
                             "tunnels": tunnels, "history": history,
                             "resource_history": reached,
                             **({"opens": [o.as_dict() for o in ipsec.opened]}
                                if ipsec.opens else {})},
            "resources": dict(ipsec.resources)}


@dataclass
class RunResult:
    scenario: str
    seed: int
    duration_s: float
    clients: list[ClientResult]

    def summary(self) -> dict[str, Any]:
        by_method = Counter(c.method for c in self.clients if c.method)
        # the laptops that found no way in: not on a tunnel, and not inside the office
        by_error = Counter(c.last_error for c in self.clients
                           if c.last_error and not c.connected and c.location != "inside")
        out = {"clients": len(self.clients),
               "connected": sum(c.connected for c in self.clients),
               "by_method": dict(sorted(by_method.items())),
               "by_error": dict(sorted(by_error.items()))}
        checked = [c for c in self.clients if c.probes is not None]
        if checked:   # connectivity checks ran: how many answered, lost, and who is degraded
            out["probes"] = _checks(checked)
            out["degraded"] = out["probes"].pop("degraded")   # next to "connected"
            networks: dict[str, list[ClientResult]] = {}
            for c in checked:
                networks.setdefault(c.network, []).append(c)
            out["probes"]["by_network"] = {n: _checks(cs) for n, cs in sorted(networks.items())}
        if any(c.directaccess is not None for c in self.clients):   # IPsec modelled
            by_status = Counter(c.directaccess["status"] for c in self.clients
                                if c.directaccess is not None)
            out["by_directaccess"] = dict(sorted(by_status.items()))
        return out

    def as_dict(self, with_interfaces: bool = False) -> dict[str, Any]:
        return {"schema": SCHEMA, "scenario": self.scenario, "seed": self.seed,
                "duration_s": _t(self.duration_s),
                "clients": [c.as_dict(with_interfaces) for c in self.clients],
                "summary": self.summary()}


def _checks(clients: list[ClientResult]) -> dict[str, int]:
    """The connectivity checks of ``clients``: answered, lost, and how many are degraded."""
    return {"answered": sum(c.probes[0] for c in clients),
            "unanswered": sum(c.probes[1] for c in clients),
            "degraded": sum(c.degraded for c in clients)}
