"""Links and LAN segments: latency, jitter, loss and bandwidth.

A hop is one SimPy event whose callback hands the packet to the receiving interface: no
process and no closure per packet, which keeps the hot path close to bare SimPy. The event is
the packet itself (its ``callbacks`` slot set to the receiving interface's ``_arrivals``), so a
hop allocates nothing; a packet already in flight elsewhere (an inner packet that a Teredo
server shares between its answers) travels in a :class:`Hop` wrapper whose callbacks are the
interface's ``_hop_arrivals``.

Fast path: a link without loss, jitter or bandwidth limit, and up, needs no decision per
packet but the receiving end. The link then gives each end a *wire* ``(env, latency,
receiver, segment, queue, ids)``: on a cable ``receiver`` is the other end, on a segment
``segment`` maps each next-hop address (by ``addr_key``) to its end; ``queue`` and ``ids``
are the environment's near heap and event ids (``sim.net.fastpath.hop_queue``). An end's
own last mile (``access_delay``, a carrier subscriber's) is in its wire's latency, and a
segment's sender adds the receiving end's. ``Interface.send`` and ``Node.send`` put the
hop straight on SimPy's queue (``sim.net.fastpath.schedule_hop``), as ``Timeout`` would (same
time, priority and event id, so runs stay identical), without ``Timeout``'s generic
constructor, ``Environment.schedule`` and a callback list per packet.
Any change of those settings or of the ends recomputes the wires.

Jitter keeps each flow's order: a packet never arrives before the one its flow (sender end,
addresses, protocol, ports) sent before it on this link, as on a real path, where jitter is
queueing and a flow keeps to one path (ECMP hashes flows, RFC 2992 §2); packets of different
flows may overtake each other. ``reorder`` drops that rule: each packet's jitter is its own,
so a flow's packets arrive out of order too (what Linux netem does with jitter alone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from sim.net.fastpath import LightEvent, addr_key, hop_queue, schedule_hop

if TYPE_CHECKING:
    from sim.net.kernel import Kernel
    from sim.net.packet import Address, Packet


FLOWS_KEPT = 1024   # flows remembered before those with nothing in flight are forgotten


class End(Protocol):
    """What a link needs of the interface at one of its ends (``sim.net.node.Interface``,
    which imports this module)."""

    addresses: list[Any]
    access_delay: float
    tx_free_at: float
    _wire: tuple | None
    transit: Any
    _arrivals: list
    _hop_arrivals: list

    def takes_wire(self) -> bool:
        """Whether every packet it sends may skip its ``send`` (see the fast path)."""
        ...


# A packet in flight while the same packet object is already in flight elsewhere: a light
# event whose value is the packet. (``step`` swaps an event's ``callbacks`` out for ``None``
# and never mutates the list, so every hop to an interface shares its one-element list.)
Hop = LightEvent


def _setting(name: str, doc: str) -> property:
    """A link setting whose change recomputes the ends' wires."""
    slot = "_" + name

    def get(self: Link):
        return getattr(self, slot)

    def set(self: Link, value) -> None:
        setattr(self, slot, value)
        self._rewire()

    return property(get, set, doc=doc)


class Link:
    """A cable (two ends) or a LAN segment (several ends, delivery by next-hop address)."""

    __slots__ = (
        "_bandwidth", "_flow_due", "_jitter", "_latency", "_loss", "_prune_at", "_up",
        "by_key", "ends", "kernel", "name", "reorder", "rng",
    )

    latency = _setting("latency", "one-way delay in seconds")
    jitter = _setting("jitter", "extra delay, uniform in [0, jitter) seconds")
    loss = _setting("loss", "probability that a packet is lost")
    bandwidth = _setting("bandwidth", "bit/s; None: no serialisation delay")
    up = _setting("up", "a link that is down drops everything")

    def __init__(
        self,
        kernel: Kernel,
        name: str,
        latency: float = 0.001,
        jitter: float = 0.0,
        loss: float = 0.0,
        bandwidth: float | None = None,
        reorder: bool = False,
    ) -> None:
        self.kernel = kernel
        self.name = name
        self._latency = latency
        self._jitter = jitter
        self._loss = loss
        self._bandwidth = bandwidth  # bit/s; None: no serialisation delay
        self._up = True
        self.reorder = reorder   # jitter may reorder a flow's packets (default: it may not)
        # with jitter and in order: when each flow's last packet arrives (flow -> time)
        self._flow_due: dict[tuple, float] = {}
        self._prune_at = FLOWS_KEPT
        self.ends: list[End] = []
        # on a segment, the end that owns each address, by ``addr_key`` (hot path)
        self.by_key: dict[int, End] = {}
        self.rng = kernel.rng(f"link:{name}")

    def set_access_delay(self, iface: End, delay: float) -> None:
        """Give an end its own one-way last mile (a carrier's subscriber): extra delay of
        every packet it sends or receives here (0: none)."""
        iface.access_delay = delay
        self._rewire()

    @property
    def access(self) -> dict[End, float]:
        """The ends with a last mile of their own, and its delay."""
        return {end: end.access_delay for end in self.ends if end.access_delay}

    def attach(self, iface: End) -> None:
        self.ends.append(iface)
        for addr in iface.addresses:
            self.by_key[addr_key(addr)] = iface
        self._rewire()

    def detach(self, iface: End) -> None:
        """Unplug an end (a laptop leaving the network) with the addresses it owned here."""
        if iface.transit is not None:
            iface.transit.forwarding_changed()
        self.ends.remove(iface)
        for key in [k for k, end in self.by_key.items() if end is iface]:
            del self.by_key[key]
        iface.access_delay = 0.0
        self._rewire()

    def learn(self, iface: End, addr: Address) -> None:
        """An interface took a new address on this segment (DHCP, a tunnel's endpoint)."""
        self.by_key[addr_key(addr)] = iface
        self._transit_changed()

    def _rewire(self) -> None:
        """Give each end its wire (fast path) when nothing per packet needs deciding, else
        ``None`` (every packet goes through ``transmit``)."""
        ends = self.ends
        simple = self._up and not (self._loss or self._jitter or self._bandwidth)
        env = self.kernel.env
        queue, ids = hop_queue(env)
        for i, end in enumerate(ends):
            if not (simple and end.takes_wire()):
                end._wire = None
            elif len(ends) == 2:
                other = ends[1 - i]
                end._wire = (env, self._latency + end.access_delay + other.access_delay,
                             other, None, queue, ids)
            else:
                end._wire = (env, self._latency + end.access_delay, None, self.by_key, queue,
                             ids)
        self._transit_changed()

    def _transit_changed(self) -> None:
        """Tell a stateless router at an end that its link changed (``sim.net.cutthrough``)."""
        for end in self.ends:
            if end.transit is not None:
                end.transit.forwarding_changed()

    def transmit(self, pkt: Packet, sender: End, next_hop: Address) -> None:
        """Carry ``pkt`` from ``sender`` to the end that owns ``next_hop``."""
        ends = self.ends
        if len(ends) == 2:
            receiver = ends[1] if sender is ends[0] else ends[0]
        else:
            receiver = self.by_key.get(addr_key(next_hop))
            if receiver is None:
                self.kernel.drop(self.name, pkt, f"no host {next_hop} on segment {self.name}")
                return
        if not self._up:
            self.kernel.drop(self.name, pkt, f"link {self.name} is down")
            return
        delay = self._latency + sender.access_delay + receiver.access_delay
        if self._loss and self.rng.random() < self._loss:
            self.kernel.drop(self.name, pkt, f"lost on link {self.name}")
            return
        if self._jitter:
            delay += self._jitter * self.rng.random()
        if self._bandwidth:
            now = self.kernel.env.now
            start = sender.tx_free_at if sender.tx_free_at > now else now
            sender.tx_free_at = start + pkt.size * 8.0 / self._bandwidth
            delay += sender.tx_free_at - now
        if self._jitter and not self.reorder:
            delay = self._in_order(pkt, sender, delay)
        schedule_hop(self.kernel.env, delay, receiver, pkt)

    def _in_order(self, pkt: Packet, sender: End, delay: float) -> float:
        """``delay``, or longer so that ``pkt`` arrives no earlier than its flow's previous
        packet (at the same time it arrives after it: a hop scheduled later runs later)."""
        now = self.kernel.env.now
        due = self._flow_due
        flow = (sender, pkt.skey, pkt.dkey, pkt.proto, pkt.sport, pkt.dport)
        last = due.get(flow)
        if last is not None and last > now + delay:
            delay = last - now
        due[flow] = now + delay
        if len(due) > self._prune_at:   # flows whose last packet has arrived constrain nothing
            for key in [k for k, t in due.items() if t <= now]:
                del due[key]
            self._prune_at = max(FLOWS_KEPT, 2 * len(due))
        return delay

