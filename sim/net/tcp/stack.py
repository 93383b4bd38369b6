"""The TCP of one host: active opens with Windows' SYN retransmissions, listeners,
demultiplexing by the packet's address keys, and the RST that answers a stray segment."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from sim.net.errors import WSAECONNREFUSED, WSAETIMEDOUT, SocketError
from sim.net.fastpath import addr_key
from sim.net.host import Mailbox
from sim.net.packet import ACK, FIN, RST, SYN, TCP, Packet
from sim.net.tcp.connection import TcpConnection, header_size
from sim.net.tcp.timers import TcpConfig

if TYPE_CHECKING:
    from simpy.events import Event

    from sim.net.host import Host
    from sim.net.node import Interface
    from sim.net.packet import Address


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
        key = (pkt.dkey, pkt.dport, pkt.skey, pkt.sport)
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
    length = max(pkt.size - header_size(pkt.src), 0) + (1 if pkt.flags & SYN else 0) + (
        1 if pkt.flags & FIN else 0)
    if pkt.flags & ACK:
        flags, seq, ack = RST, pkt.ack, 0
    else:
        flags, seq, ack = RST | ACK, 0, pkt.seq + length
    return Packet(pkt.dst, pkt.src, TCP, pkt.dport, pkt.sport, size=header_size(pkt.src),
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
