"""What a client reaches through its tunnels, and the connectivity assistant that keeps
asking: NCA's web probe on Windows 8 and later (D1, D2), DCA's verifiers polled every 30 s on
Windows 7 (D3).

Every check is a packet inside ESP: a TCP SYN to a host's service port (answered by SYN-ACK,
or RST when closed), an echo request for a host that only answers ping. A failed probe makes
the client drop its SAs and negotiate again, so a server outage is noticed at the next probe
and the tunnels come back when the server does (D5's model, an assumption).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sim.directaccess.ipsec.config import SERVICE_PORTS, WEB_PROBE_ADDRESS
from sim.net.dns import resolve
from sim.net.errors import SocketError
from sim.net.fastpath import call_later
from sim.net.host import EchoMessage
from sim.net.packet import ACK, ICMPV6, IPV6_HEADER, SYN, TCP, TCP_HEADER, UDP, Packet

PROBE_PORT = 49151        # the assistant's local port (one probe outstanding at a time)
PROBE_KEY = ("tcp", PROBE_PORT)
RESOURCE_TIMEOUT = 4.0   # a check's wait for its answer (the tunnel probe's 4 s)
# the service that says a host is usable: its file share or web site, else its ping (A5: ping
# may answer where HTTP and SMB do not)
PRINCIPAL = ("smb", "http", "icmp")


class ProbeMethods:
    """A part of :class:`~sim.directaccess.ipsec.session.IpsecSession`."""

    _probe_round = 0
    _probe_sent = 0
    _probe_packet: Packet | None = None
    _src = None
    _told_v4: set = frozenset()
    _echoed: set = frozenset()   # destinations that answered Teredo's ICMPv6 echo (C4)
    probes_ok = 0
    probes_failed = 0

    # -- one request through a tunnel ------------------------------------------------------
    def _next(self) -> int:
        self._seq = self._seq + 1 if self._seq < 16000 else 1
        return 49152 + self._seq

    def _source(self) -> Any:
        """The tunnel address inner packets come from (cached per transition interface)."""
        src = self._src
        if src is None:
            src = self._src = self.host.source_for(self.endpoint) if self.iface is None \
                else next(a for a in self.iface.addresses if a.version == 6)
        return src

    def ask(self, key: tuple, inner: Packet, tunnel: str, timeout: float):
        """Send ``inner`` through ``tunnel``: a generator returning the answer or None."""
        ev = self.env.event()
        self.request(key, inner, tunnel, timeout, ev.succeed)
        return (yield ev)

    def request(self, key: tuple, inner: Packet, tunnel: str, timeout: float, done) -> None:
        """Callback form of ``ask``: ``done(answer or None)``."""
        if not self.ike.send(self.iface, self.endpoint, tunnel, inner):
            done(None)
            return
        self._pending[key] = done

        def expire(_t: Any) -> None:
            if self._pending.get(key) is done:
                del self._pending[key]
                done(None)
        call_later(self.env, timeout, expire)

    def _inner(self, pkt: Packet, _tunnel: str) -> None:
        """A packet out of ESP: the answer to one of our requests."""
        if pkt.proto == ICMPV6:
            key = ("icmp", getattr(pkt.payload, "ident", -1))
        elif pkt.proto == TCP:
            key = ("tcp", pkt.dport)
        elif pkt.proto == UDP:
            key = ("udp", pkt.dport)
        else:
            return
        done = self._pending.pop(key, None)
        if done is not None:
            done(pkt)

    def teredo_echo(self, address: Any, tunnel: str, done) -> None:
        """Over Teredo a destination must answer an ICMPv6 echo before it is used (C4):
        ``done(answered)``, at once when not over Teredo or when it answered already."""
        if self.da.state.method != "teredo" or address in self._echoed:
            done(True)
            return

        def echoed(ok: bool) -> None:
            if ok:
                self._echoed.add(address)
            else:
                self.da.note("teredo: ", str(address), " does not answer ICMPv6 echo, which "
                             "Teredo needs of a destination before it sends to it")
            done(ok)

        self.check(address, None, tunnel, echoed)

    def check(self, address: Any, port: int | None, tunnel: str, done) -> None:
        """One check of a host: a SYN to ``port``, or an echo request when None;
        ``done(reachable)``. A SYN over Teredo waits for ``teredo_echo`` (C4): a host that
        drops ICMP is not reached, though IPsec is up."""
        if port is not None and self.da.state.method == "teredo" and \
                address not in self._echoed:
            self.teredo_echo(address, tunnel, lambda ok: self.check(address, port, tunnel, done)
                             if ok else done(False))
            return
        local = self._next()
        if port is None:
            key = ("icmp", local)
            inner = Packet(self._source(), address, ICMPV6, size=IPV6_HEADER + 8 + 32,
                           payload=EchoMessage("echo-request", local, 1))
        else:
            key = ("tcp", local)
            inner = Packet(self._source(), address, TCP, local, port,
                           IPV6_HEADER + TCP_HEADER, flags=SYN, seq=0)
        self.request(key, inner, tunnel, RESOURCE_TIMEOUT,
                     lambda ans: done(ans is not None and (ans.proto == ICMPV6
                                                           or ans.flags == SYN | ACK)))

    # -- the intranet's resources ----------------------------------------------------------
    def tunnel_for(self, name: str) -> str:
        if self.deployment.single_tunnel or name in self.deployment.infrastructure:
            return "infrastructure"
        return "intranet"

    def _resources_changed(self) -> None:
        """Check every host once through the tunnel that reaches it (after a change); a host
        with only an IPv4 address is reached by its name, which the NRPT sends to the
        server's DNS64 (C1, C2)."""
        for name, address, services, fqdn in self.deployment.hosts:
            tunnel = self.tunnel_for(name)
            service = next((s for s in PRINCIPAL if s in services), None)
            if service is None or self.tunnels.get(tunnel) != "up":
                self._reach(name, False)
            elif address is None:
                self.da.spawn(self._check_by_name(name, fqdn, SERVICE_PORTS.get(service),
                                                  tunnel, self.generation))
            else:
                self.check(address, SERVICE_PORTS.get(service), tunnel,
                           lambda ok, name=name: self._reach(name, ok))

    def _check_by_name(self, name: str, fqdn: str, port: int | None, tunnel: str,
                       generation: int):
        """Resolve ``fqdn``'s AAAA record as the laptop would, then check the address."""
        try:
            addresses = yield from resolve(self.host, fqdn, "AAAA")
        except SocketError as exc:
            if name not in self._told_v4:
                self._told_v4.add(name)
                self.da.note("intranet host ", name, " has only an IPv4 address, and its "
                             "name ", fqdn, " has no IPv6 address for the laptop: ",
                             exc.hex, " ", exc.name, " (", exc.detail, "; C1-C3)")
            self._reach(name, False)
            return
        if generation != self.generation:
            return
        waiter = self.env.event()
        self.check(addresses[0], port, tunnel, waiter.succeed)
        self._reach(name, (yield waiter))

    def _reach(self, name: str, ok: bool) -> None:
        if self.resources.get(name) != ok or not any(r[1] == name
                                                      for r in self.resource_history):
            self.resources[name] = ok
            self.resource_history.append((self.env.now, name, ok))

    def _after_change(self) -> None:
        """The tunnels settled: check the resources, say the status, start the probes."""
        from sim.directaccess.ipsec.session import CONNECTED

        self._resources_changed()
        if all(self.tunnels.get(t) == "up" for t in self.required()):
            self._set(CONNECTED)
            if self.opens and not self._opening and self.logged_on:   # the user's first look
                self.da.spawn(self.open_all())
        self.start_probes()

    def required(self) -> tuple[str, ...]:
        return ("infrastructure",) if self.deployment.single_tunnel or not self.logged_on \
            else ("infrastructure", "intranet")

    # -- the connectivity assistant -------------------------------------------------------
    def start_probes(self) -> None:
        if not self.probe_interval:
            return
        self._probe_round += 1
        round_ = self._probe_round
        call_later(self.env, self.probe_interval, partial(self._probe, round_))

    def stop_probes(self) -> None:
        self._probe_round += 1

    def _probe(self, round_: int, _t: Any = None) -> None:
        """One web probe to directaccess-WebProbeHost (D2) through the first tunnel: a SYN to
        its port 80 from the assistant's own port, answered by SYN-ACK. The hot path of a
        fleet's hour (120 probes per laptop): one prepared inner packet per interface, bound
        callbacks, no closure per probe."""
        if round_ != self._probe_round:
            return
        if self.tunnels.get("infrastructure") != "up":
            self._renegotiate(round_)
            return
        inner = self._probe_packet
        src = self._source()
        if inner is None or inner.src is not src:   # the cached source: same object
            inner = self._probe_packet = Packet(src, WEB_PROBE_ADDRESS, TCP, PROBE_PORT,
                                                SERVICE_PORTS["http"],
                                                IPV6_HEADER + TCP_HEADER, flags=SYN, seq=0)
        if not self.ike.send(self.iface, self.endpoint, "infrastructure", inner):
            self._probe_result(round_, False)
            return
        self._pending[PROBE_KEY] = self._probe_callback
        self._probe_sent = round_
        call_later(self.env, self.probe_timeout, partial(self._probe_expired, round_))

    def _probe_answer(self, answer: Packet | None) -> None:
        self._probe_result(self._probe_sent, answer is not None and answer.flags == SYN | ACK)

    def _probe_expired(self, round_: int, _t: Any) -> None:
        if self._pending.get(PROBE_KEY) is self._probe_callback and self._probe_sent == round_:
            del self._pending[PROBE_KEY]
            self._probe_result(round_, False)

    def _probe_result(self, round_: int, ok: bool) -> None:
        if round_ != self._probe_round:
            return
        if ok:
            self.probes_ok += 1
            call_later(self.env, self.probe_interval, partial(self._probe, round_))
            return
        self.probes_failed += 1
        self.da.note("connectivity assistant: the web probe to directaccess-WebProbeHost "
                     "got no answer: DirectAccess is not connected")
        self._renegotiate(round_)

    def _renegotiate(self, round_: int) -> None:
        """The probe failed: the SAs are dropped and the tunnels negotiated again (at once,
        then at every probe interval while it fails)."""
        from sim.directaccess.ipsec.session import CONNECTING

        for name in self.tunnels:
            if self.tunnels[name] == "up":
                self._tunnel(name, "down")
        if self.error is None:   # a retry after a failure keeps showing it until it works
            self._set(CONNECTING)
        self._resources_changed()
        self.generation += 1
        generation = self.generation
        self.da.spawn(self.bring_up(generation))
        del round_
