"""DNS over UDP 53: servers with their own view of names, and the Windows resolver's retries.

Split views are simply different servers: the corporate DNS inside answers for the NLS and the
domain controllers, the public resolver outside does not (so the NLS name is NXDOMAIN outside,
F1.19). A client's resolvers are a host setting, ``host.dns_servers``. A firewall that blocks
UDP 53 breaks resolution as it would on a real network: the resolver retries on its schedule,
then fails with WSATRY_AGAIN (0x2afa).

Messages keep the fields scapy's DNS layer encodes (id, qname, qtype, rcode, answers with
their TTL), and their ``size`` is their RFC 1035 wire size (answers use a compressed name).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from ipaddress import ip_address
from typing import TYPE_CHECKING, Any

from sim.net.errors import WSAHOST_NOT_FOUND, WSANO_DATA, WSATRY_AGAIN, SocketError

if TYPE_CHECKING:
    from sim.net.host import Host, UdpSocket
    from sim.net.packet import Address

DNS_PORT = 53
NOERROR, SERVFAIL, NXDOMAIN = 0, 2, 3       # RFC 1035 §4.1.1 RCODE
QTYPES = {"A": 1, "AAAA": 28}               # RFC 1035 §3.2.2, RFC 3596 §2.1
QTYPE_NAMES = {v: k for k, v in QTYPES.items()}
# Windows DNS client, one server configured (KB 2834226, Windows XP to 8): queries at 0, 1, 2,
# 4 and 8 s and gives up at 10 s, so each attempt waits 1, 1, 2, 4, 2 s. With several servers
# the first attempt goes to the preferred server, the second to the next one, the later ones
# to all of them (our reading of the same article; a parameter, ``dns_timeouts`` on a host).
RETRY_SCHEDULE: tuple[float, ...] = (1.0, 1.0, 2.0, 4.0, 2.0)
DEFAULT_TTL = 300        # assumption: a typical zone TTL
NEGATIVE_TTL = 300       # assumption: the zone's SOA minimum; Windows caps negative caching
#                          at MaxNegativeCacheTtl (900 s)


class DnsAnswer:
    """One resource record of the answer section: an A or AAAA record."""

    __slots__ = ("address", "ttl")

    def __init__(self, address: Any, ttl: int = DEFAULT_TTL) -> None:
        self.address = address
        self.ttl = ttl

    def __repr__(self) -> str:
        return f"DnsAnswer({self.address}, ttl={self.ttl})"


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
        """Header 12, question (encoded name + type + class), answers (name pointer 2, type,
        class, TTL, rdlength: 12, then the address)."""
        question = len(self.qname.rstrip(".")) + 2 + 4
        per_answer = 12 + (4 if self.qtype == QTYPES["A"] else 16)
        return 12 + question + per_answer * len(self.answers)

    def __repr__(self) -> str:
        kind = "response" if self.response else "query"
        return (f"<DNS {kind} {self.id} {self.qname} {QTYPE_NAMES.get(self.qtype, self.qtype)}"
                f" rcode={self.rcode} {self.answers}>")


class DnsServer:
    """An authoritative-and-recursive server in one: answers A and AAAA queries from
    ``records`` (name → addresses), NXDOMAIN for names it does not know and an empty NOERROR
    answer for a known name without a record of the type asked (the client's WSANO_DATA)."""

    def __init__(self, host: Host, records: dict[str, Iterable[Any]] | None = None,
                 port: int = DNS_PORT, ttl: int = DEFAULT_TTL) -> None:
        self.host = host
        self.ttl = ttl
        self.records: dict[str, list[DnsAnswer]] = {}
        for name, addrs in (records or {}).items():
            self.add_name(name)
            for addr in addrs:
                self.add(name, addr)
        self.socket: UdpSocket = host.udp_open(port, on_packet=self._query)
        self.queries = 0

    def add(self, name: str, address: Any, ttl: int | None = None) -> None:
        """Publish an A or AAAA record (the family follows the address)."""
        self.add_name(name).append(DnsAnswer(ip_address(address),
                                             self.ttl if ttl is None else ttl))

    def add_name(self, name: str) -> list[DnsAnswer]:
        """Make ``name`` exist (so that queries for it are NOERROR, not NXDOMAIN)."""
        return self.records.setdefault(name.lower().rstrip("."), [])

    def remove(self, name: str) -> None:
        self.records.pop(name.lower().rstrip("."), None)

    def answer(self, query: DnsMessage) -> DnsMessage:
        """The response to ``query`` from this server's view."""
        name = query.qname.lower().rstrip(".")
        known = self.records.get(name)
        if known is None:
            return DnsMessage(query.id, query.qname, query.qtype, True, NXDOMAIN)
        version = 4 if query.qtype == QTYPES["A"] else 6
        answers = [a for a in known if a.address.version == version]
        return DnsMessage(query.id, query.qname, query.qtype, True, NOERROR, answers)

    def _query(self, pkt: Any) -> None:
        q = pkt.payload
        if not isinstance(q, DnsMessage) or q.response:
            return
        self.queries += 1
        reply = self.answer(q)
        self.socket.sendto(pkt.src, pkt.sport, payload=reply, payload_size=reply.size,
                           src=pkt.dst)


def _targets(servers: list[Address], attempt: int) -> list[Address]:
    if attempt == 0:
        return servers[:1]
    if attempt == 1:
        return [servers[1 % len(servers)]]
    return list(servers)


def flush_cache(host: Host) -> None:
    """Forget the host's cached answers (``ipconfig /flushdns``; a network change)."""
    host.__dict__.pop("dns_cache", None)


def _servers(host: Host, name: str, qtype: str) -> tuple[list[Any], tuple, str]:
    """The servers to ask for ``name``, its cache key and the query type: the host's, unless
    a name resolution policy (DirectAccess's NRPT, outside) sends the name elsewhere, maybe
    with another query type (``name_policy(name, servers, qtype) -> (servers, qtype)``);
    what those servers say is cached apart from what the adapter's DNS says."""
    key: tuple = (name.lower().rstrip("."), qtype)
    servers = list(getattr(host, "dns_servers", None) or [])
    policy = getattr(host, "name_policy", None)
    if policy is not None:
        chosen, asked = policy(name, servers, qtype)
        if list(chosen) != servers:
            return list(chosen), (*key, "policy"), asked
    return servers, key, qtype


def resolve(host: Host, name: str, qtype: str = "A",
            timeouts: tuple[float, ...] | None = None) -> Generator[Any, Any, list[Any]]:
    """The Windows resolver (a generator for SimPy processes): the addresses of ``name``
    from the host's DNS servers (``host.dns_servers``, or those its ``name_policy``
    picks), cached by TTL.

    Raises SocketError 0x2af9 WSAHOST_NOT_FOUND (NXDOMAIN), 0x2afc WSANO_DATA (the name exists
    without a record of that type) or 0x2afa WSATRY_AGAIN (no answer after the retries of
    ``timeouts``, by default the host's ``dns_timeouts`` or ``RETRY_SCHEDULE``). A negative
    answer stops the retries at once and is cached too (KB 2834226; RFC 2308)."""
    if qtype not in QTYPES:
        raise ValueError(f"query type {qtype!r}: expected one of {sorted(QTYPES)}")
    env = host.kernel.env
    servers, key, qtype = _servers(host, name, qtype)
    cache = host.__dict__.setdefault("dns_cache", {})
    hit = cache.get(key)
    if hit is not None and hit[0] > env.now:
        if isinstance(hit[1], int):
            raise SocketError(hit[1], f"{name}: cached negative answer")
        return list(hit[1])
    if not servers:
        raise SocketError(WSATRY_AGAIN, f"{host.name} has no DNS server")
    if timeouts is None:
        timeouts = getattr(host, "dns_timeouts", None) or RETRY_SCHEDULE
    rng = host.kernel.rng(f"dns:{host.name}")
    sock = host.udp_open()
    sent: set[int] = set()    # a late answer to an earlier attempt is as good as any
    try:
        for attempt, wait in enumerate(timeouts):
            qid = rng.getrandbits(16)
            sent.add(qid)
            query = DnsMessage(qid, name, QTYPES[qtype])
            for server in _targets(servers, attempt):
                sock.sendto(server, DNS_PORT, payload=query, payload_size=query.size)
            deadline = env.now + wait
            while env.now < deadline:
                pkt = yield sock.recv(timeout=deadline - env.now)
                if pkt is None:
                    break
                reply = pkt.payload
                if not isinstance(reply, DnsMessage) or not reply.response or \
                        reply.id not in sent or pkt.src not in servers:
                    continue
                if reply.rcode == NXDOMAIN:
                    cache[key] = (env.now + NEGATIVE_TTL, WSAHOST_NOT_FOUND)
                    raise SocketError(WSAHOST_NOT_FOUND, f"{name}: no such name")
                if reply.rcode != NOERROR:
                    continue     # SERVFAIL and the like: wait for another server or retry
                if not reply.answers:
                    cache[key] = (env.now + NEGATIVE_TTL, WSANO_DATA)
                    raise SocketError(WSANO_DATA, f"{name}: no {qtype} record")
                addrs = [a.address for a in reply.answers]
                cache[key] = (env.now + min(a.ttl for a in reply.answers), addrs)
                return addrs
        raise SocketError(WSATRY_AGAIN, f"{name}: the DNS server did not answer")
    finally:
        sock.close()
