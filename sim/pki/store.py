"""Windows-like certificate stores of one machine: Root, CA, My and Disallowed.

A :class:`CertStore` is one logical store (what certlm.msc shows as a folder). Certificates are
added and removed at simulated times (a Group Policy deployment of a root is such an action),
each change bumps ``version``, and ``token`` (a digest of the contents) lets the chain engine
cache verdicts for as long as the store is unchanged — and share them between the stores of a
fleet's identical clients. Stores also hold CRLs, as Windows
stores do, so a CRL imported by hand (certutil -addstore CA x.crl) is found without a download.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes

_UIDS = itertools.count(1)

#: Windows store names and what certlm.msc calls them.
STORE_TITLES = {
    "Root": "Trusted Root Certification Authorities",
    "CA": "Intermediate Certification Authorities",
    "My": "Personal",
    "Disallowed": "Untrusted Certificates",
}


@dataclass(frozen=True, slots=True)
class StoreChange:
    """One add or remove, for the narrative: when, what, which certificate."""

    at: float | dt.datetime | None
    action: str          # "add" | "remove" | "add_crl"
    thumbprint: str
    subject: str


def thumbprint(cert: x509.Certificate) -> str:
    """SHA-1 thumbprint, upper-case hex, as certlm.msc and certutil show it."""
    return cert.fingerprint(hashes.SHA1()).hex().upper()


class CertStore:
    """One logical certificate store (see the module docstring).

    A fleet's laptops start with the same roots: ``like`` makes a store that shares another's
    contents until either changes (copy on write), and the empty lists of CRLs and changes
    exist only once something is put in them."""

    __slots__ = ("_certs", "_crls", "_digest", "_history", "_shared", "name", "uid",
                 "version")

    def __init__(self, name: str = "Root") -> None:
        self.name = name
        self._certs: dict[str, x509.Certificate] = {}
        self._shared = False          # _certs belongs to another store too
        self._crls: list[x509.CertificateRevocationList] | None = None
        self._history: list[StoreChange] | None = None
        self.version = 0
        self.uid = next(_UIDS)
        self._digest = 0

    def __repr__(self) -> str:
        return f"CertStore(name={self.name!r}, certificates={len(self._certs)})"

    @classmethod
    def of(cls, name: str, certificates: Iterable[x509.Certificate] = (),
           crls: Iterable[x509.CertificateRevocationList] = ()) -> CertStore:
        """A store holding ``certificates`` and ``crls`` from the start (version 0)."""
        store = cls(name)
        for c in certificates:
            tp = thumbprint(c)
            if tp not in store._certs:
                store._certs[tp] = c
                store._digest ^= int(tp, 16)
        store._crls = list(crls) or None
        return store

    def like(self) -> CertStore:
        """A new store (version 0, no history) with this one's contents, shared until one
        of the two changes."""
        twin = CertStore(self.name)
        twin._certs = self._certs
        twin._digest = self._digest
        twin._crls = list(self._crls) if self._crls else None
        twin._shared = self._shared = True
        return twin

    def _own(self) -> dict[str, x509.Certificate]:
        if self._shared:
            self._certs = dict(self._certs)
            self._shared = False
        return self._certs

    @property
    def history(self) -> list[StoreChange]:
        """Every add and remove, oldest first."""
        return list(self._history or ())

    @property
    def title(self) -> str:
        return STORE_TITLES.get(self.name, self.name)

    @property
    def token(self) -> tuple[int, int]:
        """Hashable digest of the certificates held (XOR of SHA-1 thumbprints, and the count):
        equal for stores with equal contents, different after any add or remove."""
        return (self._digest, len(self._certs))

    def add(self, cert: x509.Certificate, at: float | dt.datetime | None = None) -> bool:
        """Add ``cert``; False (and no version change) if it is already there."""
        tp = thumbprint(cert)
        if tp in self._certs:
            return False
        self._own()[tp] = cert
        self._digest ^= int(tp, 16)
        self._changed(at, "add", tp, cert)
        return True

    def remove(self, cert: x509.Certificate | str, at: float | dt.datetime | None = None) -> bool:
        """Remove a certificate (or a thumbprint); False if it was not there."""
        tp = cert if isinstance(cert, str) else thumbprint(cert)
        if tp.upper() not in self._certs:
            return False
        gone = self._own().pop(tp.upper())
        self._digest ^= int(tp, 16)
        self._changed(at, "remove", tp.upper(), gone)
        return True

    def add_crl(self, crl: x509.CertificateRevocationList,
                at: float | dt.datetime | None = None) -> None:
        if self._crls is None:
            self._crls = []
        self._crls.append(crl)
        self._record(StoreChange(at, "add_crl", "", crl.issuer.rfc4514_string()))

    def _changed(self, at: float | dt.datetime | None, action: str, tp: str,
                 cert: x509.Certificate) -> None:
        self._record(StoreChange(at, action, tp, cert.subject.rfc4514_string()))

    def _record(self, change: StoreChange) -> None:
        self.version += 1
        if self._history is None:
            self._history = []
        self._history.append(change)

    def __contains__(self, cert: object) -> bool:
        if isinstance(cert, str):
            return cert.upper() in self._certs
        return isinstance(cert, x509.Certificate) and thumbprint(cert) in self._certs

    def __iter__(self) -> Iterator[x509.Certificate]:
        return iter(list(self._certs.values()))

    def __len__(self) -> int:
        return len(self._certs)

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        return tuple(self._certs.values())

    @property
    def crls(self) -> tuple[x509.CertificateRevocationList, ...]:
        return tuple(self._crls or ())

    def find_by_subject(self, name: x509.Name) -> list[x509.Certificate]:
        return [c for c in self._certs.values() if c.subject == name]
