"""The Teredo server and relay on the DirectAccess server's two consecutive public IPv4
addresses (RFC 4380 §5.3, F1.33, F3.8)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import TYPE_CHECKING

from sim.net.fastpath import addr_key
from sim.net.icmpv6 import RouterAdvertisement, RouterSolicitation
from sim.net.packet import ICMPV6, IPV6_HEADER, Packet
from sim.transition.teredo_wire import (
    LINK_LOCAL_CONE,
    LINK_LOCAL_NO_CONE,
    TEREDO_MTU,
    TEREDO_PORT,
    TEREDO_PREFIX,
    TeredoAddressInfo,
    TeredoHeaders,
    is_global_ipv4,
    parse_teredo_address,
    server_link_local,
)
from sim.transition.tunnel import TunnelInterface

if TYPE_CHECKING:
    from sim.net.host import Host, UdpSocket

_CONE_KEY = addr_key(LINK_LOCAL_CONE)   # a cone RS's source, compared as an integer


class TeredoServer:
    """Teredo server and relay on two consecutive public addresses of one host (F1.33, F3.8).

    IPv6 packets from qualified clients are decapsulated into the host; IPv6 packets the host
    routes to 2001::/32 are encapsulated towards the mapped address and port embedded in the
    destination Teredo address, from the primary address.
    """

    def __init__(self, host: Host, primary: IPv4Address, secondary: IPv4Address) -> None:
        self.host = host
        self.kernel = host.kernel
        self.primary = primary
        self.secondary = secondary
        self._primary_key = addr_key(primary)
        self.prefix = IPv6Network(((0x20010000 << 96) | (int(primary) << 64), 64))
        self.socket: UdpSocket = host.udp_open(TEREDO_PORT, on_packet=self._on_packet)
        self.relay = host.add_interface(None, name="teredo-relay", iface_class=TunnelInterface,
                                        encapsulate=self._relay_out)
        host.routes.add(TEREDO_PREFIX, self.relay)
        self.up = True
        self.solicitations = 0
        # The RA is the same for every client of this server but for its destination, the
        # RS's link-local source: one shared, immutable packet for each of the two.
        ra = RouterAdvertisement(self.prefix, TEREDO_MTU)
        source = server_link_local(primary)   # from either address: Miredo does the same
        self._ra_to_cone, self._ra_to_no_cone = (
            Packet(source, dst, ICMPV6, size=IPV6_HEADER + ra.size, payload=ra)
            for dst in (LINK_LOCAL_CONE, LINK_LOCAL_NO_CONE))
        self._global: dict[int, bool] = {}   # is_global_ipv4 by the address's integer
        self._parsed: dict[int, TeredoAddressInfo | None] = {}   # by the address's integer
        self._origins: dict[int, tuple[int | None, int]] = {}   # ``_origin``, by the key

    def _teredo_info(self, addr: IPv6Address) -> TeredoAddressInfo | None:
        """``parse_teredo_address``, remembered: a client's address is parsed on every packet
        it relays."""
        try:
            return self._parsed[addr_key(addr)]
        except KeyError:
            info = self._parsed[addr_key(addr)] = parse_teredo_address(addr)
            return info

    def _origin(self, addr: IPv6Address) -> tuple[int | None, int]:
        """The mapped address (as its ``addr_key``) and port embedded in a client's Teredo
        address, remembered by the address's key: compared with every relayed packet's UDP
        source as two integers (``(None, -1)`` for an address that is not Teredo)."""
        info = self._teredo_info(addr)
        origin = (None, -1) if info is None else (addr_key(info.mapped), info.port)
        self._origins[addr_key(addr)] = origin
        return origin

    def _on_packet(self, pkt: Packet) -> None:
        if not self.up:
            return
        src = pkt.src
        known = self._global.get(pkt.skey)
        if known is None:
            known = self._global[pkt.skey] = is_global_ipv4(src)
        if not known:
            self.kernel.drop(self.host.name, pkt,
                             f"Teredo server: source {pkt.src} is not global (RFC 4380 §5.3.1)")
            return
        inner = pkt.inner
        if inner is None:
            return
        if isinstance(inner.payload, RouterSolicitation):
            self._answer_rs(pkt, inner)
            return
        origin = self._origins.get(inner.skey)
        if origin is None:
            origin = self._origin(inner.src)
        if origin[0] != pkt.skey or origin[1] != pkt.sport:
            self.kernel.drop(self.host.name, pkt,
                             "Teredo: inner source does not match the UDP source (RFC 4380 "
                             "§5.3.1)")
            return
        self.relay.receive_inner(inner)

    def _answer_rs(self, pkt: Packet, rs: Packet) -> None:
        self.solicitations += 1
        cone = rs.skey == _CONE_KEY
        # RFC 4380 §5.3.2: a cone RS is answered from the *other* address.
        if cone:
            src = self.secondary if pkt.dkey == self._primary_key else self.primary
        else:
            src = pkt.dst
        nonce = pkt.payload.nonce if isinstance(pkt.payload, TeredoHeaders) else None
        headers = TeredoHeaders(nonce, (pkt.src, pkt.sport))
        self.socket.sendto(pkt.src, pkt.sport, payload=headers, payload_size=headers.size,
                           src=src, inner=self._ra_to_cone if cone else self._ra_to_no_cone)
        if self.kernel.trace.on:
            self.kernel.log(self.host.name, "teredo-ra", to=f"{pkt.src}:{pkt.sport}",
                            source=str(src), cone=cone)

    def _relay_out(self, inner: Packet) -> None:
        info = self._teredo_info(inner.dst)
        if info is None:
            return
        self.socket.sendto(info.mapped, info.port, src=self.primary, inner=inner)

