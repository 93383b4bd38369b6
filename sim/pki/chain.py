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
from dataclasses import dataclass, field, replace

from cryptography import x509

from sim.pki import hresult as hr
from sim.pki import names as nm
from sim.pki import revocation as rv
from sim.pki.errors import PkiInputError
from sim.pki.parsed import ANY_EKU, SERVER_AUTH, Parsed, parse, signature_valid
from sim.pki.result import ChainResult
from sim.pki.status import TrustStatus as T
from sim.pki.store import CertStore

MAX_PATH_CERTS = 16     # assumption: longer chains are reported as partial [UNCONFIRMED]
MAX_EXPANSIONS = 2000   # search budget per verification (simulator limit)
MAX_CANDIDATES = 256    # complete paths evaluated per verification (simulator limit)

Source = CertStore | x509.Certificate | Iterable["Source"]
_EPOCH = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
_END = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
_ONE_SECOND = dt.timedelta(seconds=1)


@dataclass
class _Pool:
    """Every certificate the engine may use, indexed by subject, with where it came from."""

    by_subject: dict[bytes, list[Parsed]] = field(default_factory=dict)
    records: dict[bytes, Parsed] = field(default_factory=dict)
    source: dict[bytes, str] = field(default_factory=dict)
    trusted: set[bytes] = field(default_factory=set)
    disallowed: set[bytes] = field(default_factory=set)

    def add(self, rec: Parsed, source: str) -> None:
        if rec.der in self.source:
            if source == "root":
                self.source[rec.der] = source
            return
        self.source[rec.der] = source
        self.records[rec.der] = rec
        if not rec.subject_empty:
            self.by_subject.setdefault(rec.subject, []).append(rec)


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


def _token(src: Source | None) -> tuple:
    """A cheap hashable token of a store, certificate or iterable (no copying of stores)."""
    if src is None:
        return ()
    if isinstance(src, CertStore):
        return ("store", *src.token)
    if isinstance(src, x509.Certificate):
        return (src,)
    if isinstance(src, list | tuple) and all(isinstance(c, x509.Certificate) for c in src):
        return tuple(src)
    return _flatten(src)[0]


def _flatten(src: Source | None) -> tuple[tuple, list[x509.Certificate],
                                          list[x509.CertificateRevocationList]]:
    """(hashable token, certificates, CRLs) of a store, a certificate or an iterable of them."""
    if src is None:
        return (), [], []
    if isinstance(src, CertStore):
        return ("store", *src.token), list(src.certificates), list(src.crls)
    if isinstance(src, x509.Certificate):
        return (src,), [src], []
    if isinstance(src, str | bytes):
        raise PkiInputError(f"expected certificates or a CertStore, got {type(src).__name__}")
    tokens: list = []
    certs: list[x509.Certificate] = []
    crls: list[x509.CertificateRevocationList] = []
    try:
        items = list(src)
    except TypeError:
        raise PkiInputError(
            f"expected certificates or a CertStore, got {type(src).__name__}") from None
    for item in items:
        if isinstance(item, x509.CertificateRevocationList):
            tokens.append(item)
            crls.append(item)
            continue
        t, c, r = _flatten(item)
        tokens.extend(t)
        certs.extend(c)
        crls.extend(r)
    return tuple(tokens), certs, crls


def _crls_of(src: Source | None) -> list[x509.CertificateRevocationList]:
    if isinstance(src, CertStore):
        return list(src.crls)
    if src is None or isinstance(src, x509.Certificate):
        return []
    return _flatten(src)[2]


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
                 use_cache: bool = True) -> ChainResult:
    """Verify a server's chain as a Windows client's SSL policy does; see the module docstring.

    ``presented`` is the chain as the server sends it, leaf first. ``roots`` and
    ``intermediates`` are certificates or :class:`CertStore` objects (or iterables of both);
    ``disallowed`` plays the Untrusted Certificates store. ``host`` is the DNS name or IP address
    the client connects to (None skips the name check). ``at`` is a timezone-aware time (default
    now). ``fetch(url) -> bytes | None`` downloads AIA and CRL URLs (None: unreachable).
    ``check_revocation`` enforces CRL checking; ``crls`` are CRLs already at hand; ``max_depth``
    caps the intermediates (not counting self-issued ones) for conformance harnesses.
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
    key = (tuple(presented), _token(roots), _token(intermediates), _token(disallowed), host,
           max_depth, fetch is not None)
    built = _CACHE.get(key) if use_cache else None
    if built is not None and built.lo <= when < built.hi:
        _STATS["hits"] += 1  # (no LRU refresh: hashing the key twice would double the cost)
    else:
        _STATS["misses"] += 1
        _, rcerts, _ = _flatten(roots)
        _, icerts, _ = _flatten(intermediates)
        _, dcerts, _ = _flatten(disallowed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            built, used_fetch = _build(presented, rcerts, icerts, dcerts, host, when, fetch,
                                       max_depth)
        if use_cache and not used_fetch:
            _CACHE[key] = built
            if len(_CACHE) > _CACHE_MAX:
                _CACHE.popitem(last=False)
    result = replace(built.base, at=when) if built.base.at != when else built.base
    if check_revocation and not (result.flags & (T.IS_PARTIAL_CHAIN | T.IS_CYCLIC
                                                  | T.IS_UNTRUSTED_ROOT)):
        local = [*_crls_of(roots), *_crls_of(intermediates), *crls]
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
           max_depth: int | None) -> tuple[_Built, bool]:
    pool = _Pool()
    for c in roots:
        rec = parse(c)
        pool.add(rec, "root")
        pool.trusted.add(rec.der)
    for i, c in enumerate(presented):
        pool.add(parse(c), "presented" if i else "leaf")
    for c in intermediates:
        pool.add(parse(c), "ca")
    pool.disallowed = {parse(c).der for c in disallowed}
    leaf = parse(presented[0])
    search = _Search(pool, at, fetch, max_depth)
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
        presented_names=presented_names, problems=tuple(problems),
    )
    lo, hi = _validity_window(pool, at)
    return _Built(base, path, lo, hi), search.used_fetch


def _validity_window(pool: _Pool, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The interval around ``at`` in which no pooled certificate becomes valid or expires."""
    bounds = sorted({b for p in pool.records.values()
                     for b in (p.not_before, p.not_after + _ONE_SECOND)})
    i = bisect.bisect_right(bounds, at)
    lo = bounds[i - 1] if i else _EPOCH
    hi = bounds[i] if i < len(bounds) else _END
    return lo, hi


class _Search:
    """Depth-first enumeration of candidate paths, keeping the best (module docstring)."""

    def __init__(self, pool: _Pool, at: dt.datetime, fetch: rv.Fetch | None,
                 max_depth: int | None) -> None:
        self.pool = pool
        self.at = at
        self.fetch = fetch
        self.max_depth = max_depth
        self.expansions = 0
        self.candidates = 0
        self.truncated = False
        self.done = False
        self.used_fetch = False
        self.fetched: set[str] = set()
        self.best_path: list[Parsed] | None = None
        self.best_eval: tuple[list[T], T, list[str]] | None = None
        self.best_quality: tuple | None = None
        self.perfect_len: int | None = None

    def extend(self, path: list[Parsed], ders: set[bytes],
               logical: set[tuple[bytes, bytes | None]]) -> None:
        if self.done or (self.perfect_len is not None and len(path) >= self.perfect_len):
            return  # branch and bound: nothing here can beat a shorter error-free chain
        self.expansions += 1
        top = path[-1]
        if top.self_signed:
            self.consider(path, "trusted" if top.der in self.pool.trusted else "root")
            return
        too_deep = self.max_depth is not None and (
            sum(1 for p in path[1:] if not p.self_issued) > self.max_depth)
        if (len(path) >= MAX_PATH_CERTS or self.expansions > MAX_EXPANSIONS
                or self.candidates >= MAX_CANDIDATES or too_deep):
            self.truncated = self.truncated or not too_deep
            self.consider(path, "partial", too_long=True)
            return
        issuers, cyclic = self.issuers(top, ders, logical)
        if not issuers:
            self.consider(path, "partial", cyclic=cyclic)
            return
        for c in issuers:
            ders.add(c.der)
            logical.add((c.subject, c.spki))
            path.append(c)
            self.extend(path, ders, logical)
            path.pop()
            ders.discard(c.der)
            logical.discard((c.subject, c.spki))
            if self.done:
                return

    def issuers(self, top: Parsed, ders: set[bytes],
                logical: set[tuple[bytes, bytes | None]]) -> tuple[list[Parsed], bool]:
        """Candidate issuers of ``top`` not already in the path, best first; and whether some
        were left out because they are (or are the same CA as) an element already in it."""
        if top.issuer == b"0\x00":
            return [], False
        found = self.pool.by_subject.get(top.issuer, [])
        if not found and self.fetch is not None and top.aia_urls:
            self.download(top)
            found = self.pool.by_subject.get(top.issuer, [])
        cyclic = False
        out = []
        for c in found:
            if c.der in ders or (c.subject, c.spki) in logical:
                cyclic = True
                continue
            out.append(c)
        valid = [c for c in out if signature_valid(top, c)]
        if valid:
            out = valid
        at, trusted = self.at, self.pool.trusted

        def rank(c: Parsed) -> tuple:
            return (c.der in trusted,
                    top.aki_keyid is not None and top.aki_keyid == c.ski,
                    c.not_before <= at <= c.not_after,
                    c.not_before)

        out.sort(key=rank, reverse=True)
        return out, cyclic

    def download(self, top: Parsed) -> None:
        """AIA caIssuers: certificates (DER, PEM or PKCS#7) from the URLs ``top`` names."""
        from sim.pki.loading import certificates_from_bytes

        for url in top.aia_urls:
            if url in self.fetched:
                continue
            self.fetched.add(url)
            self.used_fetch = True
            try:
                data = self.fetch(url) if self.fetch else None
            except Exception:
                data = None
            if not data:
                continue
            try:
                certs = certificates_from_bytes(data, url)
            except PkiInputError:
                continue
            for c in certs:
                self.pool.add(parse(c), "aia")

    def consider(self, path: list[Parsed], terminal: str, cyclic: bool = False,
                 too_long: bool = False) -> None:
        self.candidates += 1
        ev = evaluate(path, terminal, self.pool, self.at, cyclic=cyclic)
        if too_long:
            ev[2].append(f"The path through '{path[-1].label()}' is longer than allowed.")
        q = _quality(path, ev)
        if self.best_quality is None or q > self.best_quality:
            self.best_path, self.best_eval, self.best_quality = list(path), ev, q
            if terminal == "trusted" and not _combined(ev):
                self.perfect_len = len(path)
                self.done = len(path) <= 2


def _combined(ev: tuple[list[T], T, list[str]]) -> T:
    flags = ev[1]
    for f in ev[0]:
        flags |= f
    return flags


def _quality(path: list[Parsed], ev: tuple[list[T], T, list[str]]) -> tuple:
    f = _combined(ev)
    return (
        not f & (T.IS_NOT_SIGNATURE_VALID | T.HAS_WEAK_SIGNATURE),
        not f & (T.IS_PARTIAL_CHAIN | T.IS_CYCLIC),
        not f & (T.IS_UNTRUSTED_ROOT | T.IS_EXPLICIT_DISTRUST),
        not f & T.IS_NOT_TIME_VALID,
        not f & T.INVALID_BASIC_CONSTRAINTS,
        -bin(int(f)).count("1"),
        -len(path),
        tuple(p.not_before for p in path[1:]),
    )


def evaluate(path: list[Parsed], terminal: str, pool: _Pool, at: dt.datetime,
             cyclic: bool = False) -> tuple[list[T], T, list[str]]:
    """Trust-status bits of each element and of the chain, for one candidate path.

    ``terminal`` says how the path ends: "trusted" (a self-signed certificate in the Root
    store), "root" (a self-signed certificate not in Root) or "partial" (no issuer found).
    """
    n = len(path)
    el = [T.NO_ERROR] * n
    chain = T.NO_ERROR
    notes: list[str] = []
    if terminal == "partial":
        chain |= T.IS_PARTIAL_CHAIN
        if cyclic:
            chain |= T.IS_CYCLIC
    elif terminal == "root":
        el[-1] |= T.IS_UNTRUSTED_ROOT
    for i, p in enumerate(path):
        f = T.NO_ERROR
        if p.der in pool.disallowed:
            f |= T.IS_EXPLICIT_DISTRUST
        if not p.not_before <= at <= p.not_after:
            f |= T.IS_NOT_TIME_VALID
        if p.problems:
            f |= T.INVALID_EXTENSION
        if p.unsupported_critical:
            f |= T.INVALID_EXTENSION | T.HAS_NOT_SUPPORTED_CRITICAL_EXT
        if p.key_problem:
            f |= T.HAS_WEAK_SIGNATURE
        if i + 1 < n:
            if not signature_valid(p, path[i + 1]):
                f |= T.IS_NOT_SIGNATURE_VALID
            elif p.weak_hash:
                f |= T.HAS_WEAK_SIGNATURE
        elif terminal != "partial" and p.self_issued and not signature_valid(p, p):
            f |= T.IS_NOT_SIGNATURE_VALID
        if p.eku is not None and ANY_EKU not in p.eku and SERVER_AUTH not in p.eku:
            f |= T.IS_NOT_VALID_FOR_USAGE
        el[i] |= f
    # Basic constraints and key usage of the CA positions.
    anchored = terminal != "partial"
    for i in range(1, n):
        p = path[i]
        implicit = (i == n - 1 and anchored) or (
            p.version < 3 and pool.source.get(p.der) in ("root", "ca"))
        ca = p.bc_ca if p.bc_present else implicit
        if not ca:
            el[i] |= T.INVALID_BASIC_CONSTRAINTS
        if p.bc_present and p.bc_path_length is not None:
            below = sum(1 for j in range(1, i) if not path[j].self_issued)
            if below > p.bc_path_length:
                el[i] |= T.INVALID_BASIC_CONSTRAINTS
        if ca and p.ku is not None and not p.ku.key_cert_sign:
            el[i] |= T.IS_NOT_VALID_FOR_USAGE
    leaf = path[0]
    if leaf.ku is not None and leaf.ku.key_cert_sign != leaf.is_ca:
        el[0] |= T.IS_NOT_VALID_FOR_USAGE
    if leaf.name_constraints is not None and not leaf.is_ca:
        el[0] |= T.INVALID_NAME_CONSTRAINTS
    # Name constraints: each CA's subtrees against every later certificate (RFC 5280 §6.1).
    for i in range(n - 1, 0, -1):
        nc = path[i].name_constraints
        if nc is None:
            continue
        if not nm.constraints_valid(nc):
            el[i] |= T.INVALID_NAME_CONSTRAINTS
            continue
        for j in range(i - 1, -1, -1):
            if j and path[j].self_issued:
                continue
            el[i] |= nm.check_constraints(nc, path[j])
    return el, chain, notes
