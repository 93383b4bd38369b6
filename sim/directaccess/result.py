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


def _t(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


@dataclass
class ClientResult:
    name: str
    network: str
    location: str | None
    connected: bool
    method: str | None
    time_to_connect_s: float | None
    last_error: str | None
    attempts: list[dict[str, Any]]
    interfaces: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def of(cls, client: DirectAccessClient, name: str, network: str,
           started_at: float = 0.0) -> ClientResult:
        st = client.state
        interfaces: dict[str, list[dict[str, Any]]] = {}
        if client.teredo is not None:
            interfaces["teredo"] = [{"t": _t(t), **snap} for t, snap in
                                    client.teredo.status.history]
        if client.iphttps is not None:
            interfaces["iphttps"] = [{"t": _t(t), **snap} for t, snap in
                                     client.iphttps.status.history]
        if client.sixtofour_history:
            interfaces["6to4"] = [{"t": _t(t), "state": s} for t, s in client.sixtofour_history]
        return cls(
            name=name, network=network, location=st.location,
            connected=st.method is not None, method=st.method,
            time_to_connect_s=None if st.connected_at is None
            else _t(st.connected_at - started_at),
            last_error=st.last_error,
            attempts=[a.as_dict() for a in st.attempts],
            interfaces=interfaces,
        )

    def as_dict(self, with_interfaces: bool = False) -> dict[str, Any]:
        out = {"name": self.name, "network": self.network, "location": self.location,
               "connected": self.connected, "method": self.method,
               "time_to_connect_s": self.time_to_connect_s, "last_error": self.last_error,
               "attempts": self.attempts}
        if with_interfaces:
            out["interfaces"] = self.interfaces
        return out


@dataclass
class RunResult:
    scenario: str
    seed: int
    duration_s: float
    clients: list[ClientResult]

    def summary(self) -> dict[str, Any]:
        by_method = Counter(c.method for c in self.clients if c.method)
        by_error = Counter(c.last_error for c in self.clients
                           if c.last_error and not c.connected)
        return {"clients": len(self.clients),
                "connected": sum(c.connected for c in self.clients),
                "by_method": dict(sorted(by_method.items())),
                "by_error": dict(sorted(by_error.items()))}

    def as_dict(self, with_interfaces: bool = False) -> dict[str, Any]:
        return {"schema": SCHEMA, "scenario": self.scenario, "seed": self.seed,
                "duration_s": _t(self.duration_s),
                "clients": [c.as_dict(with_interfaces) for c in self.clients],
                "summary": self.summary()}
