"""Path building: the depth-first enumeration of candidate paths from the leaf up, keeping
the best by CryptoAPI's ranking (:mod:`sim.pki.chain` describes both)."""

from __future__ import annotations

import datetime as dt

from sim.pki import revocation as rv
from sim.pki.errors import PkiInputError
from sim.pki.evaluate import Evaluation, evaluate
from sim.pki.parsed import Parsed, parse, signature_valid
from sim.pki.pool import Pool
from sim.pki.status import TrustStatus as T

MAX_PATH_CERTS = 16     # assumption: longer chains are reported as partial [UNCONFIRMED]
MAX_EXPANSIONS = 2000   # search budget per verification (simulator limit)
MAX_CANDIDATES = 256    # complete paths evaluated per verification (simulator limit)


class Search:
    """Depth-first enumeration of candidate paths, keeping the best (module docstring)."""

    def __init__(self, pool: Pool, at: dt.datetime, fetch: rv.Fetch | None,
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
        self.best_eval: Evaluation | None = None
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
        q = quality(path, ev)
        if self.best_quality is None or q > self.best_quality:
            self.best_path, self.best_eval, self.best_quality = list(path), ev, q
            if terminal == "trusted" and not combined(ev):
                self.perfect_len = len(path)
                self.done = len(path) <= 2


def combined(ev: Evaluation) -> T:
    flags = ev[1]
    for f in ev[0]:
        flags |= f
    return flags


def quality(path: list[Parsed], ev: Evaluation) -> tuple:
    f = combined(ev)
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
