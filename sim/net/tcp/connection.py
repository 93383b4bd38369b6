"""One end of a TCP connection (RFC 9293), named by its states: sending, acknowledging,
receiving in order, closing. Its timers are in ``sim.net.tcp.timers``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sim.net.errors import WSAECONNRESET
from sim.net.host import Mailbox
from sim.net.packet import (
    ACK,
    FIN,
    IPV4_HEADER,
    IPV6_HEADER,
    PSH,
    RST,
    SYN,
    TCP,
    TCP_HEADER,
    Packet,
)
from sim.net.tcp.timers import DUP_ACK_THRESHOLD, TcpConfig, TcpTimers

if TYPE_CHECKING:
    from simpy.events import Event

    from sim.net.packet import Address
    from sim.net.tcp.stack import TcpStack


def header_size(addr: Address) -> int:
    """The IP and TCP headers of a segment to ``addr``."""
    return (IPV4_HEADER if addr.version == 4 else IPV6_HEADER) + TCP_HEADER


class TcpConnection(TcpTimers):
    """One end of a connection, named by RFC 9293's states.

    Processes use ``send`` and ``recv``; servers may set ``on_message`` instead (every message
    then goes to it, none to ``recv``). ``closed`` becomes True once the application can no
    longer use the connection (it closed or aborted it, the peer closed or reset it, or the
    retransmissions gave up); ``on_close`` is then called once and ``error`` holds the socket
    error, if any. The stack keeps a closed connection only as long as it needs to deliver its
    last data and FIN."""

    __slots__ = (
        "__weakref__",
        "_ack_owed",
        "_ack_timer",
        "_deadline",
        "_dup_acks",
        "_established",
        "_fin_seq",
        "_ooo",
        "_peer_fin",
        "_rto",
        "_timer_at",
        "_tries",
        "_unacked",
        "active",
        "closed",
        "config",
        "env",
        "error",
        "header",
        "isn",
        "local",
        "lport",
        "mailbox",
        "on_close",
        "on_message",
        "rcv_nxt",
        "remote",
        "retransmissions",
        "rport",
        "snd_nxt",
        "snd_una",
        "stack",
        "state",
    )

    def __init__(self, stack: TcpStack, local: Address, lport: int, remote: Address,
                 rport: int, isn: int, config: TcpConfig) -> None:
        self.stack = stack
        self.env = stack.env
        self.config = config
        self.local, self.lport, self.remote, self.rport = local, lport, remote, rport
        self.header = header_size(remote)
        self.isn = isn
        self.snd_una = isn          # oldest unacknowledged sequence number
        self.snd_nxt = isn + 1      # the SYN takes one
        self.rcv_nxt = 0
        self.state = "SYN-SENT"
        self.mailbox = Mailbox(self.env)
        self.on_message: Callable[[Any], None] | None = None
        self.on_close: Callable[[TcpConnection], None] | None = None
        self.closed = False
        self.active = False         # opened by connect (its port is an ephemeral one)
        self.error: int | None = None
        self.retransmissions = 0    # data segments sent again (a statistic for tests and plots)
        self._established = self.env.event()
        # seq → (message, payload bytes, flags, sequence length)
        self._unacked: dict[int, tuple[Any, int, int, int]] = {}
        self._ooo: dict[int, tuple[Any, int, bool]] = {}   # seq → (message, bytes, fin)
        self._fin_seq: int | None = None
        self._peer_fin = False
        self._rto = config.data_rto
        self._tries = 0
        self._deadline: float | None = None
        self._timer_at: float | None = None
        self._dup_acks = 0
        self._ack_owed = 0          # segments received in order and not yet acknowledged
        self._ack_timer: Any = None   # the live delayed-ACK timer

    def __repr__(self) -> str:
        return (f"<TcpConnection {self.local}:{self.lport}->{self.remote}:{self.rport} "
                f"{self.state}>")

    def _segment(self, flags: int, seq: int, payload: Any = None, size: int = 0) -> Packet:
        if flags & ACK:
            self._ack_owed = 0      # this segment acknowledges everything received
        return Packet(self.local, self.remote, TCP, self.lport, self.rport, self.header + size,
                      payload, None, flags, seq, self.rcv_nxt if flags & ACK else 0)

    # -- sending -----------------------------------------------------------------------
    def send(self, message: Any, size: int | None = None) -> None:
        """Queue one message for the peer: delivered once and in order, retransmitted if lost.
        ``size`` defaults to ``message.size``; a message takes at least one byte. Ignored once
        the connection is closed."""
        if self.closed or self._fin_seq is not None:
            return
        size = int(size if size is not None else getattr(message, "size", 0)) or 1
        self._transmit(ACK | PSH, message, size, size)

    def _transmit(self, flags: int, message: Any, size: int, seqlen: int) -> None:
        seq = self.snd_nxt
        self.snd_nxt += seqlen
        self._unacked[seq] = (message, size, flags, seqlen)
        self.stack.host.send(self._segment(flags, seq, message, size))
        if self._deadline is None:
            self._start_timer()

    def _acked(self, ack: int, pure: bool) -> None:
        """Process an acknowledgment; ``pure``: the segment carried no data, SYN or FIN (only
        such a segment counts as a duplicate ACK, RFC 5681 §2)."""
        if ack <= self.snd_una:
            if pure and ack == self.snd_una and self._unacked:
                self._dup_acks += 1
                if self._dup_acks == DUP_ACK_THRESHOLD:
                    self._retransmit_first()
            return
        if ack > self.snd_nxt:
            return   # acknowledges something we never sent (RFC 9293 §3.10.7.4): ignore
        self.snd_una = ack
        self._dup_acks = 0
        if ack == self.snd_nxt:       # everything sent is acknowledged (the common case)
            self._unacked.clear()
        else:
            for seq in [s for s, entry in self._unacked.items() if s + entry[3] <= ack]:
                del self._unacked[seq]
        self._tries = 0
        self._rto = self.config.data_rto
        if self._unacked:
            self._start_timer()                           # RFC 6298 §5.3
        else:
            self._deadline = None                         # RFC 6298 §5.2
        if self._fin_seq is not None and ack > self._fin_seq:
            self._fin_acked()

    # -- receiving ---------------------------------------------------------------------
    def recv(self, timeout: float | None = None) -> Event:
        """An event whose value is the next message, or None on timeout or once the
        connection is closed and nothing is left to read."""
        if self.closed and not self.mailbox.pending():
            ev = self.env.event()
            ev.succeed(None)
            return ev
        return self.mailbox.get(timeout)

    def _deliver(self, message: Any) -> None:
        if self.closed:
            return   # the application closed its end: data is acknowledged and discarded
        if self.on_message is not None:
            self.on_message(message)
        else:
            self.mailbox.put(message)

    def segment_arrived(self, pkt: Packet) -> None:
        """A segment for this connection once it is synchronized (RFC 9293 §3.10.7.4,
        simplified: no window checks)."""
        flags = pkt.flags
        if flags & RST:
            if self.state == "SYN-RECEIVED":   # a half-open connection: never accepted
                self._forget()
            else:
                self._terminate(WSAECONNRESET)
            return
        if flags & SYN:
            if self.state == "SYN-RECEIVED":   # the client did not get our SYN-ACK
                self.stack.host.send(self._segment(SYN | ACK, self.isn))
            else:                              # the server did not get our ACK of its SYN
                self.stack.host.send(self._segment(ACK, self.snd_nxt))
            return
        size = pkt.size - self.header
        fin = bool(flags & FIN)
        if flags & ACK:
            self._acked(pkt.ack, size <= 0 and not fin)
            if self.state == "SYN-RECEIVED" and pkt.ack > self.isn:
                self.state = "ESTABLISHED"
                self.stack.accepted(self)
        if size <= 0 and not fin:
            return
        seq = pkt.seq
        had_fin = self._peer_fin
        in_order = False
        if seq == self.rcv_nxt:
            in_order = not self._ooo and not fin and self.config.delayed_ack > 0
            if in_order:
                # owed before the application sees the data: a reply it sends at once
                # carries the ACK
                self._ack_owed += 1
            self._in_order(pkt.payload, size, fin)
            while self.rcv_nxt in self._ooo and self.state != "CLOSED":
                self._in_order(*self._ooo.pop(self.rcv_nxt))
        elif seq > self.rcv_nxt:
            self._ooo[seq] = (pkt.payload, size, fin)
        if self._peer_fin and not had_fin:
            if self._fin_seq is not None or self.state == "CLOSED":
                self.stack.host.send(self._segment(ACK, self.snd_nxt))
            self._peer_closed()    # without a FIN of ours yet, our FIN-ACK acknowledges
        elif in_order and self.state != "CLOSED":
            self._ack_later()
        elif self.state != "CLOSED" or fin:
            self.stack.host.send(self._segment(ACK, self.snd_nxt))

    def _in_order(self, payload: Any, size: int, fin: bool) -> None:
        if size > 0:
            self.rcv_nxt += size
            if payload is not None:
                self._deliver(payload)
        if fin and not self._peer_fin:
            self.rcv_nxt += 1
            self._peer_fin = True

    def _peer_closed(self) -> None:
        """The peer's FIN arrived in order: the application sees end of stream and, like the
        applications modelled here, closes its end too."""
        if self.state == "CLOSED":
            return
        if self._fin_seq is None:
            self.state = "CLOSE-WAIT"
            self._app_closed(None)
            self._send_fin("LAST-ACK")
        elif self.snd_una > self._fin_seq:   # FIN-WAIT-2: both sides done
            self._forget()
        else:
            self.state = "CLOSING"

    # -- closing -----------------------------------------------------------------------
    def close(self) -> None:
        """Close gracefully: data already sent is still delivered, then a FIN. The
        application can use the connection no more."""
        if self.closed:
            return
        self._app_closed(None)
        if self.state in ("ESTABLISHED", "SYN-RECEIVED"):
            self._send_fin("FIN-WAIT-1")
        elif self.state == "SYN-SENT":
            self._forget()

    def abort(self) -> None:
        """Send a RST and forget the connection at once."""
        if self.state not in ("CLOSED", "SYN-SENT"):
            self.stack.host.send(self._segment(RST | ACK, self.snd_nxt))
        self._app_closed(None)
        self._forget()

    def _send_fin(self, state: str) -> None:
        self.state = state
        self._fin_seq = self.snd_nxt
        self._transmit(FIN | ACK, None, 0, 1)

    def _terminate(self, code: int) -> None:
        """Reset by the peer, or the retransmissions gave up."""
        self._app_closed(code)
        self._forget()

    def _app_closed(self, code: int | None) -> None:
        if self.closed:
            return
        self.closed = True
        if code is not None:
            self.error = code
        waiter = self.mailbox.waiter
        if waiter is not None and not waiter.triggered:
            self.mailbox.waiter = None
            waiter.succeed(None)
        if self.on_close is not None:
            self.on_close(self)

    def _forget(self) -> None:
        if self.state == "CLOSED":
            return
        self.state = "CLOSED"
        self.closed = True
        self._unacked.clear()
        self._ooo.clear()
        self._deadline = None
        self.stack.forget(self)
