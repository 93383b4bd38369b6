"""The scenario's ``pki:`` section as typed, frozen models owned by the PKI (design.md
"Scenario file"; every key in docs/scenario.md). The choices come from
:mod:`sim.pki.registry`, so a key algorithm or EKU the schema accepts is one the authorities
can issue. :meth:`sim.pki.hierarchy.Hierarchy.from_spec` builds the certificates from a
:class:`PkiSpec`; cross-references between authorities are checked there (and, with their
place in the file, by the scenario's schema).

Imports pydantic but not ``cryptography``: validating a scenario builds no certificate.
"""

from __future__ import annotations

import datetime as dt

from pydantic import Field, ValidationInfo, field_validator, model_validator

from sim.config import Strict
from sim.pki.registry import (
    DEFAULT_CRL_PUBLISHED,
    DEFAULT_EKU,
    DEFAULT_KEY,
    X509_EARLIEST,
    X509_LATEST,
    CrlPublished,
    EkuName,
    KeyAlgorithm,
    utc,
)

Date = dt.datetime | dt.date


def _show(value: Date) -> str:
    """A date as the file most likely wrote it: ``2026-05-01``, or the whole time."""
    if isinstance(value, dt.datetime) and value.time() == dt.time() and (
            value.utcoffset() in (None, dt.timedelta())):
        return f"{value:%Y-%m-%d}"
    return value.isoformat()


def check_validity(value: Date | None, info: ValidationInfo) -> Date | None:
    """``not_before`` and ``not_after`` within the times a certificate can carry, and a
    ``not_after`` after the ``not_before`` given with it (so any dates a file states build a
    certificate: hierarchy.py derives a missing one from the other)."""
    if value is None:
        return value
    t = utc(value)
    if info.field_name == "not_before" and not X509_EARLIEST <= t < X509_LATEST:
        raise ValueError(f"{_show(value)} is outside the times a certificate can carry "
                         f"({X509_EARLIEST:%Y-%m-%d} to {X509_LATEST:%Y-%m-%d})")
    if info.field_name == "not_after":
        if not X509_EARLIEST < t <= X509_LATEST:
            raise ValueError(f"{_show(value)} is outside the times a certificate can carry "
                             f"({X509_EARLIEST:%Y-%m-%d} to {X509_LATEST:%Y-%m-%d})")
        nb = info.data.get("not_before")
        if nb is not None and t <= utc(nb):
            raise ValueError(f"{_show(value)} is not after not_before ({_show(nb)}): a "
                             "certificate's validity ends after it begins")
    return value


class CrlSpec(Strict):
    """Where an authority publishes its CRL, and who can reach it."""

    url: str
    published: CrlPublished = DEFAULT_CRL_PUBLISHED


class AuthoritySpec(Strict):
    """A certification authority; without ``issuer``, a self-signed root."""

    issuer: str | None = None
    subject: str | None = None
    key: KeyAlgorithm = DEFAULT_KEY
    not_before: Date | None = None
    not_after: Date | None = None
    path_length: int | None = Field(default=None, ge=0)
    crl: CrlSpec | None = None
    aia: str | None = None

    _validity = field_validator("not_before", "not_after")(check_validity)


class CertificateSpec(Strict):
    """An end-entity certificate, issued by an authority or read from ``chain_file``."""

    issuer: str | None = None
    subject: str | None = None
    san: list[str] | None = None
    eku: list[EkuName] = Field(default_factory=lambda: list(DEFAULT_EKU))
    key: KeyAlgorithm = DEFAULT_KEY
    not_before: Date | None = None
    not_after: Date | None = None
    revoked: bool = False
    chain_file: str | None = None

    _validity = field_validator("not_before", "not_after")(check_validity)

    @model_validator(mode="after")
    def _source(self) -> CertificateSpec:
        if self.chain_file is None and self.issuer is None:
            raise ValueError("give an issuer (an authority under pki.authorities) or a "
                             "chain_file")
        return self


class PkiSpec(Strict):
    """The authorities and certificates of a scenario, by name."""

    authorities: dict[str, AuthoritySpec] = Field(default_factory=dict)
    certificates: dict[str, CertificateSpec] = Field(default_factory=dict)


# Without a ``pki:`` section a scenario gets the recommended deployment (F5.15: "a certificate
# from a public CA is recommended"): the IP-HTTPS certificate from a public CA, whose root is
# in every Windows client's Trusted Root store through Microsoft's root programme, and whose
# CRLs are published on the Internet (F5.14).
PUBLIC_ROOT = "public-root"
PUBLIC_ISSUING = "public-issuing"


def public_pki(host: str, certificate: str = "iphttps") -> dict:
    """The ``pki:`` of a scenario that gives none: a public root, its issuing CA, and the
    IP-HTTPS certificate ``certificate`` for ``host`` (the IP-HTTPS URL's name)."""
    return {
        "authorities": {
            PUBLIC_ROOT: {"subject": "Public Root CA",
                          "crl": {"url": "http://crl.public-ca.example/root.crl"}},
            PUBLIC_ISSUING: {"issuer": PUBLIC_ROOT, "subject": "Public Issuing CA",
                             "crl": {"url": "http://crl.public-ca.example/issuing.crl"}},
        },
        "certificates": {certificate: {"issuer": PUBLIC_ISSUING, "subject": host,
                                       "eku": ["server_auth"]}},
    }
