"""TLS 1.2 handshakes as message exchanges over a simulated TCP connection (RFC 5246 §7.3).

The server's Certificate message carries its real X.509 chain; the client verifies it at the
point Windows does (after ServerHelloDone, F2.20 step 3) through a ``verify`` callable that
returns the chain engine's result. A rejected chain ends the handshake with a fatal alert and
the chain engine's HRESULT: this is where 0x800b0109 comes from.

Any connection object with ``send(message, size)`` and ``recv(timeout)`` (an event whose value
is the next message or None) can carry a handshake.

A :class:`TlsTerminator` is what a server side accepts: the cipher suites it will pick from and
whether it demands a client certificate. An SSL-offloading load balancer or application
delivery controller in front of IP-HTTPS that lacks the NULL-encryption suites, which Windows 8
and later offer alone to a DirectAccess server, answers their ClientHello with a fatal alert;
one that demands a client certificate breaks off after ServerHello when the client has none.
Either way Schannel reports SEC_E_ILLEGAL_MESSAGE 0x80090326 (F1–F4 of the fact sheet above
the tunnel; Hicks, "Troubleshooting IP-HTTPS Error 0x80090326").
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Literal

from sim.config import Strict

RECORD_HEADER = 5          # content type, version, length
HANDSHAKE_HEADER = 4       # msg type, 24-bit length
TLS12 = 0x0303
# Windows 8+ servers offer NULL-encryption suites for IP-HTTPS (F5.9); clients also offer AES.
DEFAULT_SUITES = (0x003C, 0x002F, 0x003B, 0x0002)  # RSA_AES128_SHA256, RSA_AES128_SHA,
#                                                   RSA_NULL_SHA256, RSA_NULL_SHA
# What Windows 8 and later offer a DirectAccess server for IP-HTTPS: NULL encryption only, as
# IPsec inside already encrypts (F2, N11.4); TLS_RSA_WITH_NULL_SHA256 and _SHA (that these two
# are the ones is UNCONFIRMED: F2 saw them only in screenshots).
NULL_SUITES = (0x003B, 0x0002)
# Windows 7 offers encrypted suites (F2, G2); its exact list is not in the sources: RSA key
# exchange with AES and 3DES stands for it here (UNCONFIRMED).
ENCRYPTED_SUITES = (0x003C, 0x002F, 0x0035, 0x000A)   # RSA_AES128_SHA256, RSA_AES128_SHA,
#                                                       RSA_AES256_SHA, RSA_3DES_EDE_SHA
HANDSHAKE_TIMEOUT = 30.0   # assumption: how long a client waits for each server flight

# Alert descriptions (RFC 5246 §7.2)
HANDSHAKE_FAILURE = 40
BAD_CERTIFICATE = 42
CERTIFICATE_REVOKED = 44
CERTIFICATE_EXPIRED = 45
CERTIFICATE_UNKNOWN = 46
UNKNOWN_CA = 48


class TlsMessage:
    """A handshake or record-level message; ``size`` is its bytes on the wire with its record
    header."""

    __slots__ = ()
    name = "tls"
    content_type = 22  # handshake

    @property
    def size(self) -> int:
        return RECORD_HEADER + HANDSHAKE_HEADER + self.body_size()

    def body_size(self) -> int:
        return 0


class ClientHello(TlsMessage):
    __slots__ = ("random", "server_name", "suites")
    name = "ClientHello"

    def __init__(self, server_name: str | None, random: bytes,
                 suites: tuple[int, ...] = DEFAULT_SUITES) -> None:
        self.server_name = server_name
        self.random = random
        self.suites = suites

    def body_size(self) -> int:
        sni = 9 + len(self.server_name) if self.server_name else 0
        return 2 + 32 + 1 + 2 + 2 * len(self.suites) + 2 + 2 + sni


class ServerHello(TlsMessage):
    __slots__ = ("random", "suite")
    name = "ServerHello"

    def __init__(self, random: bytes, suite: int) -> None:
        self.random = random
        self.suite = suite

    def body_size(self) -> int:
        return 2 + 32 + 1 + 2 + 1 + 2


class Certificate(TlsMessage):
    """The server's chain as it sends it: leaf first (``x509.Certificate`` objects)."""

    __slots__ = ("chain", "ders")
    name = "Certificate"

    def __init__(self, chain: list[Any]) -> None:
        from cryptography.hazmat.primitives.serialization import Encoding

        self.chain = list(chain)
        self.ders = [c.public_bytes(Encoding.DER) for c in self.chain]

    def body_size(self) -> int:
        return 3 + sum(3 + len(d) for d in self.ders)


class CertificateRequest(TlsMessage):
    """The server asks for a client certificate (RFC 5246 §7.4.4): RSA signing, one signature
    algorithm, no CA names."""

    __slots__ = ()
    name = "CertificateRequest"

    def body_size(self) -> int:
        return 2 + 2 + 2 + 2


class ServerHelloDone(TlsMessage):
    __slots__ = ()
    name = "ServerHelloDone"


class ClientKeyExchange(TlsMessage):
    __slots__ = ()
    name = "ClientKeyExchange"

    def body_size(self) -> int:
        return 2 + 256  # RSA-2048 encrypted pre-master secret


class ChangeCipherSpec(TlsMessage):
    __slots__ = ()
    name = "ChangeCipherSpec"
    content_type = 20

    @property
    def size(self) -> int:
        return RECORD_HEADER + 1


class Finished(TlsMessage):
    __slots__ = ()
    name = "Finished"

    def body_size(self) -> int:
        return 12 + 16 + 20  # verify_data inside an encrypted record (IV + MAC)


class Alert(TlsMessage):
    __slots__ = ("description", "level")
    name = "Alert"
    content_type = 21

    def __init__(self, description: int, level: int = 2) -> None:
        self.description = description
        self.level = level

    @property
    def size(self) -> int:
        return RECORD_HEADER + 2


class TlsError(Exception):
    """The handshake failed; ``code`` is the Windows error (an HRESULT or socket error)."""

    def __init__(self, code: int, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail

    @property
    def hex(self) -> str:
        return f"0x{self.code:x}"


SEC_E_ILLEGAL_MESSAGE = 0x80090326   # F6.2
WSAECONNRESET = 0x2746
WSAETIMEDOUT = 0x274C


def _alert_for(result: Any) -> int:
    name = getattr(result, "name", "")
    if "REVOKED" in name:
        return CERTIFICATE_REVOKED
    if "EXPIRED" in name:
        return CERTIFICATE_EXPIRED
    if "UNTRUSTEDROOT" in name or "CHAINING" in name:
        return UNKNOWN_CA
    return BAD_CERTIFICATE


def _alert_error(msg: Alert, after: str) -> TlsError:
    name = {HANDSHAKE_FAILURE: " (handshake_failure)"}.get(msg.description, "")
    return TlsError(SEC_E_ILLEGAL_MESSAGE,
                    f"the server sent TLS alert {msg.description}{name} after {after}")


def client_handshake(conn: Any, server_name: str | None, verify: Callable[[list], Any],
                     rng: Any, timeout: float = HANDSHAKE_TIMEOUT,
                     suites: tuple[int, ...] = DEFAULT_SUITES):
    """Run the client side offering ``suites``; returns the chain result on success, raises
    TlsError otherwise. A generator for SimPy processes. The client has no certificate of its
    own: asked for one, it sends an empty Certificate message (RFC 5246 §7.4.6)."""
    conn.send(hello := ClientHello(server_name, rng.randbytes(32), suites), hello.size)
    chain = None
    after = "ClientHello"
    asked = False
    while True:
        msg = yield conn.recv(timeout)
        if msg is None:
            raise TlsError(WSAECONNRESET if getattr(conn, "closed", False) else WSAETIMEDOUT,
                           "the server did not complete the TLS handshake")
        if isinstance(msg, Alert):
            raise _alert_error(msg, after)
        if isinstance(msg, ServerHello):
            after = "ServerHello"
        elif isinstance(msg, Certificate):
            chain = msg.chain
        elif isinstance(msg, CertificateRequest):
            asked = True
        elif isinstance(msg, ServerHelloDone):
            break
    if not chain:
        raise TlsError(SEC_E_ILLEGAL_MESSAGE, "the server sent no certificate")
    result = verify(chain)
    if isinstance(result, Generator):   # a verifier that fetches CRLs over the network
        result = yield from result
    if getattr(result, "hresult", 0):
        conn.send(alert := Alert(_alert_for(result)), alert.size)
        conn.close()
        raise TlsError(result.hresult, getattr(result, "message", "certificate rejected"),
                       result)
    flight = (ClientKeyExchange(), ChangeCipherSpec(), Finished())
    for msg in ((Certificate([]), *flight) if asked else flight):
        conn.send(msg, msg.size)
    while True:
        msg = yield conn.recv(timeout)
        if msg is None:
            raise TlsError(WSAECONNRESET if getattr(conn, "closed", False) else WSAETIMEDOUT,
                           "the server did not finish the TLS handshake")
        if isinstance(msg, Alert):
            raise _alert_error(msg, "ServerHello" + (
                " (it asked for a client certificate; the client has none)" if asked else ""))
        if isinstance(msg, Finished):
            return result


@dataclass(frozen=True)
class TlsTerminator:
    """What terminates TLS on the server side: the suites it picks from, in its order of
    preference (None: whatever the client offers first, preferring ``preferred``), and whether
    it demands a client certificate (IP-HTTPS preauthentication, F3)."""

    suites: tuple[int, ...] | None = None
    client_certificate: bool = False
    preferred: int = 0x003B

    @classmethod
    def adc(cls, null_suites: bool, client_certificate: bool) -> TlsTerminator:
        """An SSL-offloading load balancer or ADC: encrypted suites, and the NULL ones only
        when they were enabled on it (they are not part of the usual cipher lists, F2–F4)."""
        return cls((NULL_SUITES if null_suites else ()) + ENCRYPTED_SUITES, client_certificate)

    def pick(self, offered: tuple[int, ...]) -> int | None:
        if self.suites is None:
            return self.preferred if self.preferred in offered else offered[0]
        return next((s for s in self.suites if s in offered), None)


ANY_SUITE = TlsTerminator()


class TerminatorConfig(Strict):
    """A scenario's ``server.iphttps.terminator``: an SSL-offloading load balancer or ADC
    that terminates IP-HTTPS's TLS in front of the server (unsupported: F1). Without the
    NULL suites it fails Windows 8+ clients after ClientHello; demanding a client
    certificate, it fails clients without one after ServerHello (0x80090326)."""

    null_suites: bool = False
    client_certificate: Literal["none", "required"] = "none"

    def device(self) -> TlsTerminator:
        return TlsTerminator.adc(self.null_suites, self.client_certificate == "required")


class TlsServerSession:
    """Server side of one connection, driven by the messages it receives: answers the
    ClientHello with its chain, the client's Finished with its own; then hands application
    messages to ``on_data``."""

    __slots__ = ("certificate", "conn", "established", "failed", "on_data", "policy", "rng",
                 "suite")

    def __init__(self, conn: Any, certificate: Certificate, rng: Any,
                 on_data: Callable[[Any], None] | None = None, suite: int = 0x003B,
                 policy: TlsTerminator | None = None) -> None:
        self.conn = conn
        self.certificate = certificate  # built once per server: its chain never changes
        self.rng = rng
        self.on_data = on_data
        self.suite = suite
        self.policy = policy if policy is not None else (
            ANY_SUITE if suite == ANY_SUITE.preferred else TlsTerminator(preferred=suite))
        self.established = False
        self.failed = False

    def _fail(self) -> None:
        self.failed = True
        alert = Alert(HANDSHAKE_FAILURE)
        self.conn.send(alert, alert.size)
        self.conn.close()

    def receive(self, msg: Any) -> None:
        if self.failed:
            return
        if self.established:
            if self.on_data is not None:
                self.on_data(msg)
            return
        if isinstance(msg, ClientHello):
            suite = self.policy.pick(msg.suites)
            if suite is None:   # no suite in common (RFC 5246 §7.4.1.3)
                self._fail()
                return
            self.suite = suite
            flight: tuple[TlsMessage, ...] = (ServerHello(self.rng.randbytes(32), suite),
                                              self.certificate)
            if self.policy.client_certificate:
                flight += (CertificateRequest(),)
            for out in (*flight, ServerHelloDone()):
                self.conn.send(out, out.size)
        elif isinstance(msg, Certificate):   # the client's: empty, it has none
            if self.policy.client_certificate and not msg.chain:
                self._fail()
        elif isinstance(msg, Finished):
            for out in (ChangeCipherSpec(), Finished()):
                self.conn.send(out, out.size)
            self.established = True
        elif isinstance(msg, Alert):
            self.conn.close()
