"""What one DirectAccess client records: its attempts, its method over time and its timeline
(the result, ``netsh`` and the narratives read these)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Attempt:
    """One try of one method: when, how it ended, why, and the Windows error if any."""

    method: str
    start_s: float
    end_s: float | None = None
    # connected | failed | not_eligible | running | interrupted (by a restart) | standby
    # (IP-HTTPS went offline because Teredo qualified, F1.6)
    result: str = "running"
    reason: str = ""
    error: str | None = None


@dataclass
class ClientState:
    """Everything a result, a netsh rendering or a narrative needs about one client."""

    location: str | None = None
    method: str | None = None
    connected_at: float | None = None
    last_error: str | None = None   # the last error since a method last carried traffic
    attempts: list[Attempt] = field(default_factory=list)
    method_history: list[tuple[float, str | None]] = field(default_factory=list)
    events: list[tuple[float, tuple[str, ...]]] = field(default_factory=list)
    probes_ok: int = 0          # connectivity-assistant checks answered through the tunnel
    probes_failed: int = 0
    # how often it reached the NLS through its own tunnel and turned DirectAccess off (N7)
    nls_through_tunnel: int = 0

    def timeline(self) -> list[tuple[float, str]]:
        """The recorded lines, oldest first."""
        return [(t, "".join(parts)) for t, parts in self.events]

