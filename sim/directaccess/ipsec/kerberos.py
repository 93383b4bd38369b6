"""Kerberos as the tunnels need it: a domain controller's KDC that refuses a client whose
clock is too far off, and the KDC proxy (MS-KKDCP) that carries the same exchange over HTTPS
at ``/KdcProxy/`` on the IP-HTTPS listener in the simplified deployment (A6).

A ticket is the KDC's answer to one AS/TGS exchange, reduced to what the IPsec responder
checks: whose it is, which kind (computer or user) and until when it is valid.
"""

from __future__ import annotations

from typing import NamedTuple

KERBEROS_PORT = 88          # RFC 4120 §7.2.1
MAX_CLOCK_SKEW = 300.0      # "Maximum tolerance for computer clock synchronization": 5 min
TICKET_LIFETIME = 10 * 3600.0   # "Maximum lifetime for user ticket": 10 h
KRB_AP_ERR_SKEW = 37        # RFC 4120 §7.5.9: clock skew too great
KDC_PROXY_PATH = "/KdcProxy/"   # A6: https://+:443/KdcProxy/, served by kpssvc
AS_REQ_SIZE, AS_REP_SIZE = 260, 1380   # a typical AS-REQ with pre-authentication, an AS-REP


class Ticket(NamedTuple):
    principal: str
    kind: str          # computer | user
    valid_until: float


class KerberosRequest(NamedTuple):
    """An AS-REQ with its pre-authentication timestamp: the client's clock."""

    principal: str
    kind: str
    client_time: float


class KerberosReply(NamedTuple):
    ticket: Ticket | None
    error: int | None = None


def kdc_answer(req: KerberosRequest, now: float) -> KerberosReply:
    """The KDC's answer: a ticket, or KRB_AP_ERR_SKEW when the pre-authentication timestamp
    is more than ``MAX_CLOCK_SKEW`` from its own clock (RFC 4120 §5.2.3)."""
    if abs(req.client_time - now) > MAX_CLOCK_SKEW:
        return KerberosReply(None, KRB_AP_ERR_SKEW)
    return KerberosReply(Ticket(req.principal, req.kind, now + TICKET_LIFETIME))


def encode_request(req: KerberosRequest) -> bytes:
    """The KDC-PROXY-MESSAGE body (MS-KKDCP §2.2.2), here a readable stand-in of its size."""
    text = f"{req.kind}|{req.principal}|{req.client_time!r}".encode()
    return text.ljust(AS_REQ_SIZE, b"\0")


def decode_request(body: bytes | None) -> KerberosRequest | None:
    try:
        kind, principal, when = (body or b"").rstrip(b"\0").decode().split("|")
        return KerberosRequest(principal, kind, float(when))
    except ValueError:
        return None


def encode_reply(reply: KerberosReply) -> bytes:
    if reply.ticket is None:
        return f"error|{reply.error}".encode().ljust(120, b"\0")
    t = reply.ticket
    return f"ticket|{t.kind}|{t.principal}|{t.valid_until!r}".encode().ljust(AS_REP_SIZE, b"\0")


def decode_reply(body: bytes | None) -> KerberosReply | None:
    try:
        parts = (body or b"").rstrip(b"\0").decode().split("|")
        if parts[0] == "error":
            return KerberosReply(None, int(parts[1]))
        return KerberosReply(Ticket(parts[2], parts[1], float(parts[3])))
    except (ValueError, IndexError):
        return None
