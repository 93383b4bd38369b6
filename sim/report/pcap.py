"""pcap export: the light packets a capture point saw, encoded with scapy only now.

One table maps each light payload type to the scapy layers that encode it (the scapy style:
declared, not scattered ``if``s). Teredo datagrams carry the authentication and origin
indication headers of RFC 4380 §5.1.1; 6to4 is IPv6 directly in IPv4 protocol 41; TLS records
carry the real DER certificates. Timestamps are the scenario's start plus simulated seconds.
The link type is raw IP (LINKTYPE_RAW), which Wireshark and tshark read directly.

Header fields the light packets do not model are filled in here, deterministically: Neighbor
Discovery goes out with hop limit 255 (RFC 4861 §6.1.1/§6.1.2: anything else is discarded); a
Teredo RA has Miredo's field values (the reference capture); the IPv4 TTL / IPv6 hop limit is
the sender's less one per router crossed before the capture point
(``sim.report.capture.Capture.hops``); the IPv4 Identification counts up per flow from a value
hashed from the flow, so a seed always gives the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP as ScapyICMP
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_RA,
    ICMPv6ND_RS,
    ICMPv6NDOptMTU,
    ICMPv6NDOptPrefixInfo,
    IPv6,
)
from scapy.layers.ipsec import ESP as ScapyESP
from scapy.layers.isakmp import ISAKMP
from scapy.layers.tls.extensions import ServerName, TLS_Ext_ServerName
from scapy.layers.tls.handshake import (
    TLSCertificate,
    TLSClientHello,
    TLSClientKeyExchange,
    TLSServerHello,
    TLSServerHelloDone,
)
from scapy.layers.tls.record import TLS, TLSAlert, TLSApplicationData, TLSChangeCipherSpec
from scapy.packet import Packet as ScapyPacket
from scapy.packet import Raw
from scapy.utils import PcapWriter

from sim.directaccess.ipsec.wire import (
    CRYPTO_PAYLOAD,
    ESP,
    EXCHANGES,
    ISAKMP_HEADER,
    IsakmpMessage,
)
from sim.net import packet as p
from sim.net import tls
from sim.net.host import EchoMessage
from sim.net.icmpv6 import RouterAdvertisement, RouterSolicitation
from sim.transition.teredo import TEREDO_PREFIX, TeredoHeaders

LINKTYPE_RAW = 101
ND_HOP_LIMIT = 255   # RFC 4861 §6.1.1, §6.1.2: a receiver discards ND with any other value
ND_MESSAGES = (RouterSolicitation, RouterAdvertisement)   # the ND messages the model sends
TEREDO_RETRANS_TIMER_MS = 2000   # Miredo's RA (libteredo/server.c), the reference capture


def teredo_header_bytes(h: TeredoHeaders) -> bytes:
    """RFC 4380 §5.1.1: authentication indicator (type 0x0001, no id, no auth value, the nonce,
    confirmation 0) then origin indication (type 0x0000, obfuscated port and address)."""
    out = b""
    if h.nonce is not None:
        out += b"\x00\x01\x00\x00" + h.nonce + b"\x00"
    if h.origin is not None:
        addr, port = h.origin
        out += b"\x00\x00" + (port ^ 0xFFFF).to_bytes(2, "big") + \
            (int(addr) ^ 0xFFFFFFFF).to_bytes(4, "big")
    return out


# Windows' ping data: the letters a to w over and over ("abcdefghijklmnopqrstuvwabcdefghi")
_PING_DATA = b"abcdefghijklmnopqrstuvw"


def _echo_data(pkt: p.Packet, ip_header: int) -> bytes:
    """The data of an echo request or reply: as many bytes as the model's size leaves after
    the IP and ICMP headers (an echo without data dissects as malformed inside Teredo)."""
    n = max(pkt.size - ip_header - 8, 0)
    return (_PING_DATA * (n // len(_PING_DATA) + 1))[:n]


def _is_teredo_ra(msg: Any) -> bool:
    return isinstance(msg, RouterAdvertisement) and msg.prefix.version == 6 and \
        msg.prefix.subnet_of(TEREDO_PREFIX)


def _router_advertisement(msg: RouterAdvertisement) -> ScapyPacket:
    """A Teredo server's RA as Miredo sends it (the reference capture): preference medium, no
    M/O/H/P flags, reachable time 0, retrans timer 2000 ms; a prefix option with A set and L
    clear (Teredo clients are not on one link: they reach each other through bubbles and
    relays), lifetimes infinite. Another RA (inside IP-HTTPS: never dissected, it travels
    encrypted) keeps L set (RFC 4861 §6.2.1 AdvOnLinkFlag) and no retrans timer."""
    teredo = _is_teredo_ra(msg)
    prefix = msg.prefix
    return (ICMPv6ND_RA(chlim=0, M=0, O=0, H=0, prf=0, P=0, routerlifetime=msg.lifetime,
                        reachabletime=0,
                        retranstimer=TEREDO_RETRANS_TIMER_MS if teredo else 0)
            / ICMPv6NDOptPrefixInfo(prefixlen=prefix.prefixlen, L=0 if teredo else 1, A=1, R=0,
                                    validlifetime=0xFFFFFFFF, preferredlifetime=0xFFFFFFFF,
                                    prefix=str(prefix.network_address))
            / ICMPv6NDOptMTU(mtu=msg.mtu))


def _icmpv6(msg: Any) -> ScapyPacket:
    if isinstance(msg, RouterSolicitation):
        return ICMPv6ND_RS()
    if isinstance(msg, RouterAdvertisement):
        return _router_advertisement(msg)
    if isinstance(msg, EchoMessage):
        cls = ICMPv6EchoRequest if msg.kind == "echo-request" else ICMPv6EchoReply
        return cls(id=msg.ident & 0xFFFF, seq=msg.seq)
    if isinstance(msg, p.IcmpError):
        return ICMPv6DestUnreach(code=msg.code)
    return Raw(b"")


def _icmpv4(msg: Any) -> ScapyPacket:
    if isinstance(msg, EchoMessage):
        return ScapyICMP(type=8 if msg.kind == "echo-request" else 0, id=msg.ident & 0xFFFF,
                         seq=msg.seq)
    if isinstance(msg, p.IcmpError):
        return ScapyICMP(type=3, code=msg.code)
    return ScapyICMP()


def _tls(msg: tls.TlsMessage) -> ScapyPacket:
    if isinstance(msg, tls.ClientHello):
        ext = [TLS_Ext_ServerName(servernames=[ServerName(servername=msg.server_name)])] \
            if msg.server_name else []
        return TLS(version=0x0303, msg=[TLSClientHello(version=0x0303, gmt_unix_time=0,
                                                       random_bytes=msg.random[4:],
                                                       ciphers=list(msg.suites), ext=ext)])
    if isinstance(msg, tls.ServerHello):
        # with its (empty) extensions block, as the model counts it
        return TLS(version=0x0303, msg=[TLSServerHello(version=0x0303, gmt_unix_time=0,
                                                       random_bytes=msg.random[4:],
                                                       cipher=msg.suite, extlen=0)])
    if isinstance(msg, tls.Certificate):
        return TLS(version=0x0303, msg=[TLSCertificate(certs=[(len(d), d) for d in msg.ders])])
    if isinstance(msg, tls.ServerHelloDone):
        return TLS(version=0x0303, msg=[TLSServerHelloDone()])
    if isinstance(msg, tls.ClientKeyExchange):
        return TLS(version=0x0303, msg=[TLSClientKeyExchange(exchkeys=b"\x01\x00" + bytes(256))])
    if isinstance(msg, tls.ChangeCipherSpec):
        return TLS(version=0x0303, type=20, msg=[TLSChangeCipherSpec()])
    if isinstance(msg, tls.Alert):
        return TLS(version=0x0303, type=21, msg=[TLSAlert(level=msg.level,
                                                          descr=msg.description)])
    # Finished travels encrypted: an opaque handshake record of the right length (bytes that
    # look like ciphertext; zeros would dissect as plaintext HelloRequests).
    body = _CIPHERTEXT[:msg.size - tls.RECORD_HEADER]
    return Raw(b"\x16\x03\x03" + len(body).to_bytes(2, "big") + body)


_CIPHERTEXT = hashlib.sha256(b"dasim encrypted record").digest() * 4


def _app_data(length: int) -> ScapyPacket:
    """Encrypted application data (the IPv6 stream inside IP-HTTPS, HTTP over TLS): one
    record of ``length`` bytes with its header, the bytes the message takes in the stream."""
    return TLS(version=0x0303, type=23,
               msg=[TLSApplicationData(data=bytes(max(length - tls.RECORD_HEADER, 1)))])


def _http(msg: Any) -> ScapyPacket:
    """Start line, headers and body (the real bytes when the message has them, a CRL say;
    else as many zero bytes as the body counts)."""
    text = getattr(msg, "text", None)
    if callable(text):
        text = text()
    if text is None:
        text = str(msg)
    head = text.encode() if isinstance(text, str) else bytes(text)
    body = getattr(msg, "body", None) or bytes(getattr(msg, "body_size", 0))
    return Raw(head + body)


def _dns(msg: Any) -> ScapyPacket:
    qd = DNSQR(qname=msg.qname, qtype=msg.qtype)
    answers = [DNSRR(rrname=msg.qname, type=msg.qtype, ttl=getattr(a, "ttl", 300),
                     rdata=str(getattr(a, "address", a)))
               for a in (getattr(msg, "answers", None) or [])]
    # answers name the question by a pointer (RFC 1035 §4.1.4), as servers send them
    return DNS(id=msg.id, qr=int(bool(getattr(msg, "response", False))),
               rcode=getattr(msg, "rcode", 0), qd=qd,
               an=answers).compress()


def _isakmp(msg: IsakmpMessage) -> ScapyPacket:
    """An AuthIP message (MS-AIPS §2.2.1: an ISAKMP header with AuthIP's exchange type
    0xF3-0xF6, then one Crypto payload, 0x85): the payloads are opaque, so the header says
    they are encrypted. The responder cookie is zero on the first message; the message ID is
    0 in main mode, 1 in extended mode, the initiator's choice in quick mode."""
    cookie = msg.cookie.to_bytes(8, "big")
    responder = bytes(8) if msg.exchange == "main" and msg.step == 1 else \
        hashlib.sha256(cookie).digest()[:8]
    message_id = {"main": 0, "extended": 1}.get(msg.exchange, msg.cookie & 0xFFFFFFFF)
    return ISAKMP(init_cookie=cookie, resp_cookie=responder, next_payload=CRYPTO_PAYLOAD,
                  exch_type=EXCHANGES[msg.exchange], flags=1, id=message_id) / Raw(
        bytes(max(msg.size - ISAKMP_HEADER, 0)))


def _esp(pkt: p.Packet) -> ScapyPacket:
    """Tunnel-mode ESP (RFC 4303): the SPI and sequence number, then the encrypted inner
    packet, padding and ICV as opaque bytes of the size the model counted."""
    header = pkt.payload
    return ScapyESP(spi=header.spi, seq=header.seq,
                    data=bytes(max(pkt.size - p.IPV6_HEADER - 8, 0)))


# Payload type → encoder, looked up along the payload's class hierarchy.
PAYLOAD_ENCODERS: dict[type, Callable[[Any], ScapyPacket]] = {
    tls.TlsMessage: _tls,
    IsakmpMessage: _isakmp,
}


def register_encoder(cls: type, encoder: Callable[[Any], ScapyPacket]) -> None:
    """Let a protocol module (DNS, HTTP) declare how its messages are encoded."""
    PAYLOAD_ENCODERS[cls] = encoder


def _payload(obj: Any, in_tls_stream: bool) -> ScapyPacket:
    if obj is None:
        return Raw(b"")
    if isinstance(obj, p.Packet):
        # An IPv6 packet inside the IP-HTTPS stream: encrypted TLS application data.
        return _app_data(obj.size)
    for cls in type(obj).__mro__:
        enc = PAYLOAD_ENCODERS.get(cls)
        if enc is not None:
            return enc(obj)
    if hasattr(obj, "qname"):
        return _dns(obj)
    if hasattr(obj, "method") or hasattr(obj, "status"):
        return _app_data(obj.size) if in_tls_stream else _http(obj)
    if isinstance(obj, bytes):
        return Raw(obj)
    return Raw(bytes(getattr(obj, "size", 0)))


def _hash16(*fields: Any) -> int:
    """16 bits of a hash of ``fields`` (sha256: the same in every process, unlike hash())."""
    text = "|".join(map(str, fields)).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:2], "big")


def _packet_id(pkt: p.Packet) -> int:
    """An IPv4 Identification for a packet encoded alone (a quoted one, say): a hash of its
    fields."""
    return _hash16(pkt.src, pkt.dst, pkt.proto, pkt.sport, pkt.dport, pkt.seq, pkt.size)


def _ip_header(pkt: p.Packet, hops: int, ip_id: int | None) -> ScapyPacket:
    ttl = max(pkt.ttl - hops, 1)
    if pkt.src.version == 4:
        return IP(src=str(pkt.src), dst=str(pkt.dst), ttl=ttl,
                  id=_packet_id(pkt) if ip_id is None else ip_id & 0xFFFF)
    if isinstance(pkt.payload, ND_MESSAGES):
        ttl = ND_HOP_LIMIT   # link-local: no router forwards ND
    return IPv6(src=str(pkt.src), dst=str(pkt.dst), hlim=ttl)


def encode(pkt: p.Packet, tls_ports: Iterable[int] = (443,),
           in_tls_stream: bool | None = None, hops: int = 0,
           ip_id: int | None = None) -> ScapyPacket:
    """The scapy form of one light packet, including what it encapsulates. A TCP segment's
    messages are encrypted records when ``in_tls_stream`` says so, or by default when a port
    is one of ``tls_ports``. ``hops``: the routers it crossed before the capture point (its
    TTL or hop limit is the sender's less that; a tunnelled packet's is the sender's).
    ``ip_id``: its IPv4 Identification (default: a hash of its fields)."""
    ip = _ip_header(pkt, hops, ip_id)
    proto = pkt.proto
    if proto == p.UDP:
        body = UDP(sport=pkt.sport, dport=pkt.dport)
        if isinstance(pkt.payload, TeredoHeaders):
            raw = teredo_header_bytes(pkt.payload)
            inner = bytes(encode(pkt.inner)) if pkt.inner is not None else b""
            return ip / body / Raw(raw + inner)
        if pkt.inner is not None:
            return ip / body / Raw(bytes(encode(pkt.inner)))
        return ip / body / _payload(pkt.payload, False)
    if proto == p.TCP:
        body = TCP(sport=pkt.sport, dport=pkt.dport, flags=pkt.flags, seq=pkt.seq & 0xFFFFFFFF,
                   ack=pkt.ack & 0xFFFFFFFF, window=65535)
        if pkt.payload is None:
            return ip / body
        in_tls = in_tls_stream if in_tls_stream is not None else \
            pkt.sport in tls_ports or pkt.dport in tls_ports
        return ip / body / _payload(pkt.payload, in_tls)
    if proto == p.IPV6_IN_IPV4:
        ip.proto = 41
        return ip / encode(pkt.inner)
    if proto == p.ICMPV6:
        out = ip / _icmpv6(pkt.payload)
        if isinstance(pkt.payload, EchoMessage):
            out = out / Raw(_echo_data(pkt, p.IPV6_HEADER))
        if pkt.inner is not None:   # an error quotes what fits (RFC 4443 §2.4)
            out = out / Raw(bytes(encode(pkt.inner))[:p.ICMPV6_ERROR_QUOTE])
        return out
    if proto == p.ICMP:
        out = ip / _icmpv4(pkt.payload)
        if isinstance(pkt.payload, EchoMessage):
            out = out / Raw(_echo_data(pkt, p.IPV4_HEADER))
        if pkt.inner is not None:
            out = out / Raw(bytes(encode(pkt.inner))[:28])
        return out
    if proto == ESP:
        return ip / _esp(pkt)
    return ip / Raw(bytes(max(pkt.size - 20, 0)))


def write_pcap(path: str, records: Iterable[tuple[float, str, p.Packet]],
               start: datetime, tls_ports: Iterable[int] = (443,)) -> int:
    """Write ``(time, direction, packet)`` records (a capture list) to ``path``; returns the
    number of packets."""
    epoch = start.timestamp()
    count = 0
    ports = tuple(tls_ports)
    # connections that carried a TLS handshake: what follows on them is encrypted, whatever
    # the port (IP-HTTPS through a proxy's CONNECT tunnel runs to the proxy's port)
    tls_flows: set[frozenset] = set()
    # routers crossed before the capture point, by record (a ``Capture``; else none)
    hops = getattr(records, "hops", None)
    # IPv4 Identification: per flow, a hashed start then one more per packet
    next_id: dict[tuple, int] = {}
    with PcapWriter(path, linktype=LINKTYPE_RAW, sync=False) as writer:
        writer.write_header(None)
        for i, (t, _direction, pkt) in enumerate(records):
            in_tls = None   # encode's default: by port
            if pkt.proto == p.TCP:
                flow = frozenset(((pkt.src, pkt.sport), (pkt.dst, pkt.dport)))
                if isinstance(pkt.payload, tls.TlsMessage):
                    tls_flows.add(flow)
                if flow in tls_flows:
                    in_tls = True
            ip_id = None
            if pkt.src.version == 4:
                flow_key = (pkt.src, pkt.dst, pkt.proto)
                ip_id = next_id.get(flow_key)
                if ip_id is None:
                    ip_id = _hash16(*flow_key)
                next_id[flow_key] = (ip_id + 1) & 0xFFFF
            scapy_pkt = encode(pkt, ports, in_tls, hops[i] if hops is not None else 0, ip_id)
            scapy_pkt.time = epoch + t
            # write_packet, not write: write() warns "Inconsistent linktypes" for every
            # packet whose class is not LINKTYPE_RAW's, and a raw file holds IPv4 and IPv6
            writer.write_packet(scapy_pkt)
            count += 1
    return count
