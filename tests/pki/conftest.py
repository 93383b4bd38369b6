"""Shared PKI fixtures: one Contoso hierarchy (keys come from the per-process cache, so the
whole suite pays for each RSA key once) and a factory for variants of it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from cryptography import x509

from sim.pki import Authority, clear_caches

AT = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
HOST = "da.contoso.com"
CRL_URL = "http://crl.contoso.com/issuing.crl"
ROOT_CRL_URL = "http://crl.contoso.com/root.crl"
LEAF_NB = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LEAF_NA = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


@dataclass
class Contoso:
    """root → issuing → leaf (da.contoso.com), CRLs published for both CAs."""

    root: Authority
    issuing: Authority
    leaf: x509.Certificate

    def presented(self, send_root: bool = True) -> list[x509.Certificate]:
        chain = [self.leaf, self.issuing.certificate]
        return [*chain, self.root.certificate] if send_root else chain

    def fetch(self, url: str) -> bytes | None:
        """A web server that serves both CRLs (reachable from everywhere)."""
        if url == CRL_URL:
            return self.issuing.crl_der(AT)
        if url == ROOT_CRL_URL:
            return self.root.crl_der(AT)
        return None


def build_contoso(key: str = "rsa2048", **leaf_kw) -> Contoso:
    """A fresh Contoso hierarchy (fresh Authority objects: revocations stay local); the same
    keys and therefore byte-identical certificates every time."""
    root = Authority.root("contoso-root", "CN=Contoso Root CA", key=key,
                          crl_url=ROOT_CRL_URL)
    issuing = root.subordinate("contoso-issuing", "CN=Contoso Issuing CA", key=key,
                               crl_url=CRL_URL)
    kw = dict(not_before=LEAF_NB, not_after=LEAF_NA, key=key)
    kw.update(leaf_kw)
    leaf = issuing.issue(HOST, **kw)
    return Contoso(root, issuing, leaf)


@pytest.fixture(scope="session")
def contoso() -> Contoso:
    return build_contoso()


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Verdict and CRL caches start empty in every test (keys stay cached)."""
    clear_caches()
    yield
