"""The HRESULTs the SSL chain policy reports, and which one wins when several conditions hold.

Windows builds a chain (CertGetCertificateChain: trust-status bits per element) and then asks
the SSL policy (CertVerifyCertificateChainPolicy with CERT_CHAIN_POLICY_SSL) for one error code.
The policy returns a single HRESULT even when many bits are set; Microsoft does not publish the
order. We follow the fact sheet's suggested order (domain-facts F6.8, modelled on the order in
which CryptoAPI builds and then checks a chain), with the codes the fact sheet does not rank
slotted where the chain engine meets them:

1. ``IS_PARTIAL_CHAIN`` or ``IS_CYCLIC``          → CERT_E_CHAINING            0x800b010a
2. ``IS_NOT_SIGNATURE_VALID``/``HAS_WEAK_SIGNATURE`` → TRUST_E_CERT_SIGNATURE 0x80096004
3. ``IS_EXPLICIT_DISTRUST`` (Disallowed store)    → TRUST_E_EXPLICIT_DISTRUST  0x800b0111
4. ``IS_UNTRUSTED_ROOT``                          → CERT_E_UNTRUSTEDROOT       0x800b0109
5. ``IS_NOT_TIME_VALID``                          → CERT_E_EXPIRED             0x800b0101
6. ``INVALID_BASIC_CONSTRAINTS``                  → TRUST_E_BASIC_CONSTRAINTS  0x80096019
7. ``HAS_NOT_SUPPORTED_CRITICAL_EXT``             → CERT_E_CRITICAL            0x800b0105
   ``INVALID_EXTENSION`` alone (undecodable)      → CERT_E_MALFORMED           0x800b0108
8. name-constraint bits                           → CERT_E_INVALID_NAME        0x800b0114
9. ``IS_NOT_VALID_FOR_USAGE``                     → CERT_E_WRONG_USAGE         0x800b0110
10. ``NAME_MISMATCH`` (SSL policy's name check)   → CERT_E_CN_NO_MATCH         0x800b010f
11. ``IS_REVOKED``                                → CERT_E_REVOKED             0x800b010c
12. ``IS_OFFLINE_REVOCATION``                     → CRYPT_E_REVOCATION_OFFLINE 0x80092013
13. ``REVOCATION_STATUS_UNKNOWN``                 → CRYPT_E_NO_REVOCATION_CHECK 0x80092012

Revocation bits only ever appear on chains that end in a trusted root and when the client
enforces CRL checking (F6.3, F5.14), so they can win only when nothing else is wrong.
Message texts are the winerror.h FormatMessage strings (domain-facts §6.1; "Certificate and
Trust Return Values", learn.microsoft.com/windows/win32/seccrypto).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.pki.status import NAME_CONSTRAINT_ERRORS, TrustStatus


@dataclass(frozen=True, slots=True)
class HResult:
    """One Windows error code: value, symbolic name and the text FormatMessage prints."""

    code: int
    name: str
    message: str

    @property
    def hex(self) -> str:
        """Lower-case hex as netsh prints it (domain-facts N2)."""
        return f"0x{self.code:x}"


S_OK = HResult(0, "S_OK", "The certificate chain is trusted.")
CERT_E_CHAINING = HResult(
    0x800B010A, "CERT_E_CHAINING",
    "A certificate chain could not be built to a trusted root authority.")
TRUST_E_CERT_SIGNATURE = HResult(
    0x80096004, "TRUST_E_CERT_SIGNATURE", "The signature of the certificate cannot be verified.")
TRUST_E_EXPLICIT_DISTRUST = HResult(
    0x800B0111, "TRUST_E_EXPLICIT_DISTRUST",
    "The certificate was explicitly marked as untrusted by the user.")
CERT_E_UNTRUSTEDROOT = HResult(
    0x800B0109, "CERT_E_UNTRUSTEDROOT",
    "A certificate chain processed, but terminated in a root certificate which is not trusted "
    "by the trust provider.")
CERT_E_EXPIRED = HResult(
    0x800B0101, "CERT_E_EXPIRED",
    "A required certificate is not within its validity period when verifying against the "
    "current system clock or the timestamp in the signed file.")
TRUST_E_BASIC_CONSTRAINTS = HResult(
    0x80096019, "TRUST_E_BASIC_CONSTRAINTS",
    "A certificate's basic constraint extension has not been observed.")
CERT_E_CRITICAL = HResult(
    0x800B0105, "CERT_E_CRITICAL",
    "A certificate contains an unknown extension that is marked 'critical'.")
CERT_E_MALFORMED = HResult(
    0x800B0108, "CERT_E_MALFORMED",
    "A certificate is missing or has an empty value for an important field, such as a "
    "subject or issuer name.")
CERT_E_INVALID_NAME = HResult(
    0x800B0114, "CERT_E_INVALID_NAME",
    "The certificate has an invalid name. The name is not included in the permitted list or "
    "is explicitly excluded.")
CERT_E_WRONG_USAGE = HResult(
    0x800B0110, "CERT_E_WRONG_USAGE", "The certificate is not valid for the requested usage.")
CERT_E_CN_NO_MATCH = HResult(
    0x800B010F, "CERT_E_CN_NO_MATCH", "The certificate's CN name does not match the passed value.")
CERT_E_REVOKED = HResult(
    0x800B010C, "CERT_E_REVOKED", "A certificate was explicitly revoked by its issuer.")
CRYPT_E_REVOCATION_OFFLINE = HResult(
    0x80092013, "CRYPT_E_REVOCATION_OFFLINE",
    "The revocation function was unable to check revocation because the revocation server "
    "was offline.")
CRYPT_E_NO_REVOCATION_CHECK = HResult(
    0x80092012, "CRYPT_E_NO_REVOCATION_CHECK",
    "The revocation function was unable to check revocation for the certificate.")

#: (condition bits, code) in precedence order; the first match wins (see the module docstring).
PRECEDENCE: tuple[tuple[TrustStatus, HResult], ...] = (
    (TrustStatus.IS_PARTIAL_CHAIN | TrustStatus.IS_CYCLIC, CERT_E_CHAINING),
    (TrustStatus.IS_NOT_SIGNATURE_VALID | TrustStatus.HAS_WEAK_SIGNATURE, TRUST_E_CERT_SIGNATURE),
    (TrustStatus.IS_EXPLICIT_DISTRUST, TRUST_E_EXPLICIT_DISTRUST),
    (TrustStatus.IS_UNTRUSTED_ROOT, CERT_E_UNTRUSTEDROOT),
    (TrustStatus.IS_NOT_TIME_VALID, CERT_E_EXPIRED),
    (TrustStatus.INVALID_BASIC_CONSTRAINTS, TRUST_E_BASIC_CONSTRAINTS),
    (TrustStatus.HAS_NOT_SUPPORTED_CRITICAL_EXT, CERT_E_CRITICAL),
    (TrustStatus.INVALID_EXTENSION, CERT_E_MALFORMED),
    (NAME_CONSTRAINT_ERRORS, CERT_E_INVALID_NAME),
    (TrustStatus.IS_NOT_VALID_FOR_USAGE, CERT_E_WRONG_USAGE),
    (TrustStatus.NAME_MISMATCH, CERT_E_CN_NO_MATCH),
    (TrustStatus.IS_REVOKED, CERT_E_REVOKED),
    (TrustStatus.IS_OFFLINE_REVOCATION, CRYPT_E_REVOCATION_OFFLINE),
    (TrustStatus.REVOCATION_STATUS_UNKNOWN, CRYPT_E_NO_REVOCATION_CHECK),
)

CATALOGUE: dict[int, HResult] = {h.code: h for _, h in PRECEDENCE} | {0: S_OK}
BY_NAME: dict[str, HResult] = {h.name: h for h in CATALOGUE.values()}


def policy_error(flags: TrustStatus) -> HResult:
    """The one HRESULT the SSL policy reports for a chain's combined flags (S_OK if none)."""
    for bits, code in PRECEDENCE:
        if flags & bits:
            return code
    return S_OK


def lookup(code: int | str) -> HResult:
    """An HRESULT by value (int or ``0x...`` string) or by symbolic name."""
    if isinstance(code, str):
        if code.upper() in BY_NAME:
            return BY_NAME[code.upper()]
        code = int(code, 16)
    return CATALOGUE[code]
