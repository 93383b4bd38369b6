"""End hosts: protocol dispatch and UDP sockets that SimPy processes wait on."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any

from sim.net.fastpath import addr_key, call_later
from sim.net.node import Interface, Node
from sim.net.packet import ICMP, ICMPV6, IPV4_HEADER, IPV6_HEADER, UDP, UDP_HEADER, Packet

if TYPE_CHECKING:
    from simpy.events import Event

    from sim.net.kernel import Kernel
    from sim.net.packet import Address

# Windows dynamic port range (netsh int ipv4 show dynamicport): 49152-65535.
EPHEMERAL_FIRST = 49152
EPHEMERAL_LAST = 65535


class Mailbox:
    """Packets waiting for a process, and at most one process waiting for a packet.

    The queue is made on the first item that has to wait: most mailboxes of a fleet (every
    socket and connection has one) never hold anything, and an empty deque is 600 bytes."""

    __slots__ = ("env", "queue", "waiter")

    def __init__(self, env) -> None:
        self.env = env
        self.queue: deque | None = None
        self.waiter: Event | None = None

    def put(self, item: Any) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.triggered:
            self.waiter = None
            waiter.succeed(item)
        elif self.queue is None:
            self.queue = deque((item,))
        else:
            self.queue.append(item)

    def pending(self) -> bool:
        """Whether items are waiting."""
        return bool(self.queue)

    def drain(self) -> list:
        """Take every waiting item, oldest first."""
        items = list(self.queue or ())
        self.queue = None
        return items

    def get(self, timeout: float | None = None) -> Event:
        """An event whose value is the next item, or ``None`` if ``timeout`` passes first."""
        ev = self.env.event()
        if self.queue:
            ev.succeed(self.queue.popleft())
            return ev
        self.waiter = ev
        if timeout is not None:
            call_later(self.env, timeout, lambda _t: self._expire(ev))
        return ev

    def _expire(self, ev: Event) -> None:
        if not ev.triggered:
            if self.waiter is ev:
                self.waiter = None
            ev.succeed(None)


class UdpSocket:
    """A bound UDP port: ``sendto`` and ``recv`` (an event), or an ``on_packet`` callback for
    servers that answer without a process."""

    __slots__ = ("host", "mailbox", "on_packet", "port")

    def __init__(self, host: Host, port: int,
                 on_packet: Callable[[Packet], None] | None = None) -> None:
        self.host = host
        self.port = port
        self.on_packet = on_packet
        self.mailbox = Mailbox(host.kernel.env)

    def sendto(self, dst: Address, dport: int, payload: Any = None, payload_size: int = 0,
               src: Address | None = None, inner: Packet | None = None) -> Packet:
        source = src if src is not None else self.host.source_for(dst)
        # udp(), inline (one packet per send on the hot path): the size counts the IP and
        # UDP headers, the payload and the inner packet
        size = (IPV4_HEADER if isinstance(dst, IPv4Address) else IPV6_HEADER) + UDP_HEADER \
            + payload_size
        if inner is not None:
            size += inner.size
        pkt = Packet(source, dst, UDP, self.port, dport, size, payload, inner)
        self.host.send(pkt)
        return pkt

    def recv(self, timeout: float | None = None) -> Event:
        return self.mailbox.get(timeout)

    def deliver(self, pkt: Packet) -> None:
        # Host._udp inlines this: keep the two alike
        if self.on_packet is not None:
            self.on_packet(pkt)
        else:
            self.mailbox.put(pkt)

    def close(self) -> None:
        self.host.udp_ports.pop(self.port, None)


class Host(Node):
    """A computer: it answers for its own addresses and hands packets to protocol handlers."""

    icmp_listener: Callable[[Packet], None] | None = None   # ICMP other than echo, if set
    # what takes a packet not addressed to the host (a translator on it), True if it did
    forward: Callable[[Packet, Interface], bool] | None = None

    def __init__(self, kernel: Kernel, name: str) -> None:
        super().__init__(kernel, name)
        self.udp_ports: dict[int, UdpSocket] = {}
        self.handlers: dict[int, Callable[[Packet, Interface], None]] = {
            UDP: self._udp, ICMP: self._icmp, ICMPV6: self._icmp,
        }
        self._port_rng = kernel.rng(f"host:{name}:ports")
        self._next_port = self._port_rng.randint(EPHEMERAL_FIRST, EPHEMERAL_LAST)
        self.up = True
        self._pings: dict[tuple[int, int], tuple[float, Callable]] = {}   # (sent, done)
        self._ping_seq = 0
        # ``source_for`` by the destination's addr_key: every datagram, echo and tunnelled
        # packet a host sends asks it; forgotten on any change of routes or addresses
        self._sources: dict[int, Address] = {}
        self.routes.on_change = self._sources.clear

    def add_interface(self, link: Any, *addresses: Any, **kwargs: Any) -> Interface:
        self._sources.clear()
        return super().add_interface(link, *addresses, **kwargs)

    def add_address(self, iface: Interface, address: Any) -> Address:
        self._sources.clear()
        return super().add_address(iface, address)

    def remove_address(self, iface: Interface, address: Address) -> None:
        self._sources.clear()
        super().remove_address(iface, address)

    def receive(self, pkt: Packet, iface: Interface) -> None:
        if not self.up:
            self.kernel.drop(self.name, pkt, f"{self.name} is down")
            return
        if pkt.dkey not in self.local_keys:
            if self.forward is None or not self.forward(pkt, iface):
                self.kernel.drop(self.name, pkt, f"{self.name} does not forward packets")
            return
        handler = self.handlers.get(pkt.proto)
        if handler is None:
            self.kernel.drop(self.name, pkt, f"protocol {pkt.proto} not handled")
            return
        handler(pkt, iface)

    def source_for(self, dst: Address) -> Address:
        """The source address Windows would pick: the routed interface's address of the same
        family."""
        key = addr_key(dst)
        try:
            return self._sources[key]
        except KeyError:
            pass
        hop = self.routes.lookup(dst)
        if hop is not None:
            v4 = isinstance(dst, IPv4Address)
            for addr in hop[0].addresses:
                if isinstance(addr, IPv4Address) is v4:
                    self._sources[key] = addr
                    return addr
        raise LookupError(f"{self.name}: no address to reach {dst}")

    def ephemeral_port(self, taken: dict | set | None = None) -> int:
        """The next free dynamic port, starting from a random point like Windows does."""
        taken = self.udp_ports if taken is None else taken
        for _ in range(EPHEMERAL_LAST - EPHEMERAL_FIRST + 1):
            port = self._next_port
            self._next_port = EPHEMERAL_FIRST if port >= EPHEMERAL_LAST else port + 1
            if port not in taken:
                return port
        raise OSError(f"{self.name}: no free ephemeral port")

    def udp_open(self, port: int | None = None,
                 on_packet: Callable[[Packet], None] | None = None) -> UdpSocket:
        if port is None:
            port = self.ephemeral_port()
        if port in self.udp_ports:
            raise OSError(f"{self.name}: UDP port {port} in use")
        sock = self.udp_ports[port] = UdpSocket(self, port, on_packet)
        return sock

    def _udp(self, pkt: Packet, iface: Interface) -> None:
        sock = self.udp_ports.get(pkt.dport)
        if sock is None:
            self.kernel.drop(self.name, pkt, f"UDP port {pkt.dport} closed")
            return
        # UdpSocket.deliver, inline
        on_packet = sock.on_packet
        if on_packet is not None:
            on_packet(pkt)
        else:
            sock.mailbox.put(pkt)

    def _icmp(self, pkt: Packet, iface: Interface) -> None:
        msg = pkt.payload
        kind = getattr(msg, "kind", None)
        if kind == "echo-request":
            reply = Packet(pkt.dst, pkt.src, pkt.proto, 0, 0, pkt.size,
                           EchoMessage("echo-reply", msg.ident, msg.seq))
            self.send(reply)
        elif kind == "echo-reply":
            waiting = self._pings.pop((msg.ident, msg.seq), None)
            if waiting is not None:
                start, done = waiting
                done(self.kernel.env.now - start)
        elif self.icmp_listener is not None:
            self.icmp_listener(pkt)

    def echo(self, dst: Address, timeout: float, done: Callable[[float | None], Any],
             via: Interface | None = None, src: Address | None = None, size: int = 64) -> None:
        """Send one echo request (through ``via`` if given, else by routing); ``done`` gets
        the round-trip time when the reply arrives, or None after ``timeout``. Callbacks, not
        a process: a fleet's connectivity assistants ping millions of times."""
        env = self.kernel.env
        self._ping_seq += 1
        key = (self._ping_seq, 1)
        if src is None:
            src = next((a for a in via.addresses if a.version == dst.version), None) \
                if via is not None else self.source_for(dst)
        pkt = Packet(src, dst, ICMP if isinstance(dst, IPv4Address) else ICMPV6, 0, 0, size,
                     EchoMessage("echo-request", *key))
        self._pings[key] = (env.now, done)
        if via is not None:
            via.send(pkt, dst)
        else:
            self.send(pkt)
        call_later(env, timeout, self._echo_timed_out, key)   # no closure per echo

    def _echo_timed_out(self, timer: Any) -> None:
        waiting = self._pings.pop(timer._value, None)   # the echo's key
        if waiting is not None:
            waiting[1](None)

    def ping(self, dst: Address, timeout: float = 4.0, via: Interface | None = None,
             src: Address | None = None, size: int = 64):
        """``echo`` for SimPy processes: a generator that returns the round-trip time, or
        None after ``timeout``."""
        waiter = self.kernel.env.event()
        self.echo(dst, timeout, waiter.succeed, via, src, size)
        return (yield waiter)


class EchoMessage:
    """ICMP/ICMPv6 echo request or reply (ping)."""

    __slots__ = ("ident", "kind", "seq")

    def __init__(self, kind: str, ident: int = 0, seq: int = 0) -> None:
        self.kind = kind
        self.ident = ident
        self.seq = seq
