"""The chain engine: CertGetCertificateChain + CertVerifyCertificateChainPolicy (SSL), modelled.

Path building. Starting from the leaf, candidate issuers are the certificates whose subject
equals the element's issuer name (binary comparison, as CertCompareCertificateName does) among
the certificates the server presented (hAdditionalStore), the Intermediate (CA) and Root stores,
and, when no candidate exists, what the element's AIA caIssuers URLs return through ``fetch``.
A path ends at a self-signed certificate: trusted when that certificate is in the Root store
(Wine's CRYPT_CheckRootCert), CERT_TRUST_IS_UNTRUSTED_ROOT when it is not. A Root-store
certificate that is not self-signed is no anchor (CryptoAPI has no partial-chain anchors):
building goes on above it. Where no issuer is found the path is CERT_TRUST_IS_PARTIAL_CHAIN,
with CERT_TRUST_IS_CYCLIC when the only issuers are already in the path. Every alternative is
enumerated depth-first and each complete candidate is checked in full.

Best path. CryptoAPI scores every chain it built and keeps the best; if scores tie, the shortest
chain wins (Microsoft's note on certification path selection). Its score is not published; we
rank as Wine's reimplementation of crypt32 does (CRYPT_ChainQuality) and then add the tie-breaks:

1. every signature verifies            (quality bit SIGNATURE_VALID, the heaviest)
2. the chain is complete (not partial, not cyclic)
3. it ends in a trusted root (and nothing in it is in the Disallowed store)
4. every element is within its validity period
5. basic constraints hold
6. fewest other trust-status error bits
7. fewest certificates
8. the most recently issued CA certificates (latest notBefore, element by element)

Checks on the chosen path follow Wine's CRYPT_CheckSimpleChain where Windows behaviour is
known to match, and RFC 5280 §6.1 where it is silent: validity (compared at one-second
resolution, as certificate times are encoded), signatures (including a root's self-signature),
basicConstraints with pathLenConstraint (self-issued intermediates not counted, RFC 5280
§6.1.4), key usage (a CA whose key usage omits keyCertSign, or an end entity asserting it
without being a CA, is not valid for usage), the EKU of every element (Windows intersects
usages down the chain: an intermediate whose EKU lacks Server Authentication spoils the leaf),
critical extensions Windows does not understand, and name constraints. Implicit CAs: a root
without basicConstraints, and v1/v2 certificates found in the local stores, may issue (the v1
roots still in the Windows root program depend on it).

Hostile input ends quickly: a path holds at most :data:`MAX_PATH_CERTS` certificates, a search
expands at most :data:`MAX_EXPANSIONS` nodes, a certificate already in the path (or another
certificate with the same subject and key, "the same logical CA") is never added again, and
candidates with a valid signature are preferred so that same-name impostors are not explored.

The SSL policy then reports one HRESULT for the flags: see :mod:`sim.pki.hresult` for the
precedence and :mod:`sim.pki.names` for the server-name rules.

Verdicts are cached per (presented chain, store tokens, host, options) and reused for any time
in the interval where no involved certificate's validity changes; revocation is then checked
afresh against the CRL cache, since CRLs and reachability change on their own schedule.
"""

from __future__ import annotations

import bisect
import datetime as dt
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from cryptography import x509

from sim.pki import hresult as hr
from sim.pki import names as nm
from sim.pki import revocation as rv
from sim.pki.errors import PkiInputError
from sim.pki.evaluate import evaluate  # noqa: F401  (also imported from here)
from sim.pki.parsed import SERVER_AUTH, Parsed, parse
from sim.pki.pool import Pool, Source, crls_of, flatten, pool_of, token
from sim.pki.result import ChainResult
from sim.pki.search import (  # noqa: F401  (the limits are also imported from here)
    MAX_CANDIDATES,
    MAX_EXPANSIONS,
    MAX_PATH_CERTS,
    Search,
)
from sim.pki.status import TrustStatus as T

_EPOCH = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
_END = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
_ONE_SECOND = dt.timedelta(seconds=1)
_LAST = dt.datetime.max.replace(microsecond=0, tzinfo=dt.UTC)


@dataclass
class _Built:
    base: ChainResult
    path: list[Parsed]
    lo: dt.datetime
    hi: dt.datetime


_CACHE: OrderedDict[tuple, _Built] = OrderedDict()
_CACHE_MAX = 4096
_STATS = {"hits": 0, "misses": 0}


def clear_caches() -> None:
    """Forget cached verdicts, decoded certificates and downloaded CRLs (tests, benches)."""
    from sim.pki import parsed

    _CACHE.clear()
    parsed.clear_cache()
    rv.DEFAULT_CRL_CACHE.clear()
    _STATS.update(hits=0, misses=0)


def cache_stats() -> dict[str, int]:
    return dict(_STATS, size=len(_CACHE))


def _normal_time(at: dt.datetime | None) -> dt.datetime:
    if at is None:
        at = dt.datetime.now(dt.UTC)
    if not isinstance(at, dt.datetime):
        raise PkiInputError(f"'at' must be a datetime, got {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise PkiInputError(f"'at' must be timezone-aware, got {at.isoformat()}")
    return at.astimezone(dt.UTC).replace(microsecond=0)


def verify_chain(presented: list[x509.Certificate],
                 roots: Source | None = (),
                 intermediates: Source | None = (),
                 host: str | None = None,
                 at: dt.datetime | None = None,
                 fetch: Callable[[str], bytes | None] | None = None,
                 check_revocation: bool = False,
                 *,
                 disallowed: Source | None = (),
                 crls: Iterable[x509.CertificateRevocationList] = (),
                 crl_cache: rv.CrlCache | None = None,
                 max_depth: int | None = None,
                 use_cache: bool = True,
                 usage: str = SERVER_AUTH) -> ChainResult:
    """Verify a server's chain as a Windows client's SSL policy does; see the module docstring.

    ``presented`` is the chain as the server sends it, leaf first. ``roots`` and
    ``intermediates`` are certificates or :class:`CertStore` objects (or iterables of both);
    ``disallowed`` plays the Untrusted Certificates store. ``host`` is the DNS name or IP address
    the client connects to (None skips the name check). ``at`` is a timezone-aware time (default
    now). ``fetch(url) -> bytes | None`` downloads AIA and CRL URLs (None: unreachable).
    ``check_revocation`` enforces CRL checking; ``crls`` are CRLs already at hand; ``max_depth``
    caps the intermediates (not counting self-issued ones) for conformance harnesses.
    ``usage`` is the EKU the chain must allow (Client Authentication for an IPsec computer
    certificate).
    """
    if not presented:
        raise PkiInputError("the presented chain is empty: a server sends at least its own "
                            "certificate")
    presented = list(presented)
    for i, c in enumerate(presented):
        if not isinstance(c, x509.Certificate):
            raise PkiInputError(f"presented[{i}] is a {type(c).__name__}, not an "
                                "x509.Certificate")
    when = _normal_time(at)
    key = (tuple(presented), token(roots), token(intermediates), token(disallowed), host,
           max_depth, fetch is not None, usage)
    built = _CACHE.get(key) if use_cache else None
    if built is not None and built.lo <= when < built.hi:
        _STATS["hits"] += 1  # (no LRU refresh: hashing the key twice would double the cost)
    else:
        _STATS["misses"] += 1
        _, rcerts, _ = flatten(roots)
        _, icerts, _ = flatten(intermediates)
        _, dcerts, _ = flatten(disallowed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            built, used_fetch = _build(presented, rcerts, icerts, dcerts, host, when, fetch,
                                       max_depth, usage)
        if use_cache and not used_fetch:
            _CACHE[key] = built
            if len(_CACHE) > _CACHE_MAX:
                _CACHE.popitem(last=False)
    result = replace(built.base, at=when) if built.base.at != when else built.base
    if check_revocation and not (result.flags & (T.IS_PARTIAL_CHAIN | T.IS_CYCLIC
                                                  | T.IS_UNTRUSTED_ROOT)):
        local = [*crls_of(roots), *crls_of(intermediates), *crls]
        result = _with_revocation(result, built.path, when, fetch,
                                  crl_cache or rv.DEFAULT_CRL_CACHE, local)
    return result


def _with_revocation(result: ChainResult, path: list[Parsed], at: dt.datetime,
                     fetch: rv.Fetch | None, cache: rv.CrlCache,
                     local: list[x509.CertificateRevocationList]) -> ChainResult:
    rflags, notes = rv.check_path(path, at, fetch, cache, local)
    el = tuple(a | b for a, b in zip(result.element_flags, rflags, strict=True))
    flags = result.flags
    for f in rflags:
        flags |= f
    code = hr.policy_error(flags)
    return replace(result, element_flags=el, flags=flags, hresult=code.code, name=code.name,
                   message=code.message, notes=result.notes + tuple(notes),
                   revocation_checked=True)


# --- building -----------------------------------------------------------------------------


def _build(presented: list[x509.Certificate], roots: list[x509.Certificate],
           intermediates: list[x509.Certificate], disallowed: list[x509.Certificate],
           host: str | None, at: dt.datetime, fetch: rv.Fetch | None,
           max_depth: int | None, usage: str = SERVER_AUTH) -> tuple[_Built, bool]:
    pool = pool_of(presented, roots, intermediates, disallowed, usage)
    leaf = parse(presented[0])
    search = Search(pool, at, fetch, max_depth)
    search.extend([leaf], {leaf.der}, {(leaf.subject, leaf.spki)})
    path, ev = search.best_path, search.best_eval
    assert path is not None and ev is not None
    el, chain_flags, notes = ev
    if search.truncated:
        notes = [*notes, "The search for issuers stopped at the engine's limits "
                         f"({MAX_PATH_CERTS} certificates per path, {MAX_EXPANSIONS} steps)."]
    flags = chain_flags
    for f in el:
        flags |= f
    presented_names: tuple[str, ...] = ()
    if host is not None and not nm.host_matches(leaf, host):
        el[0] |= T.NAME_MISMATCH
        flags |= T.NAME_MISMATCH
        presented_names = tuple(nm.presented_names(leaf))
    code = hr.policy_error(flags)
    problems = []
    for p in path:
        problems += p.problems
        problems += [f"critical extension {o} is not supported" for o in p.unsupported_critical]
        if p.key_problem:
            problems.append(p.key_problem)
    sources = tuple("presented" if pool.source.get(p.der) == "leaf"
                    else pool.source.get(p.der, "presented") for p in path)
    base = ChainResult(
        hresult=code.code, name=code.name, message=code.message, flags=flags,
        path=tuple(p.cert for p in path), element_flags=tuple(el), sources=sources, host=host,
        at=at, notes=tuple(notes), labels=tuple(p.label() for p in path),
        thumbprints=tuple(p.thumbprint for p in path),
        missing_issuer=(path[-1].issuer_text or "(empty name)")
        if flags & T.IS_PARTIAL_CHAIN else None,
        presented_names=presented_names, problems=tuple(problems), usage=usage,
    )
    lo, hi = _validity_window(pool, at)
    return _Built(base, path, lo, hi), search.used_fetch


def _validity_window(pool: Pool, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The interval around ``at`` in which no pooled certificate becomes valid or expires."""
    bounds = sorted({b for p in pool.records.values()
                     for b in (p.not_before, _just_after(p.not_after))})
    i = bisect.bisect_right(bounds, at)
    lo = bounds[i - 1] if i else _EPOCH
    hi = bounds[i] if i < len(bounds) else _END
    return lo, hi


def _just_after(t: dt.datetime) -> dt.datetime:
    """One second after ``t``; the last representable time for 99991231235959Z, which RFC
    5280 §4.1.2.5 gives certificates with no well-defined expiration."""
    return t + _ONE_SECOND if t < _LAST else _LAST
