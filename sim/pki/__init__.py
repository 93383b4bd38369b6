"""Certificate trust as a Windows DirectAccess client sees it (imports no other ``sim`` layer).

- :mod:`~sim.pki.authority` — CAs, certificates, cross-certificates, re-signing proxies, and the
  scenario's hierarchy by name (keys cached per process).
- :mod:`~sim.pki.store` — Windows-like Root / CA / My / Disallowed stores with versions.
- :mod:`~sim.pki.machine` — one computer's stores and the chain policy it applies.
- :mod:`~sim.pki.chain` — the chain engine and :func:`verify_chain`.
- :mod:`~sim.pki.status`, :mod:`~sim.pki.hresult` — CERT_TRUST_* bits, HRESULTs, precedence.
- :mod:`~sim.pki.revocation` — CRLs, fetching through a callable, caching by validity.
- :mod:`~sim.pki.loading` — PEM, DER, PKCS#7 files, bundles and folders.
"""

from sim.pki.authority import Authority, Hierarchy, build_crl, key_stats, private_key
from sim.pki.chain import cache_stats, clear_caches, verify_chain
from sim.pki.errors import PkiInputError
from sim.pki.hresult import HResult, policy_error
from sim.pki.loading import (
    certificates_from_bytes,
    load_certificates,
    load_chain,
    load_crls,
)
from sim.pki.machine import MachineStores
from sim.pki.result import ChainResult
from sim.pki.revocation import CrlCache, revocation_enforced
from sim.pki.status import TrustStatus
from sim.pki.store import CertStore, thumbprint

__all__ = [
    "Authority",
    "CertStore",
    "ChainResult",
    "CrlCache",
    "HResult",
    "Hierarchy",
    "MachineStores",
    "PkiInputError",
    "TrustStatus",
    "build_crl",
    "cache_stats",
    "certificates_from_bytes",
    "clear_caches",
    "key_stats",
    "load_certificates",
    "load_chain",
    "load_crls",
    "policy_error",
    "private_key",
    "revocation_enforced",
    "thumbprint",
    "verify_chain",
]
