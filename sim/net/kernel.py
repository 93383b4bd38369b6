"""One run's clock, named random streams and structured trace.

The kernel stays as small as SimPy's own core: the model lives in devices and protocol
machines. Time is ``env.now`` in seconds; nothing reads the wall clock.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

import simpy


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """One thing that happened: when, where, what, and its details."""

    t: float
    node: str
    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


class Trace:
    """An append-only list of records; ``on`` is read by callers before they build a record,
    so a disabled trace costs one attribute test per event."""

    __slots__ = ("on", "records")

    def __init__(self, on: bool = False) -> None:
        self.on = on
        self.records: list[TraceRecord] = []

    def emit(self, t: float, node: str, kind: str, **fields: Any) -> None:
        if self.on:
            self.records.append(TraceRecord(t, node, kind, fields))

    def of_kind(self, *kinds: str) -> list[TraceRecord]:
        return [r for r in self.records if r.kind in kinds]


def derive_seed(seed: int, name: str) -> int:
    """A 64-bit seed for the stream ``name``: independent of every other stream's name, so
    adding a component never changes another component's draws."""
    digest = hashlib.sha256(f"{seed}\x00{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class Kernel:
    """The SimPy environment of one run, its seed, its random streams and its trace."""

    def __init__(self, seed: int = 1, trace: bool = False) -> None:
        self.env = simpy.Environment()
        self.seed = seed
        self.trace = Trace(trace)
        self._streams: dict[str, random.Random] = {}
        self.drops = 0

    @property
    def now(self) -> float:
        return self.env.now

    def rng(self, name: str) -> random.Random:
        """The named random stream (created on first use, then shared by that name)."""
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = random.Random(derive_seed(self.seed, name))
        return stream

    def log(self, node: str, kind: str, **fields: Any) -> None:
        """Record an event if tracing is on (callers on the hot path test ``trace.on`` first)."""
        if self.trace.on:
            self.trace.records.append(TraceRecord(self.env.now, node, kind, fields))

    def drop(self, node: str, pkt: Any, reason: str) -> None:
        """Count a dropped packet and trace why."""
        self.drops += 1
        if self.trace.on:
            self.trace.records.append(
                TraceRecord(self.env.now, node, "drop", {"pkt": pkt, "reason": reason})
            )

    def run(self, until: float | None = None) -> None:
        self.env.run(until=until)
