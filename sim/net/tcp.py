"""A minimal but real TCP (RFC 9293): three-way handshake with Windows' SYN retransmission,
sequence numbers that count bytes, cumulative ACKs delayed as Windows delays them, one
retransmission timer per connection (RFC 6298 §5) with fast retransmit (RFC 5681 §3.2), FIN
close and RST.

Windows (KB 2786464, F2.17–F2.19): the SYN is retransmitted after an initial RTO of 3 s,
doubling, twice; with no answer the connect fails after 3 + 6 + 12 = 21 s with WSAETIMEDOUT
(0x274c). A RST in answer fails it at once with WSAECONNREFUSED (0x274d); a host answers a SYN
to a closed port with a RST (RFC 9293 §3.10.7.1).

Segments carry message objects (TLS records, HTTP messages, IPv6 packets in the IP-HTTPS
stream) in ``payload``; a message takes its ``size`` in bytes of sequence space and travels as
one segment of that size (no MSS segmentation: a 3 KB Certificate message is one 3 KB
segment). Sequence numbers are Python integers that start at a 32-bit ISN and are not wrapped;
the pcap encoder reduces them modulo 2**32. Not modelled: windows and congestion control,
TIME-WAIT, simultaneous open, urgent data.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.net.errors import (
    WSAECONNABORTED,
    WSAECONNREFUSED,
    WSAECONNRESET,
    WSAETIMEDOUT,
    SocketError,
)
from sim.net.host import Mailbox
from sim.net.kernel import call_later
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
    addr_key,
)

if TYPE_CHECKING:
    from simpy.events import Event

    from sim.net.host import Host
    from sim.net.node import Interface
    from sim.net.packet import Address

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


def _header(addr: Address) -> int:
    return (IPV4_HEADER if addr.version == 4 else IPV6_HEADER) + TCP_HEADER


class TcpConnection:
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
        self.header = _header(remote)
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
        return Packet(self.local, self.remote, TCP, self.lport, self.rport,
                      size=self.header + size, payload=payload, flags=flags, seq=seq,
                      ack=self.rcv_nxt if flags & ACK else 0)

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

    def _start_timer(self) -> None:
        """(Re)start the retransmission timer (RFC 6298 §5.1, §5.3). SimPy cannot cancel a
        timeout: a pending one that fires before the deadline re-arms, and one superseded by
        an earlier deadline is ignored."""
        self._deadline = deadline = self.env.now + self._rto
        if self._timer_at is None or self._timer_at > deadline:
            self._schedule(deadline)

    def _schedule(self, at: float) -> None:
        self._timer_at = at
        call_later(self.env, at - self.env._now, lambda _e: self._timer(at))

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

    def _fin_acked(self) -> None:
        if self._peer_fin:           # LAST-ACK or CLOSING: done (no TIME-WAIT)
            self._forget()
            return
        self.state = "FIN-WAIT-2"
        self.env.timeout(FIN_WAIT_2_TIMEOUT).callbacks.append(
            lambda _e: self._forget() if self.state == "FIN-WAIT-2" else None)

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


class Listener:
    """A listening port. With ``on_accept`` every established connection is handed to it;
    without, connections queue for processes that ``accept``."""

    def __init__(self, stack: TcpStack, port: int,
                 on_accept: Callable[[TcpConnection], None] | None) -> None:
        self.stack = stack
        self.port = port
        self.on_accept = on_accept
        self.backlog = Mailbox(stack.env)

    def accept(self, timeout: float | None = None) -> Event:
        """An event whose value is the next established connection (None on timeout)."""
        return self.backlog.get(timeout)

    def close(self) -> None:
        """Stop listening: later SYNs to the port are answered with RST."""
        if self.stack.listeners.get(self.port) is self:
            del self.stack.listeners[self.port]


class TcpStack:
    """The TCP of one host: active opens, listeners, demultiplexing, RSTs for strays."""

    def __init__(self, host: Host, config: TcpConfig | None = None) -> None:
        self.host = host
        self.env = host.kernel.env
        self.config = config or TcpConfig()
        self.rng = host.kernel.rng(f"tcp:{host.name}")
        self.connections: dict[tuple, TcpConnection] = {}   # (addr_key, port, addr_key, port)
        self.listeners: dict[int, Listener] = {}
        self.ports_in_use: set[int] = set()
        host.handlers[TCP] = self.receive

    def forget(self, conn: TcpConnection) -> None:
        key = (addr_key(conn.local), conn.lport, addr_key(conn.remote), conn.rport)
        if self.connections.get(key) is conn:
            del self.connections[key]
            if conn.active:
                self.ports_in_use.discard(conn.lport)

    def listen(self, port: int,
               on_accept: Callable[[TcpConnection], None] | None = None) -> Listener:
        """Accept connections on ``port`` (any local address, so a host that answers for
        spoofed addresses, like a captive portal, can listen too)."""
        listener = self.listeners[port] = Listener(self, port, on_accept)
        return listener

    def connect(self, dst: Address, port: int,
                config: TcpConfig | None = None) -> Generator[Any, Any, TcpConnection]:
        """Open a connection (a generator for SimPy processes): returns the connection or
        raises SocketError 0x274c (no answer to the SYNs) or 0x274d (refused by a RST)."""
        cfg = config or self.config
        local = self.host.source_for(dst)
        lport = self.host.ephemeral_port(self.ports_in_use)
        self.ports_in_use.add(lport)
        conn = TcpConnection(self, local, lport, dst, port, self.rng.getrandbits(32), cfg)
        conn.active = True
        self.connections[(addr_key(local), lport, addr_key(dst), port)] = conn
        rto = cfg.initial_rto
        for attempt in range(cfg.max_syn_retransmissions + 1):
            self.host.send(conn._segment(SYN, conn.isn))
            result = yield conn._established | self.env.timeout(rto)
            if conn._established in result:
                if conn.error is not None:
                    raise SocketError(conn.error, f"{dst}:{port} refused the connection")
                return conn
            if attempt < cfg.max_syn_retransmissions:
                rto *= 2
        conn._app_closed(None)
        conn._forget()
        raise SocketError(WSAETIMEDOUT, f"no answer to SYN from {dst}:{port}")

    def accepted(self, conn: TcpConnection) -> None:
        listener = self.listeners.get(conn.lport)
        if listener is None:
            return
        if listener.on_accept is not None:
            listener.on_accept(conn)
        else:
            listener.backlog.put(conn)

    def receive(self, pkt: Packet, iface: Interface | None = None) -> None:
        """Demultiplex one segment to its connection, a listener, or a RST."""
        dst, src = pkt.dst, pkt.src   # the key by addr_key(), inline
        key = (dst._ip if dst._version == 4 else ~dst._ip, pkt.dport,
               src._ip if src._version == 4 else ~src._ip, pkt.sport)
        conn = self.connections.get(key)
        flags = pkt.flags
        if conn is not None:
            if conn.state == "SYN-SENT":
                self._syn_sent(conn, pkt)
            else:
                conn.segment_arrived(pkt)
            return
        if flags & SYN and not flags & (ACK | RST) and pkt.dport in self.listeners:
            self._passive_open(key, pkt)
            return
        if not flags & RST:
            self.host.send(reset_for(pkt))

    def _syn_sent(self, conn: TcpConnection, pkt: Packet) -> None:
        """RFC 9293 §3.10.7.3."""
        flags = pkt.flags
        if flags & ACK and pkt.ack != conn.isn + 1:
            if not flags & RST:
                self.host.send(reset_for(pkt))
            return
        if flags & RST:
            if flags & ACK:            # a RST without an acceptable ACK is ignored
                conn.error = WSAECONNREFUSED
                conn._app_closed(WSAECONNREFUSED)
                conn._forget()
                if not conn._established.triggered:
                    conn._established.succeed()
            return
        if flags & SYN and flags & ACK:
            conn.rcv_nxt = pkt.seq + 1
            conn.snd_una = conn.isn + 1
            conn.state = "ESTABLISHED"
            self.host.send(conn._segment(ACK, conn.snd_nxt))
            if not conn._established.triggered:
                conn._established.succeed()

    def _passive_open(self, key: tuple, pkt: Packet) -> None:
        cfg = self.config
        conn = TcpConnection(self, pkt.dst, pkt.dport, pkt.src, pkt.sport,
                             self.rng.getrandbits(32), cfg)
        conn.rcv_nxt = pkt.seq + 1
        conn.state = "SYN-RECEIVED"
        self.connections[key] = conn
        syn_ack = conn._segment(SYN | ACK, conn.isn)
        self.host.send(syn_ack)

        def again(_e: Any, tries: int = 0, rto: float = cfg.initial_rto) -> None:
            if conn.state != "SYN-RECEIVED":
                return
            if tries >= cfg.max_syn_retransmissions:
                conn._forget()    # the half-open connection is given up
                return
            self.host.send(conn._segment(SYN | ACK, conn.isn))
            self.env.timeout(rto * 2).callbacks.append(
                lambda e: again(e, tries + 1, rto * 2))

        self.env.timeout(cfg.initial_rto).callbacks.append(again)


def reset_for(pkt: Packet) -> Packet:
    """The RST that answers ``pkt`` when no connection wants it (RFC 9293 §3.10.7.1): it
    takes its sequence number from the segment's ACK, or acknowledges the segment."""
    length = max(pkt.size - _header(pkt.src), 0) + (1 if pkt.flags & SYN else 0) + (
        1 if pkt.flags & FIN else 0)
    if pkt.flags & ACK:
        flags, seq, ack = RST, pkt.ack, 0
    else:
        flags, seq, ack = RST | ACK, 0, pkt.seq + length
    return Packet(pkt.dst, pkt.src, TCP, pkt.dport, pkt.sport, size=_header(pkt.src),
                  flags=flags, seq=seq, ack=ack)


def tcp_stack(host: Host, config: TcpConfig | None = None) -> TcpStack:
    """The host's TCP stack, created (and installed as ``host.handlers[TCP]``) on first use;
    ``config`` replaces the stack's timers."""
    stack = getattr(host, "tcp", None)
    if stack is None:
        stack = host.tcp = TcpStack(host, config)
    elif config is not None:
        stack.config = config
    return stack
