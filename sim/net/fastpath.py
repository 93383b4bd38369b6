"""The hot path's speed tricks, in one place.

A fleet shard forwards millions of packets, and every step of a hop is a few Python
byte-codes, so the network model takes a few short cuts around ``ipaddress`` and SimPy. They
all live here, each with why it exists; the devices (``node``, ``router``, ``host``, ``nat``,
``firewall``, ``tcp``) read like the model they are and use only these names:

- **Address keys.** Hashing an ``IPv4Address`` calls ``hex()`` in Python and comparing two
  calls ``__eq__`` in Python, so tables on the hot path are keyed by integers instead
  (:func:`addr_key`). A packet computes its two keys once, when it is made
  (:class:`KeyedPacket`: ``pkt.skey``, ``pkt.dkey``), and every hop reads them as slots.
- **Hop scheduling.** A packet is its own SimPy event (``callbacks``, ``_ok``), pushed straight
  on the environment's near heap (:func:`schedule_hop`, :func:`hop_queue`) as a ``Timeout``
  would be, with the same time, priority and event id, so runs stay identical.
- **Timers.** :func:`call_later` is ``env.timeout(delay).callbacks.append(fn)`` without
  ``Timeout``'s generic constructor (:class:`LightEvent`).
- **Cut-through.** :func:`schedule_at` schedules a hop at an absolute time (a packet cut
  through the Internet and called back, ``sim.net.cutthrough``).
- **The clock.** :func:`direct_clock` makes ``env.now`` read SimPy's ``_now`` slot directly,
  without the property call, so the model can write ``env.now`` everywhere.

None of these is called per packet in addition to what the devices do: keys are made with the
packet, the hop queue is bound once per link change, and the clock is a slot.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any

from simpy.core import NORMAL

if TYPE_CHECKING:
    from ipaddress import IPv4Address, IPv6Address

    Address = IPv4Address | IPv6Address

HOP_PRIORITY = NORMAL   # a hop is scheduled as a Timeout is: runs stay identical to SimPy's

# Events due sooner than this go on the near heap, later ones on the far heap
# (``sim.net.kernel.Environment``).
NEAR = 1.0

_new = object.__new__


# --- address keys --------------------------------------------------------------------------


def addr_key(addr: Address) -> int:
    """A cheap dictionary key for an address: its integer (``ipaddress``'s ``_ip`` slot), which
    hashes in C where an ``IPv4Address`` hashes by calling ``hex()`` and an ``IPv6Address`` by
    hashing a tuple, both in Python. IPv6 integers are complemented (negative), so the two
    families never collide. Called when tables are built; packets carry their keys."""
    return addr._ip if addr._version == 4 else ~addr._ip


class KeyedPacket:
    """The fields of a packet (``sim.net.packet.Packet`` adds what the model reads), set in
    one place with the keys of its two addresses (``skey``, ``dkey``: :func:`addr_key`), so no
    hop computes a key. A packet is also its own SimPy event while it crosses a link:
    ``callbacks`` holds the receiving interface's arrival list then and is ``None``
    otherwise, and ``_ok`` is what ``Environment.step`` checks after the callbacks.

    Whoever sets ``src`` or ``dst`` of a packet after it is made sets its key too (a NAT's
    rewrite does; ``Packet.replace`` makes a new packet)."""

    __slots__ = (
        "ack", "callbacks", "dkey", "dport", "dst", "flags", "inner", "payload", "proto", "seq",
        "size", "skey", "sport", "src", "ttl",
    )
    _ok = True

    def __init__(
        self,
        src: Address,
        dst: Address,
        proto: int,
        sport: int = 0,
        dport: int = 0,
        size: int = 0,
        payload: Any = None,
        inner: Any = None,
        flags: int = 0,
        seq: int = 0,
        ack: int = 0,
        ttl: int = 64,
    ) -> None:
        self.src = src
        self.dst = dst
        self.skey = src._ip if src._version == 4 else ~src._ip   # addr_key, inline
        self.dkey = dst._ip if dst._version == 4 else ~dst._ip
        self.proto = proto
        self.sport = sport
        self.dport = dport
        self.size = size
        self.payload = payload
        self.inner = inner
        self.flags = flags
        self.seq = seq
        self.ack = ack
        self.ttl = ttl
        self.callbacks = None


# --- events and hops -----------------------------------------------------------------------


class LightEvent:
    """The least that SimPy's ``Environment.step`` reads from an event (``callbacks``, ``_ok``,
    ``_value``): a timer made by :func:`call_later`, whose ``_value`` is what it was given,
    or a packet in flight in a wrapper (``sim.net.link.Hop``), whose ``_value`` is the
    packet."""

    __slots__ = ("_value", "callbacks")
    _ok = True


def call_later(env: Any, delay: float, fn: Any, value: Any = None) -> LightEvent:
    """Call ``fn(timer)`` after ``delay``: what ``env.timeout(delay, value).callbacks.append(fn)``
    does — same time, priority and event-id order, so runs stay identical — without
    ``Timeout``'s generic constructor and ``Environment.schedule``. Protocol timers (NAT
    bindings, Teredo refreshes, TCP retransmissions, pings) set millions of them."""
    timer = _new(LightEvent)
    timer.callbacks = [fn]
    timer._value = value
    heappush(env._queue if delay < NEAR else env._later,
             (env._now + delay, NORMAL, next(env._eid), timer))
    return timer


def events_scheduled(env: Any) -> int:
    """How many events ``env`` has scheduled so far (SimPy's event-id counter; reading it
    takes one id, which only renumbers later ties in their own order)."""
    return next(env._eid)


def hop_queue(env: Any) -> tuple[list, Any]:
    """The near heap and the event-id counter of ``env``, for a link's wire: bound once when
    the wire is made, so ``Node.send`` pushes a hop with ``heappush(queue, (env.now + delay,
    HOP_PRIORITY, next(ids), pkt))``, what :func:`schedule_hop` does, without a call."""
    return env._queue, env._eid


def schedule_hop(env: Any, delay: float, receiver: Any, pkt: Any) -> None:
    """Schedule ``pkt`` to reach ``receiver`` after ``delay``: what
    ``Timeout(env, delay, pkt).callbacks.append(...)`` does, at a fraction of the cost. The
    packet is the event; a packet already in flight (an inner packet that a Teredo server
    shares between its answers) travels in a :class:`LightEvent` instead. ``Node.send``
    inlines the common case with :func:`hop_queue`: the call would cost 2 % of a fleet's
    instructions."""
    if pkt.callbacks is None:
        pkt.callbacks = receiver._arrivals
        heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), pkt))
    else:
        hop = _new(LightEvent)
        hop.callbacks = receiver._hop_arrivals
        hop._value = pkt
        heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), hop))


def schedule_at(env: Any, at: float, receiver: Any, pkt: Any) -> None:
    """:func:`schedule_hop` at an absolute time ``at`` (a hop whose delay was counted from
    another moment than now: a cut-through packet called back, ``sim.net.cutthrough``)."""
    if pkt.callbacks is None:
        pkt.callbacks = receiver._arrivals
        heappush(env._queue, (at, NORMAL, next(env._eid), pkt))
    else:
        hop = _new(LightEvent)
        hop.callbacks = receiver._hop_arrivals
        hop._value = pkt
        heappush(env._queue, (at, NORMAL, next(env._eid), hop))


# --- the clock -----------------------------------------------------------------------------


def direct_clock(cls: type) -> type:
    """Class decorator for an environment class that declares ``__slots__ = ("_now",)``:
    its ``now`` becomes that slot's descriptor, so ``env.now`` reads the time as fast as
    ``env._now`` (no property call) and the two always agree."""
    cls.now = cls.__dict__["_now"]
    return cls
