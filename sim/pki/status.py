"""CERT_TRUST_STATUS error bits, as CertGetCertificateChain reports them per element and chain.

Values are those of wincrypt.h ([CTS], domain-facts §6.2 F6.7). ``NAME_MISMATCH`` is not a
CryptoAPI bit: Windows reports a wrong server name only through the SSL chain policy
(CertVerifyCertificateChainPolicy → CERT_E_CN_NO_MATCH); the simulator keeps it among the flags,
in a bit wincrypt.h leaves unused, so that one value tells the whole story.
"""

from __future__ import annotations

from enum import IntFlag


class TrustStatus(IntFlag):
    """dwErrorStatus bits (``CERT_TRUST_`` prefix dropped)."""

    NO_ERROR = 0x0
    IS_NOT_TIME_VALID = 0x00000001
    IS_NOT_TIME_NESTED = 0x00000002
    IS_REVOKED = 0x00000004
    IS_NOT_SIGNATURE_VALID = 0x00000008
    IS_NOT_VALID_FOR_USAGE = 0x00000010
    IS_UNTRUSTED_ROOT = 0x00000020
    REVOCATION_STATUS_UNKNOWN = 0x00000040
    IS_CYCLIC = 0x00000080
    INVALID_EXTENSION = 0x00000100
    INVALID_POLICY_CONSTRAINTS = 0x00000200
    INVALID_BASIC_CONSTRAINTS = 0x00000400
    INVALID_NAME_CONSTRAINTS = 0x00000800
    HAS_NOT_SUPPORTED_NAME_CONSTRAINT = 0x00001000
    HAS_NOT_DEFINED_NAME_CONSTRAINT = 0x00002000
    HAS_NOT_PERMITTED_NAME_CONSTRAINT = 0x00004000
    HAS_EXCLUDED_NAME_CONSTRAINT = 0x00008000
    IS_PARTIAL_CHAIN = 0x00010000
    CTL_IS_NOT_TIME_VALID = 0x00020000
    CTL_IS_NOT_SIGNATURE_VALID = 0x00040000
    CTL_IS_NOT_VALID_FOR_USAGE = 0x00080000
    HAS_WEAK_SIGNATURE = 0x00100000
    IS_OFFLINE_REVOCATION = 0x01000000
    NO_ISSUANCE_CHAIN_POLICY = 0x02000000
    IS_EXPLICIT_DISTRUST = 0x04000000
    HAS_NOT_SUPPORTED_CRITICAL_EXT = 0x08000000
    NAME_MISMATCH = 0x40000000  # simulator-only: the SSL policy's server-name check failed

    def names(self) -> list[str]:
        """The set bits as ``CERT_TRUST_*`` names (``NAME_MISMATCH`` keeps its own name)."""
        out = []
        for bit in TrustStatus:
            if bit and bit in self:
                out.append(bit.name if bit is TrustStatus.NAME_MISMATCH
                           else f"CERT_TRUST_{bit.name}")
        return out


NAME_CONSTRAINT_ERRORS = (TrustStatus.INVALID_NAME_CONSTRAINTS
                          | TrustStatus.HAS_NOT_SUPPORTED_NAME_CONSTRAINT
                          | TrustStatus.HAS_NOT_DEFINED_NAME_CONSTRAINT
                          | TrustStatus.HAS_NOT_PERMITTED_NAME_CONSTRAINT
                          | TrustStatus.HAS_EXCLUDED_NAME_CONSTRAINT)
REVOCATION_ERRORS = (TrustStatus.IS_REVOKED | TrustStatus.REVOCATION_STATUS_UNKNOWN
                     | TrustStatus.IS_OFFLINE_REVOCATION)
