"""One Windows computer's certificate stores and the chain policy it applies to a server.

The stores (``sim.pki.store``) hold what an administrator or Group Policy put there; the chain
engine (``sim.pki.chain``) reads them. A machine joins the two, with its CRL URL cache.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from cryptography import x509

from sim.pki.chain import verify_chain
from sim.pki.result import ChainResult
from sim.pki.revocation import CrlCache
from sim.pki.store import CertStore


class MachineStores:
    """The LocalMachine stores of one Windows computer, plus its CRL URL cache."""

    __slots__ = ("ca", "crl_cache", "disallowed", "my", "root")

    def __init__(self, root: CertStore | None = None, ca: CertStore | None = None,
                 my: CertStore | None = None, disallowed: CertStore | None = None,
                 crl_cache: CrlCache | None = None) -> None:
        self.root = root if root is not None else CertStore("Root")
        self.ca = ca if ca is not None else CertStore("CA")
        self.my = my if my is not None else CertStore("My")
        self.disallowed = disallowed if disallowed is not None else CertStore("Disallowed")
        self.crl_cache = crl_cache if crl_cache is not None else CrlCache()

    def store(self, name: str) -> CertStore:
        """A store by its Windows name (Root, CA, My, Disallowed), case-insensitive."""
        for s in (self.root, self.ca, self.my, self.disallowed):
            if s.name.lower() == name.lower():
                return s
        raise KeyError(name)

    def verify(self, presented: list[x509.Certificate], host: str | None = None,
               at: dt.datetime | None = None,
               fetch: Callable[[str], bytes | None] | None = None,
               check_revocation: bool = False, usage: str | None = None) -> ChainResult:
        """verify_chain against this machine's stores (the SSL policy a client applies;
        ``usage``: another EKU than Server Authentication)."""
        extra = {} if usage is None else {"usage": usage}
        return verify_chain(presented, roots=self.root, intermediates=self.ca, host=host,
                            at=at, fetch=fetch, check_revocation=check_revocation,
                            disallowed=self.disallowed, crl_cache=self.crl_cache, **extra)
