"""The candidate issuer pool: every certificate the chain engine may use, by subject, with
where it came from; and how the caller's stores, certificates and lists become one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography import x509

from sim.pki.errors import PkiInputError
from sim.pki.parsed import SERVER_AUTH, Parsed, parse
from sim.pki.store import CertStore

Source = CertStore | x509.Certificate | Iterable["Source"]


@dataclass
class Pool:
    """Every certificate the engine may use, indexed by subject, with where it came from."""

    by_subject: dict[bytes, list[Parsed]] = field(default_factory=dict)
    records: dict[bytes, Parsed] = field(default_factory=dict)
    source: dict[bytes, str] = field(default_factory=dict)
    trusted: set[bytes] = field(default_factory=set)
    disallowed: set[bytes] = field(default_factory=set)
    # the purpose the chain must be valid for (an EKU OID): Server Authentication for the
    # SSL policy, Client Authentication for an IPsec computer certificate (A9)
    usage: str = SERVER_AUTH

    def add(self, rec: Parsed, source: str) -> None:
        if rec.der in self.source:
            if source == "root":
                self.source[rec.der] = source
            return
        self.source[rec.der] = source
        self.records[rec.der] = rec
        if not rec.subject_empty:
            self.by_subject.setdefault(rec.subject, []).append(rec)


def token(src: Source | None) -> tuple:
    """A cheap hashable token of a store, certificate or iterable (no copying of stores)."""
    if src is None:
        return ()
    if isinstance(src, CertStore):
        return ("store", *src.token)
    if isinstance(src, x509.Certificate):
        return (src,)
    if isinstance(src, list | tuple) and all(isinstance(c, x509.Certificate) for c in src):
        return tuple(src)
    return flatten(src)[0]


def flatten(src: Source | None) -> tuple[tuple, list[x509.Certificate],
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
        t, c, r = flatten(item)
        tokens.extend(t)
        certs.extend(c)
        crls.extend(r)
    return tuple(tokens), certs, crls


def crls_of(src: Source | None) -> list[x509.CertificateRevocationList]:
    if isinstance(src, CertStore):
        return list(src.crls)
    if src is None or isinstance(src, x509.Certificate):
        return []
    return flatten(src)[2]


def pool_of(presented: list[x509.Certificate], roots: list[x509.Certificate],
            intermediates: list[x509.Certificate],
            disallowed: list[x509.Certificate], usage: str = SERVER_AUTH) -> Pool:
    """The pool of one verification: the Root store (trusted), the presented chain (its first
    certificate is the leaf), the Intermediate store, and the Disallowed store's set."""
    pool = Pool(usage=usage)
    for c in roots:
        rec = parse(c)
        pool.add(rec, "root")
        pool.trusted.add(rec.der)
    for i, c in enumerate(presented):
        pool.add(parse(c), "presented" if i else "leaf")
    for c in intermediates:
        pool.add(parse(c), "ca")
    pool.disallowed = {parse(c).der for c in disallowed}
    return pool
