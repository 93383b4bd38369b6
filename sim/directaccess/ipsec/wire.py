"""ISAKMP (IKE/AuthIP) and ESP as light payloads: what a message carries, and its size.

Sizes follow the formats (RFC 2408 §3.1: a 28-byte ISAKMP header; MS-AIPS §2.2: AuthIP
messages are ISAKMP messages with a Crypto payload), so the bytes counted in a run are those a
capture would hold. Payloads are opaque: no keys are derived, nothing is encrypted. Main mode
and extended mode are two exchanges each (four messages, MS-AIPS IKEEXT_MM/EM_SA_STATE);
quick mode is three messages after them (the optimisation that overlaps it with the end of
main mode, MS-AIPS §1.3, is not modelled).
"""

from __future__ import annotations

from typing import Any

IKE_PORT = 500          # A11: UDP 500 inside the IPv6 transition
ESP = 50                # A11: IP protocol 50
ISAKMP_HEADER = 28      # RFC 2408 §3.1
# AuthIP's exchange types (MS-AIPS §2.2.1, in ISAKMP's private range) and its Crypto payload
EXCHANGES = {"main": 0xF3, "quick": 0xF4, "extended": 0xF5, "notify": 0xF6}
CRYPTO_PAYLOAD = 0x85
# tunnel-mode ESP overhead around an inner IPv6 packet: outer IPv6 header 40, SPI and sequence
# number 8 (RFC 4303 §2), an AES-CBC IV 16, padding + trailer 2..17 (say 10), SHA-1-96 ICV 12
ESP_OVERHEAD = 40 + 8 + 16 + 10 + 12
# what each message's payloads add to the header (SA proposals, KE 128 bytes of a 1024-bit
# group, nonces, identities, an auth token; a certificate adds its DER length)
BODY = {("main", 1): 180, ("main", 2): 160, ("main", 3): 300, ("main", 4): 260,
        ("extended", 1): 420, ("extended", 2): 180,
        ("quick", 1): 220, ("quick", 2): 200, ("quick", 3): 60, ("notify", 1): 40}


class IsakmpMessage:
    """One AuthIP/IKE message: which exchange and step, the initiator's cookie (SPI) that
    ties it to a negotiation, and what it carries (credentials, a notify code)."""

    __slots__ = ("auth", "cookie", "exchange", "notify", "size", "step", "tunnel")

    def __init__(self, exchange: str, step: int, cookie: int, tunnel: str,
                 auth: Any = None, notify: int | None = None, extra: int = 0) -> None:
        self.exchange = exchange
        self.step = step
        self.cookie = cookie
        self.tunnel = tunnel
        self.auth = auth          # a certificate chain, a Kerberos ticket or an NTLM token
        self.notify = notify      # a Windows IKE error code the peer reports
        self.size = ISAKMP_HEADER + BODY.get((exchange, step), 100) + extra

    def __repr__(self) -> str:
        return f"<ISAKMP {self.exchange}#{self.step} {self.tunnel} {self.size}B>"


class EspHeader:
    """The ESP header of one tunnel-mode packet: the SA's SPI and the sequence number; the
    packet's ``inner`` is the IPv6 packet it protects."""

    __slots__ = ("seq", "spi")

    def __init__(self, spi: int, seq: int) -> None:
        self.spi = spi
        self.seq = seq

    def __repr__(self) -> str:
        return f"<ESP spi=0x{self.spi:08x} seq={self.seq}>"
