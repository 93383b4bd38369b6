"""DNS over UDP 53: servers with their own view of names, and the Windows resolver's retries.

Split views are simply different servers: the corporate DNS inside answers for the NLS and the
domain controllers, the public resolver outside does not (so the NLS name is NXDOMAIN outside,
F1.19). A firewall that blocks UDP 53 breaks resolution like it would on a real network.
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import TYPE_CHECKING, Any

from sim.net.errors import WSAHOST_NOT_FOUND, WSANO_DATA, WSATRY_AGAIN, SocketError

if TYPE_CHECKING:
    from sim.net.host import Host, UdpSocket

DNS_PORT = 53
NOERROR, NXDOMAIN = 0, 3
QTYPES = {"A": 1, "AAAA": 28}
# Windows DNS client: 1 s to the first server, then 1, 2, 4 s (assumption: the documented
# default schedule for a single server; RFC 1536 discusses such back-off).
RETRY_SCHEDULE = (1.0, 1.0, 2.0, 4.0)
DEFAULT_TTL = 300


class DnsAnswer:
    __slots__ = ("address", "ttl")

    def __init__(self, address: Any, ttl: int = DEFAULT_TTL) -> None:
        self.address = address
        self.ttl = ttl


class DnsMessage:
    """A query or a response with its answers (fields that scapy's DNS layer encodes)."""

    __slots__ = ("answers", "id", "qname", "qtype", "rcode", "response")

    def __init__(self, id: int, qname: str, qtype: int, response: bool = False,
                 rcode: int = NOERROR, answers: list[DnsAnswer] | None = None) -> None:
        self.id = id
        self.qname = qname
        self.qtype = qtype
        self.response = response
        self.rcode = rcode
        self.answers = answers or []

    @property
    def size(self) -> int:
        question = len(self.qname) + 2 + 4
        per_answer = 12 + (4 if self.qtype == 1 else 16)
        return 12 + question + per_answer * len(self.answers)


class DnsServer:
    """Answers A and AAAA queries from ``records`` (name → addresses)."""

    def __init__(self, host: Host, records: dict[str, list[Any]] | None = None,
                 port: int = DNS_PORT) -> None:
        self.host = host
        self.records: dict[str, list[Any]] = {}
        for name, addrs in (records or {}).items():
            for addr in addrs:
                self.add(name, addr)
        self.socket: UdpSocket = host.udp_open(port, on_packet=self._query)
        self.queries = 0

    def add(self, name: str, address: Any) -> None:
        self.records.setdefault(name.lower().rstrip("."), []).append(ip_address(address))

    def _query(self, pkt: Any) -> None:
        q = pkt.payload
        if not isinstance(q, DnsMessage) or q.response:
            return
        self.queries += 1
        name = q.qname.lower().rstrip(".")
        version = 4 if q.qtype == QTYPES["A"] else 6
        if name not in self.records:
            reply = DnsMessage(q.id, q.qname, q.qtype, True, NXDOMAIN)
        else:
            answers = [DnsAnswer(a) for a in self.records[name] if a.version == version]
            reply = DnsMessage(q.id, q.qname, q.qtype, True, NOERROR, answers)
        self.socket.sendto(pkt.src, pkt.sport, payload=reply, payload_size=reply.size,
                           src=pkt.dst)


def resolve(host: Host, name: str, qtype: str = "A"):
    """The Windows resolver (a generator): the addresses of ``name`` from the host's DNS
    servers (``host.dns_servers``), cached by TTL; raises SocketError 0x2af9 (NXDOMAIN),
    0x2afc (no record of that type) or 0x2afa (no answer)."""
    env = host.kernel.env
    key = (name.lower().rstrip("."), qtype)
    cache = host.__dict__.setdefault("dns_cache", {})
    hit = cache.get(key)
    if hit is not None and hit[0] > env.now:
        if isinstance(hit[1], int):
            raise SocketError(hit[1], f"{name}: cached negative answer")
        return list(hit[1])
    servers = getattr(host, "dns_servers", None) or []
    if not servers:
        raise SocketError(WSATRY_AGAIN, f"{host.name} has no DNS server")
    rng = host.kernel.rng(f"dns:{host.name}")
    sock = host.udp_open()
    try:
        for wait in RETRY_SCHEDULE:
            qid = rng.getrandbits(16)
            query = DnsMessage(qid, name, QTYPES[qtype])
            sock.sendto(servers[0], DNS_PORT, payload=query, payload_size=query.size)
            deadline = env.now + wait
            while env.now < deadline:
                pkt = yield sock.recv(timeout=deadline - env.now)
                if pkt is None:
                    break
                reply = pkt.payload
                if not isinstance(reply, DnsMessage) or reply.id != qid:
                    continue
                if reply.rcode == NXDOMAIN:
                    cache[key] = (env.now + DEFAULT_TTL, WSAHOST_NOT_FOUND)
                    raise SocketError(WSAHOST_NOT_FOUND, f"{name}: no such name")
                if not reply.answers:
                    cache[key] = (env.now + DEFAULT_TTL, WSANO_DATA)
                    raise SocketError(WSANO_DATA, f"{name}: no {qtype} record")
                addrs = [a.address for a in reply.answers]
                cache[key] = (env.now + min(a.ttl for a in reply.answers), addrs)
                return addrs
        raise SocketError(WSATRY_AGAIN, f"{name}: the DNS server did not answer")
    finally:
        sock.close()
