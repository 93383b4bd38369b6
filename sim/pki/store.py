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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes

if TYPE_CHECKING:
    from sim.pki.result import ChainResult
    from sim.pki.revocation import CrlCache

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


@dataclass(eq=False)
class CertStore:
    """One logical certificate store (see the module docstring)."""

    name: str = "Root"
    _certs: dict[str, x509.Certificate] = field(default_factory=dict, repr=False)
    _crls: list[x509.CertificateRevocationList] = field(default_factory=list, repr=False)
    version: int = 0
    history: list[StoreChange] = field(default_factory=list, repr=False)
    uid: int = field(default_factory=lambda: next(_UIDS))
    _digest: int = field(default=0, repr=False)

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
        store._crls.extend(crls)
        return store

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
        self._certs[tp] = cert
        self._digest ^= int(tp, 16)
        self._changed(at, "add", tp, cert)
        return True

    def remove(self, cert: x509.Certificate | str, at: float | dt.datetime | None = None) -> bool:
        """Remove a certificate (or a thumbprint); False if it was not there."""
        tp = cert if isinstance(cert, str) else thumbprint(cert)
        gone = self._certs.pop(tp.upper(), None)
        if gone is None:
            return False
        self._digest ^= int(tp, 16)
        self._changed(at, "remove", tp.upper(), gone)
        return True

    def add_crl(self, crl: x509.CertificateRevocationList,
                at: float | dt.datetime | None = None) -> None:
        self._crls.append(crl)
        self.version += 1
        self.history.append(StoreChange(at, "add_crl", "", crl.issuer.rfc4514_string()))

    def _changed(self, at: float | dt.datetime | None, action: str, tp: str,
                 cert: x509.Certificate) -> None:
        self.version += 1
        self.history.append(StoreChange(at, action, tp, cert.subject.rfc4514_string()))

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
        return tuple(self._crls)

    def find_by_subject(self, name: x509.Name) -> list[x509.Certificate]:
        return [c for c in self._certs.values() if c.subject == name]


@dataclass(eq=False)
class MachineStores:
    """The LocalMachine stores of one Windows computer, plus its CRL URL cache."""

    root: CertStore = field(default_factory=lambda: CertStore("Root"))
    ca: CertStore = field(default_factory=lambda: CertStore("CA"))
    my: CertStore = field(default_factory=lambda: CertStore("My"))
    disallowed: CertStore = field(default_factory=lambda: CertStore("Disallowed"))
    crl_cache: CrlCache | None = None

    def __post_init__(self) -> None:
        if self.crl_cache is None:
            from sim.pki.revocation import CrlCache

            self.crl_cache = CrlCache()

    def store(self, name: str) -> CertStore:
        """A store by its Windows name (Root, CA, My, Disallowed), case-insensitive."""
        for s in (self.root, self.ca, self.my, self.disallowed):
            if s.name.lower() == name.lower():
                return s
        raise KeyError(name)

    def verify(self, presented: list[x509.Certificate], host: str | None = None,
               at: dt.datetime | None = None,
               fetch: Callable[[str], bytes | None] | None = None,
               check_revocation: bool = False) -> ChainResult:
        """verify_chain against this machine's stores (the SSL policy a client applies)."""
        from sim.pki.chain import verify_chain

        return verify_chain(presented, roots=self.root, intermediates=self.ca, host=host,
                            at=at, fetch=fetch, check_revocation=check_revocation,
                            disallowed=self.disallowed, crl_cache=self.crl_cache)
