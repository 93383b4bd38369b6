"""Certificate trust as a Windows DirectAccess client sees it (imports no other ``sim`` layer;
its configuration types stand on :mod:`sim.config`).

- :mod:`~sim.pki.authority` — CAs, certificates, cross-certificates, re-signing proxies;
  :mod:`~sim.pki.keys` (the per-process key cache), :mod:`~sim.pki.fields` (names, times,
  extensions), :mod:`~sim.pki.registry` (key algorithms and EKU names a scenario may use).
- :mod:`~sim.pki.spec` — the scenario's ``pki:`` section as typed models;
  :mod:`~sim.pki.hierarchy` builds the scenario's hierarchy by name from one.
- :mod:`~sim.pki.store` — Windows-like Root / CA / My / Disallowed stores with versions.
- :mod:`~sim.pki.machine` — one computer's stores and the chain policy it applies.
- :mod:`~sim.pki.chain` — the chain engine and :func:`verify_chain`: :mod:`~sim.pki.pool`
  (candidate issuers), :mod:`~sim.pki.search` (path building), :mod:`~sim.pki.evaluate`
  (the checks on a path), :mod:`~sim.pki.result` (the verdict and its explanation).
- :mod:`~sim.pki.status`, :mod:`~sim.pki.hresult` — CERT_TRUST_* bits, HRESULTs, precedence.
- :mod:`~sim.pki.revocation` — CRLs, fetching through a callable, caching by validity.
- :mod:`~sim.pki.loading` — PEM, DER, PKCS#7 files, bundles and folders.

The names below load their module on first use (PEP 562): the scenario schema imports
:mod:`sim.pki.spec`, and ``dasim list`` or a scenario check should not pay for
``cryptography`` and the chain engine (about 0.1 s) when they build no certificate.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.pki.authority import Authority, build_crl
    from sim.pki.chain import cache_stats, clear_caches, verify_chain
    from sim.pki.errors import PkiInputError
    from sim.pki.hierarchy import Hierarchy
    from sim.pki.hresult import HResult, policy_error
    from sim.pki.keys import key_stats, private_key
    from sim.pki.loading import certificates_from_bytes, load_certificates, load_chain, load_crls
    from sim.pki.machine import MachineStores
    from sim.pki.result import ChainResult
    from sim.pki.revocation import CrlCache, revocation_enforced
    from sim.pki.spec import PkiSpec
    from sim.pki.status import TrustStatus
    from sim.pki.store import CertStore, thumbprint

_HOMES = {
    "Authority": "authority", "build_crl": "authority",
    "cache_stats": "chain", "clear_caches": "chain", "verify_chain": "chain",
    "PkiInputError": "errors",
    "PkiSpec": "spec",
    "Hierarchy": "hierarchy",
    "HResult": "hresult", "policy_error": "hresult",
    "key_stats": "keys", "private_key": "keys",
    "certificates_from_bytes": "loading", "load_certificates": "loading",
    "load_chain": "loading", "load_crls": "loading",
    "MachineStores": "machine",
    "ChainResult": "result",
    "CrlCache": "revocation", "revocation_enforced": "revocation",
    "TrustStatus": "status",
    "CertStore": "store", "thumbprint": "store",
}

__all__ = [
    "Authority",
    "CertStore",
    "ChainResult",
    "CrlCache",
    "HResult",
    "Hierarchy",
    "MachineStores",
    "PkiInputError",
    "PkiSpec",
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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"sim.pki.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
