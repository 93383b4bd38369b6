"""TCP's timers: Windows' defaults (:class:`TcpConfig`), the retransmission timer (RFC 6298
§5) with its back-off, the delayed ACK (RFC 1122 §4.2.3.2) and FIN-WAIT-2.

SimPy cannot cancel a timer, so each is a ``call_later`` whose callback checks whether it is
still the live one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.net.errors import WSAECONNABORTED
from sim.net.fastpath import call_later
from sim.net.packet import ACK, RST

if TYPE_CHECKING:
    from sim.net.kernel import Environment
    from sim.net.packet import Packet
    from sim.net.tcp.stack import TcpStack

# How long a connection whose FIN was acknowledged waits for the peer's FIN before it is
# forgotten (assumption; Windows' FIN-WAIT-2 timer is a registry value, TcpFinWait2Delay).
FIN_WAIT_2_TIMEOUT = 120.0
DUP_ACK_THRESHOLD = 3   # RFC 5681 §3.2: fast retransmit on the third duplicate ACK


@dataclass(frozen=True)
class TcpConfig:
    """Per-host (or per-connect) TCP timers.

    ``initial_rto`` and ``max_syn_retransmissions``: KB 2786464 (Windows 7: 3 s, 2; Windows 8+
    can change them with ``netsh int tcp set global``, F2.18). The server side retransmits its
    SYN-ACK on the same schedule (TcpMaxConnectResponseRetransmissions, default 2).
    ``data_rto``: RFC 6298 §2.1's 1 s initial RTO for data (assumption: Windows measures the
    RTT; without congestion in the model a fixed base RTO is close enough), doubled on each
    expiry. ``max_data_retransmissions``: TcpMaxDataRetransmissions, default 5; then the
    connection is aborted (WSAECONNABORTED, "possibly due to a data transmission time-out").
    ``delayed_ack`` and ``ack_frequency``: Windows delays the ACK of data received in order
    (RFC 1122 §4.2.3.2) until a second segment arrives (TcpAckFrequency, default 2) or 200 ms
    pass with no other (TcpDelAckTicks, default 2 × 100 ms); data sent meanwhile carries the
    ACK. Out-of-order and duplicate data, and a FIN, are acknowledged at once (RFC 5681 §4.2).
    ``delayed_ack=0`` acknowledges every segment at once.
    """

    initial_rto: float = 3.0
    max_syn_retransmissions: int = 2
    data_rto: float = 1.0
    max_data_retransmissions: int = 5
    delayed_ack: float = 0.2
    ack_frequency: int = 2


class TcpTimers:
    """The timer half of :class:`sim.net.tcp.TcpConnection` (whose slots these are)."""

    __slots__ = ()

    env: Environment
    stack: TcpStack
    config: TcpConfig
    state: str
    snd_nxt: int
    _ack_owed: int
    _ack_timer: Any
    _deadline: float | None
    _timer_at: float | None
    _rto: float
    _tries: int
    _unacked: dict[int, tuple[Any, int, int, int]]
    _peer_fin: bool
    retransmissions: int

    if TYPE_CHECKING:   # the connection's own (sim.net.tcp.connection)

        def _segment(self, flags: int, seq: int, payload: Any = None,
                     size: int = 0) -> Packet: ...

        def _terminate(self, code: int) -> None: ...

        def _forget(self) -> None: ...

    def _start_timer(self) -> None:
        """(Re)start the retransmission timer (RFC 6298 §5.1, §5.3). SimPy cannot cancel a
        timeout: a pending one that fires before the deadline re-arms, and one superseded by
        an earlier deadline is ignored."""
        self._deadline = deadline = self.env.now + self._rto
        if self._timer_at is None or self._timer_at > deadline:
            self._schedule(deadline)

    def _schedule(self, at: float) -> None:
        self._timer_at = at
        call_later(self.env, at - self.env.now, lambda _e: self._timer(at))

    def _timer(self, at: float) -> None:
        if at != self._timer_at:
            return                                        # superseded
        self._timer_at = None
        deadline = self._deadline
        if deadline is None or self.state == "CLOSED":
            return
        now = self.env.now
        if now < deadline:
            self._schedule(deadline)
            return
        if self._tries >= self.config.max_data_retransmissions:
            self._deadline = None
            self.stack.host.send(self._segment(RST, self.snd_nxt))
            self._terminate(WSAECONNABORTED)
            return
        self._tries += 1
        self._rto *= 2                                    # RFC 6298 §5.5
        self._retransmit_first()
        self._deadline = now + self._rto
        self._schedule(self._deadline)

    def _retransmit_first(self) -> None:
        """Send the earliest unacknowledged segment again (RFC 6298 §5.4)."""
        if not self._unacked:
            return
        seq = min(self._unacked)
        message, size, flags, _seqlen = self._unacked[seq]
        self.retransmissions += 1
        self.stack.host.send(self._segment(flags, seq, message, size))

    def _ack_later(self) -> None:
        """Delayed ACK (RFC 1122 §4.2.3.2, as Windows does it): acknowledge every second
        segment at once, a lone one after ``delayed_ack`` unless data we send carries the ACK
        first."""
        owed = self._ack_owed
        if owed >= self.config.ack_frequency:
            self.stack.host.send(self._segment(ACK, self.snd_nxt))
        elif owed == 1:
            self._ack_timer = call_later(self.env, self.config.delayed_ack, self._ack_due)

    def _ack_due(self, timer: Any) -> None:
        if timer is self._ack_timer:
            self._ack_timer = None
            if self._ack_owed and self.state != "CLOSED":
                self.stack.host.send(self._segment(ACK, self.snd_nxt))

    def _fin_acked(self) -> None:
        if self._peer_fin:           # LAST-ACK or CLOSING: done (no TIME-WAIT)
            self._forget()
            return
        self.state = "FIN-WAIT-2"
        self.env.timeout(FIN_WAIT_2_TIMEOUT).callbacks.append(
            lambda _e: self._forget() if self.state == "FIN-WAIT-2" else None)
