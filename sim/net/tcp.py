"""A minimal but real TCP: three-way handshake with Windows' SYN retransmission, sequence
numbers, cumulative ACKs, retransmission of lost data, FIN and RST.

Windows (KB 2786464): the SYN is retransmitted after an initial RTO of 3 s, doubling, twice;
with no answer the connect fails after 3 + 6 + 12 = 21 s with WSAETIMEDOUT (0x274c). A RST in
answer fails it at once with WSAECONNREFUSED (0x274d); a host answers a SYN to a closed port with
a RST (RFC 9293 §3.10.7.1). Segments carry message objects (TLS records, HTTP messages, IPv6
packets in the IP-HTTPS stream) and count their ``size`` in sequence space.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.net.errors import WSAECONNREFUSED, WSAECONNRESET, WSAETIMEDOUT, SocketError
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

if TYPE_CHECKING:
    from sim.net.host import Host
    from sim.net.node import Interface
    from sim.net.packet import Address


@dataclass(frozen=True)
class TcpConfig:
    """Per-host TCP timers (KB 2786464; Windows 8+ can change them, F2.18)."""

    initial_rto: float = 3.0
    max_syn_retransmissions: int = 2
    data_rto: float = 1.0          # RFC 6298 §2.1 initial RTO for data (assumption)
    max_data_retransmissions: int = 5


class TcpConnection:
    """One end of a connection. Processes use ``send`` and ``recv``; servers may set
    ``on_message``. ``on_close`` is called once when the peer closes or resets."""

    def __init__(self, stack: TcpStack, local: Address, lport: int, remote: Address,
                 rport: int, isn: int) -> None:
        self.stack = stack
        self.env = stack.env
        self.local, self.lport, self.remote, self.rport = local, lport, remote, rport
        self.snd_nxt = isn + 1
        self.snd_una = isn + 1
        self.rcv_nxt = 0
        self.state = "SYN-SENT"
        self.mailbox = Mailbox(self.env)
        self.on_message: Callable[[Any], None] | None = None
        self.on_close: Callable[[TcpConnection], None] | None = None
        self.closed = False
        self.error: int | None = None
        self._unacked: dict[int, tuple[Any, int, int]] = {}   # seq → (message, size, tries)
        self._ooo: dict[int, tuple[Any, int]] = {}
        self._established = self.env.event()
        self._isn = isn

    @property
    def header(self) -> int:
        return (IPV4_HEADER if self.remote.version == 4 else IPV6_HEADER) + TCP_HEADER

    def _segment(self, flags: int, seq: int, payload: Any = None, size: int = 0) -> Packet:
        return Packet(self.local, self.remote, TCP, self.lport, self.rport,
                      size=self.header + size, payload=payload, flags=flags, seq=seq,
                      ack=self.rcv_nxt if flags & ACK else 0)

    # -- sending -----------------------------------------------------------------------
    def send(self, message: Any, size: int | None = None) -> None:
        """Queue one message for the peer (delivered in order, retransmitted if lost)."""
        if self.closed:
            return
        size = int(size if size is not None else getattr(message, "size", 0)) or 1
        seq = self.snd_nxt
        self.snd_nxt += size
        self._unacked[seq] = (message, size, 0)
        self.stack.host.send(self._segment(ACK | PSH, seq, message, size))
        self.env.timeout(self.stack.config.data_rto).callbacks.append(
            lambda _e, s=seq: self._retransmit(s, self.stack.config.data_rto))

    def _retransmit(self, seq: int, rto: float) -> None:
        entry = self._unacked.get(seq)
        if entry is None or self.closed:
            return
        message, size, tries = entry
        if tries >= self.stack.config.max_data_retransmissions:
            self._abort(WSAETIMEDOUT, "data not acknowledged")
            return
        self._unacked[seq] = (message, size, tries + 1)
        self.stack.host.send(self._segment(ACK | PSH, seq, message, size))
        self.env.timeout(rto * 2).callbacks.append(
            lambda _e: self._retransmit(seq, rto * 2))

    # -- receiving ---------------------------------------------------------------------
    def recv(self, timeout: float | None = None):
        """An event whose value is the next message, or None on timeout or close."""
        if self.closed and not self.mailbox.queue:
            ev = self.env.event()
            ev.succeed(None)
            return ev
        return self.mailbox.get(timeout)

    def _deliver(self, message: Any) -> None:
        if self.on_message is not None:
            self.on_message(message)
        else:
            self.mailbox.put(message)

    def segment_arrived(self, pkt: Packet) -> None:
        flags = pkt.flags
        if flags & RST:
            self._abort(WSAECONNRESET, "reset by peer")
            return
        if flags & ACK:
            for seq in [s for s in self._unacked if s < pkt.ack]:
                del self._unacked[seq]
            self.snd_una = max(self.snd_una, pkt.ack)
        if self.state == "SYN-RECEIVED" and flags & ACK and not flags & SYN:
            self.state = "ESTABLISHED"
            self.stack.accepted(self)
        size = pkt.size - self.header
        if pkt.payload is not None and size > 0:
            if pkt.seq == self.rcv_nxt:
                self.rcv_nxt += size
                self._deliver(pkt.payload)
                while self.rcv_nxt in self._ooo:
                    msg, sz = self._ooo.pop(self.rcv_nxt)
                    self.rcv_nxt += sz
                    self._deliver(msg)
            elif pkt.seq > self.rcv_nxt:
                self._ooo[pkt.seq] = (pkt.payload, size)
            self.stack.host.send(self._segment(ACK, self.snd_nxt))
        if flags & FIN:
            self.rcv_nxt = pkt.seq + max(size, 0) + 1
            self.stack.host.send(self._segment(ACK, self.snd_nxt))
            self._finish()

    def close(self) -> None:
        """Send FIN and forget the connection (no TIME-WAIT modelling)."""
        if self.closed:
            return
        if self.state in ("ESTABLISHED", "SYN-RECEIVED"):
            self.stack.host.send(self._segment(FIN | ACK, self.snd_nxt))
        self._finish()

    def abort(self) -> None:
        """Send RST and drop the connection."""
        if not self.closed:
            self.stack.host.send(self._segment(RST, self.snd_nxt))
        self._finish()

    def _abort(self, code: int, why: str) -> None:
        self.error = code
        self._finish()

    def _finish(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.state = "CLOSED"
        self._unacked.clear()
        self.stack.forget(self)
        waiter = self.mailbox.waiter
        if waiter is not None and not waiter.triggered:
            self.mailbox.waiter = None
            waiter.succeed(None)
        if self.on_close is not None:
            self.on_close(self)


class TcpStack:
    """The TCP of one host: active opens, listeners, demultiplexing."""

    def __init__(self, host: Host, config: TcpConfig | None = None) -> None:
        self.host = host
        self.env = host.kernel.env
        self.config = config or TcpConfig()
        self.rng = host.kernel.rng(f"tcp:{host.name}")
        self.connections: dict[tuple, TcpConnection] = {}
        self.listeners: dict[int, Callable[[TcpConnection], None]] = {}
        self.ports_in_use: set[int] = set()
        host.handlers[TCP] = self.receive

    def _key(self, local: Address, lport: int, remote: Address, rport: int) -> tuple:
        return (local, lport, remote, rport)

    def forget(self, conn: TcpConnection) -> None:
        self.connections.pop(self._key(conn.local, conn.lport, conn.remote, conn.rport), None)

    def listen(self, port: int, on_accept: Callable[[TcpConnection], None]) -> None:
        self.listeners[port] = on_accept

    def connect(self, dst: Address, port: int, config: TcpConfig | None = None):
        """Open a connection (a generator for SimPy processes): returns the connection or
        raises SocketError 0x274c (no answer to the SYNs) or 0x274d (RST)."""
        cfg = config or self.config
        local = self.host.source_for(dst)
        lport = self.host.ephemeral_port(self.ports_in_use)
        self.ports_in_use.add(lport)
        conn = TcpConnection(self, local, lport, dst, port, self.rng.getrandbits(32))
        self.connections[self._key(local, lport, dst, port)] = conn
        rto = cfg.initial_rto
        try:
            for attempt in range(cfg.max_syn_retransmissions + 1):
                self.host.send(conn._segment(SYN, conn._isn))
                result = yield conn._established | self.env.timeout(rto)
                if conn._established in result:
                    if conn.error is not None:
                        raise SocketError(conn.error)
                    return conn
                if attempt < cfg.max_syn_retransmissions:
                    rto *= 2
            conn._finish()
            raise SocketError(WSAETIMEDOUT, f"no answer to SYN from {dst}:{port}")
        finally:
            self.ports_in_use.discard(lport)

    def accepted(self, conn: TcpConnection) -> None:
        handler = self.listeners.get(conn.lport)
        if handler is not None:
            handler(conn)

    def receive(self, pkt: Packet, iface: Interface) -> None:
        key = self._key(pkt.dst, pkt.dport, pkt.src, pkt.sport)
        conn = self.connections.get(key)
        flags = pkt.flags
        if conn is not None:
            if conn.state == "SYN-SENT":
                if flags & RST:
                    conn.error = WSAECONNREFUSED
                    conn._established.succeed()
                    conn._finish()
                elif flags & SYN and flags & ACK:
                    conn.rcv_nxt = pkt.seq + 1
                    conn.state = "ESTABLISHED"
                    self.host.send(conn._segment(ACK, conn.snd_nxt))
                    if not conn._established.triggered:
                        conn._established.succeed()
                return
            if conn.state == "SYN-RECEIVED" and flags & SYN and not flags & ACK:
                self.host.send(conn._segment(SYN | ACK, conn._isn))  # our SYN-ACK was lost
                return
            conn.segment_arrived(pkt)
            return
        if flags & SYN and not flags & ACK and pkt.dport in self.listeners:
            conn = TcpConnection(self, pkt.dst, pkt.dport, pkt.src, pkt.sport,
                                 self.rng.getrandbits(32))
            conn.rcv_nxt = pkt.seq + 1
            conn.state = "SYN-RECEIVED"
            self.connections[key] = conn
            self.host.send(conn._segment(SYN | ACK, conn._isn))
            return
        if flags & RST:
            return
        # RFC 9293 §3.10.7.1: anything for no connection gets a RST.
        rst = Packet(pkt.dst, pkt.src, TCP, pkt.dport, pkt.sport,
                     size=(IPV4_HEADER if pkt.src.version == 4 else IPV6_HEADER) + TCP_HEADER,
                     flags=RST | ACK, seq=pkt.ack, ack=pkt.seq + 1)
        self.host.send(rst)


def tcp_stack(host: Host, config: TcpConfig | None = None) -> TcpStack:
    """The host's TCP stack, created on first use."""
    stack = getattr(host, "tcp", None)
    if stack is None:
        stack = host.tcp = TcpStack(host, config)
    elif config is not None:
        stack.config = config
    return stack
