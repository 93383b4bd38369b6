"""Linux conntrack's UNREPLIED entries, as a NAT option (``NatConfig.unreplied_hold``).

An inbound UDP datagram that no mapping admits still leaves a conntrack entry (remote →
external address and port, UNREPLIED, ``nf_conntrack_udp_timeout`` 30 s, re-armed by each
one). A later flow from inside that would leave by that external port to that remote would
have the entry's reply tuple, so conntrack's NAT gives the flow a port of its own. Measured
with iptables MASQUERADE and a real Teredo qualification (docs/crosscheck.md): the filtered
cone-test answers from the server's second address make the later solicitation to it leave
from another port, and RFC 4380's order then sees a symmetric NAT.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.net.packet import UDP, Packet

if TYPE_CHECKING:
    from simpy import Environment

    from sim.net.nat.table import Binding

HELD_SWEEP = 4096   # forget expired entries when the table grows past this


class UnrepliedHold:
    """A part of :class:`~sim.net.nat.gateway.Nat`."""

    if TYPE_CHECKING:
        _env: Environment
        _map: dict[tuple, Binding]

        def _create(self, key: tuple, proto: int, pkt: Packet, wanted: int
                    ) -> Binding | None: ...

    _hold = 0.0
    _held: dict[tuple, float]
    _flows = False   # a flow has had a port of its own since the last reboot

    def _hold_tuple(self, pkt: Packet) -> None:
        """An inbound UDP datagram no mapping admitted holds its tuple."""
        if self._hold and pkt.proto == UDP:
            held = self._held
            now = self._env.now
            if len(held) > HELD_SWEEP:
                for k in [k for k, until in held.items() if until <= now]:
                    del held[k]
            held[(pkt.dkey, pkt.dport, pkt.skey, pkt.sport)] = now + self._hold

    def _unheld(self, b: Binding, pkt: Packet) -> Binding | None:
        """The binding an outbound UDP packet leaves by: ``b``, unless the packet's flow has
        its own, or ``b``'s external port towards this remote is held by an UNREPLIED entry;
        then the flow gets a binding of its own, on another port, as conntrack gives it."""
        fkey = (UDP, pkt.skey, pkt.sport, pkt.dkey, pkt.dport)
        flow = self._map.get(fkey)
        if flow is not None:
            return flow
        hkey = (b.ext_key, b.ext_port, pkt.dkey, pkt.dport)
        until = self._held.get(hkey)
        if until is None:
            return b
        if until <= self._env.now:
            del self._held[hkey]
            return b
        self._flows = True
        return self._create(fkey, UDP, pkt, pkt.sport)
