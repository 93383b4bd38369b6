"""Protocol 41 (6in4, the carrier of 6to4) through a NAT: it has no ports, so one external
address can carry it for one inside host only, the "6to4 passthrough" of home routers (RFC
3056 §5; fact sheet on 6to4 behind NATs)."""

from __future__ import annotations

from sim.net.fastpath import addr_key
from sim.net.nat.table import Binding, BindingTable, rewrite
from sim.net.packet import IPV6_IN_IPV4, Packet


class Proto41Passthrough(BindingTable):
    """The protocol-41 half of :class:`sim.net.nat.Nat`: with ``proto41_passthrough``, one
    binding (``_p41``) holds the passthrough for its inside host."""

    _ext_keys: set[int]

    def _outbound_proto41(self, pkt: Packet) -> Packet | None:
        """Protocol 41 has no ports, so one external address can carry it for one inside
        host only (the "6to4 passthrough" of home routers)."""
        cfg = self.config
        if not cfg.proto41_passthrough:
            self.counters["proto41_dropped"] += 1
            return self._drop(pkt, "protocol 41 (6in4) has no ports to translate: dropped "
                                   "(proto41_passthrough is off)")
        src = pkt.src
        b = self._p41
        if b is not None and b.in_addr != src:
            self.counters["proto41_dropped"] += 1
            return self._drop(pkt, f"protocol 41 passthrough is held by {b.in_addr}; "
                                   f"{src} cannot share it")
        if cfg.proto41_host is not None and src != cfg.proto41_host:
            self.counters["proto41_dropped"] += 1
            return self._drop(pkt, f"protocol 41 passthrough is reserved for "
                                   f"{cfg.proto41_host}")
        if b is None:
            ext, ext_key = self._pool_address(pkt.skey)
            b = Binding((IPV6_IN_IPV4, pkt.skey), (IPV6_IN_IPV4, ext_key, 0), IPV6_IN_IPV4,
                        src, 0, ext, 0, cfg.other_timeout, self._env.now, (pkt.dst, 0))
            self._p41 = b
            self._register(b, register_map=False)
        b.expires = self._env.now + b.timeout
        new = rewrite(pkt, b.ext_addr, b.ext_key, 0, pkt.dst, pkt.dkey, 0)
        if self._trace.on:
            self.kernel.log(self.name, "translate", direction="out", before=pkt, after=new)
        return new

    def _inbound_proto41(self, pkt: Packet) -> Packet | None:
        """Inbound 6in4 goes to the passthrough host, whichever relay sent it: the return
        relay of 6to4 is often not the one the client sent through (RFC 3068 §2.5)."""
        cfg = self.config
        if not cfg.proto41_passthrough:
            self.counters["proto41_dropped"] += 1
            return self._drop(pkt, "protocol 41 (6in4) has no ports to translate: dropped "
                                   "(proto41_passthrough is off)")
        b = self._p41
        if b is not None and b.ext_addr == pkt.dst:
            target, target_key = b.in_addr, b.in_key
            if self._inbound_refresh:
                b.expires = self._env.now + b.timeout
        elif cfg.proto41_host is not None and pkt.dkey in self._ext_keys:
            target = cfg.proto41_host
            target_key = addr_key(target)
        else:
            self.counters["proto41_dropped"] += 1
            return self._drop(pkt, "inbound protocol 41 but no inside host holds the "
                                   "passthrough")
        new = rewrite(pkt, pkt.src, pkt.skey, 0, target, target_key, 0)
        if self._trace.on:
            self.kernel.log(self.name, "translate", direction="in", before=pkt, after=new)
        return new
