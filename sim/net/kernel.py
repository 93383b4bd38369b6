"""One run's clock, named random streams and structured trace.

The kernel stays as small as SimPy's own core: the model lives in devices and protocol
machines. Time is ``env.now`` in seconds; nothing reads the wall clock.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import NORMAL, URGENT, EmptySchedule, Infinity, StopSimulation
from simpy.events import Event

from sim.net.fastpath import NEAR, LightEvent, call_later, direct_clock

__all__ = ["NEAR", "Environment", "Kernel", "LightEvent", "Stream", "Trace", "TraceRecord",
           "call_later", "derive_seed", "long_lived_build"]


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


class Stream:
    """A named random stream: SplitMix64 (Steele, Lea & Flood, 2014) in one integer of state.

    A fleet has a few streams per laptop; Python's Mersenne Twister keeps 2.5 KB of state per
    stream, this keeps one word, and its draws are statistically fine for a simulator."""

    __slots__ = ("state",)
    _MASK = (1 << 64) - 1

    def __init__(self, seed: int) -> None:
        self.state = seed & self._MASK

    def next64(self) -> int:
        self.state = z = (self.state + 0x9E3779B97F4A7C15) & self._MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self._MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self._MASK
        return z ^ (z >> 31)

    def random(self) -> float:
        """Uniform in [0, 1) with 53 bits."""
        return (self.next64() >> 11) * (1.0 / 9007199254740992.0)

    def getrandbits(self, k: int) -> int:
        if k == 64:   # one word (a Teredo nonce): what the loop below returns for it
            return self.next64()
        out, have = 0, 0
        while have < k:
            out = (out << 64) | self.next64()
            have += 64
        return out >> (have - k) if k else 0

    def randint(self, a: int, b: int) -> int:
        span = b - a + 1
        bits = span.bit_length()
        while True:   # rejection sampling: no modulo bias
            v = self.getrandbits(bits)
            if v < span:
                return a + v

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    def randbytes(self, n: int) -> bytes:
        return self.getrandbits(n * 8).to_bytes(n, "big")


def derive_seed(seed: int, name: str) -> int:
    """A 64-bit seed for the stream ``name``: independent of every other stream's name, so
    adding a component never changes another component's draws."""
    digest = hashlib.sha256(f"{seed}\x00{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


@direct_clock
class Environment(simpy.Environment):
    """SimPy's environment with two heaps, and ``step`` as a loop rather than a call per
    event.

    A fleet shard keeps hundreds of timers pending (refreshes, checks, retransmissions) while
    most events are packet hops due within milliseconds. On one heap every hop pays for the
    timers' depth; here events due within ``NEAR`` seconds go on ``_queue`` (the near heap,
    also where ``sim.net.link`` pushes hops) and later ones on ``_later``. Each step takes
    the smaller of the two heads, so events still run in SimPy's order (time, priority,
    event id) and runs stay identical. ``_process`` does what ``Environment.step`` does, in
    the same order: pop, swap the callbacks out, call them, re-schedule the rest on
    ``StopSimulation``, crash on a failed event nobody defused.

    ``now`` is a slot (``sim.net.fastpath.direct_clock``): reading it costs no call."""

    __slots__ = ("_now",)

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self._later: list = []

    def schedule(self, event: Event, priority: int = NORMAL, delay: float = 0) -> None:
        heappush(self._queue if delay < NEAR else self._later,
                 (self._now + delay, priority, next(self._eid), event))

    def peek(self) -> float:
        heads = [q[0][0] for q in (self._queue, self._later) if q]
        return min(heads) if heads else Infinity

    def step(self) -> None:
        if not (self._queue or self._later):
            raise EmptySchedule
        self._process(once=True)

    def run(self, until: float | Event | None = None) -> Any:
        if until is not None:
            if not isinstance(until, Event):
                at = until if isinstance(until, int) else float(until)
                if at <= self._now:
                    raise ValueError(
                        f"until ({at}) must be greater than the current simulation time")
                until = Event(self)
                until._ok = True
                until._value = None
                self.schedule(until, URGENT, at - self._now)
            elif until.callbacks is None:
                return until.value
            until.callbacks.append(StopSimulation.callback)
        try:
            self._process(once=False)
        except StopSimulation as stop:
            return stop.args[0]
        if until is not None:
            raise RuntimeError(f'No scheduled events left but "until" event was not '
                               f"triggered: {until}")
        return None

    def _process(self, once: bool) -> None:
        """Process events until none is left (or after one): SimPy's ``step`` in a loop."""
        near, later = self._queue, self._later
        while True:
            if later and (not near or later[0] < near[0]):
                self._now, _, _, event = heappop(later)
            elif near:
                self._now, _, _, event = heappop(near)
            else:
                return
            callbacks, event.callbacks = event.callbacks, None
            try:
                for callback in callbacks:
                    callback(event)
            except StopSimulation:
                event.callbacks = callbacks[callbacks.index(callback) + 1:]
                self.schedule(event, -1)
                raise
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
            if once:
                return

    @property
    def pending(self) -> int:
        """Events scheduled and not yet processed."""
        return len(self._queue) + len(self._later)


class Kernel:
    """The SimPy environment of one run, its seed, its random streams and its trace.

    ``cut_through``: packets cross the Internet in one event (``sim.net.cutthrough``); False
    forwards hop by hop, with the same results (a test compares the two)."""

    cut_through = True

    def __init__(self, seed: int = 1, trace: bool = False, streams: str = "") -> None:
        self.env = Environment()
        self.seed = seed
        self.streams = streams   # a prefix of every stream's name: a fleet shard's own draws
        self.trace = Trace(trace)
        self._streams: dict[str, Stream] = {}
        self.drops = 0

    @property
    def now(self) -> float:
        return self.env.now

    def rng(self, name: str) -> Stream:
        """The named random stream (created on first use, then shared by that name)."""
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = Stream(derive_seed(self.seed, self.streams + name))
        return stream

    def once(self, name: str) -> Stream:
        """A stream named ``name`` alone, for one laptop's draw: not kept (a fleet has a
        laptop per draw) and without the shard's prefix, so a laptop draws the same whichever
        shard holds it."""
        return Stream(derive_seed(self.seed, name))

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


@contextmanager
def long_lived_build() -> Iterator[None]:
    """Run with what was built so far out of the cyclic collector's reach, and young garbage
    collected less often. A fleet is millions of long-lived objects: without this, every full
    collection rescans the whole fleet and a run's cost grows faster than the fleet."""
    gc.collect()
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 50_000), threshold[1], threshold[2])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
