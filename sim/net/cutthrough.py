"""Cut-through: a packet crosses a router without state (the Internet) in no event of its own.

A hop to the Internet ends in a forwarding decision that depends on nothing but the packet
and the Internet's routes and links: no queue, no table, no random draw. So when a packet is
put on a wire towards it, the decision it would take on arrival at ``t1`` is taken at once,
with ``t1`` passed in, and the packet is scheduled straight to the next device at ``t1 +
delay``, the very time hop-by-hop forwarding gives (the same additions in the same order).

Where the decision could differ, the hop stays a hop: a packet the Internet would drop (its
drop is traced at ``t1``), a next link with loss, jitter, a bandwidth limit or a capture, a
packet already in flight elsewhere, and every run with tracing on (whoever reads the trace
sees every hop). And if the Internet's routes or links change while cut-through packets are
still on their way to it, those are called back: their one event is emptied and they become
a hop to the Internet at ``t1`` again, so the change applies to them as it would have.
"""

from __future__ import annotations

from collections import deque
from heapq import heappush
from typing import TYPE_CHECKING

from sim.net.fastpath import HOP_PRIORITY, schedule_at

if TYPE_CHECKING:
    from sim.net.kernel import Kernel
    from sim.net.node import Interface, RoutingTable
    from sim.net.packet import Packet

NOTHING: tuple = ()   # the callbacks of a called-back packet: its queued hop does nothing
MISS = object()


class CutThrough:
    """The cut-through half of a stateless router (``sim.net.internet.Internet``): ``cut``
    for the interfaces that send to it, ``forwarding_changed`` when its routes or links
    change. The attributes are the router's."""

    kernel: Kernel
    routes: RoutingTable
    local_keys: set

    def start_cut_through(self) -> None:
        """Take part: packets for it may be cut through (``Kernel.cut_through``)."""
        # the packets cut through, oldest first, until they are past the router
        self._on_way: deque[tuple[float, Packet, Interface]] = deque()
        # the decision per destination key, worked out once (``_path``): a fleet's packets
        # go to a few hundred destinations, and routes and links change rarely
        self._paths: dict[int, tuple | None] = {}
        self.routes.on_change = self.forwarding_changed

    def _path(self, pkt: Packet) -> tuple | None:
        """What ``cut`` needs to forward a packet to ``pkt.dst``: ``(egress interface, the
        next device's arrivals, delay, queue, ids)``, or None if such packets travel as hops
        (no route, a next link that decides per packet, a next device that is a stateless
        router too). Kept until a route or link changes (``forwarding_changed``)."""
        dkey = pkt.dkey
        hop = self.routes.cache.get(dkey, MISS)
        if hop is MISS:
            hop = self.routes.lookup(pkt.dst)
        path = None
        if hop is not None:
            iface, gw, gw_key = hop
            wire = iface._wire
            if wire is not None:
                _env, delay, end, segment, queue, ids = wire
                if segment is not None:
                    end = segment.get(gw_key if gw is not None else dkey)
                    if end is not None:
                        delay += end.access_delay
                if end is not None and end.transit is None:
                    path = (iface, end._arrivals, delay, queue, ids)
        self._paths[dkey] = path
        return path

    def cut(self, pkt: Packet, ingress: Interface, at: float) -> bool:
        """Forward ``pkt``, due at ``ingress`` at ``at``, now: True if it was scheduled to the
        next device, False if it must travel as a hop (see the module)."""
        if pkt.callbacks is not None or self.kernel.trace.on:
            return False
        path = self._paths.get(pkt.dkey, MISS)
        if path is MISS:
            path = self._path(pkt)
        if path is None or pkt.dkey in self.local_keys:
            return False
        iface, arrivals, delay, queue, ids = path
        if iface.capture is not None or ingress.capture is not None:
            return False
        # the hop the router would schedule at ``at`` (Node.send), scheduled now
        pkt.callbacks = arrivals
        heappush(queue, (at + delay, HOP_PRIORITY, next(ids), pkt))
        on_way = self._on_way
        on_way.append((at, pkt, ingress))
        # forget from the oldest end those past the router: the queue stays a handful long,
        # so a packet is freed soon after it arrives instead of after thousands more
        now = self.kernel.env.now
        while on_way and on_way[0][0] <= now:
            on_way.popleft()
        return True

    def forwarding_changed(self) -> None:
        """A route or a link of the router changed: the packets cut through that have not
        reached it yet become hops to it again (the event that would have delivered each
        one past the router runs and does nothing)."""
        self._paths.clear()
        on_way = self._on_way
        if not on_way:
            return
        env = self.kernel.env
        now = env.now
        for at, pkt, ingress in on_way:
            if at > now and pkt.callbacks is not None:
                pkt.callbacks = NOTHING
                schedule_at(env, at, ingress, pkt)   # in a wrapper: pkt is still queued
        on_way.clear()
