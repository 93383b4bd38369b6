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

from pydantic import Field, model_validator

from sim.config import Strict
from sim.pki.registry import (
    DEFAULT_CRL_PUBLISHED,
    DEFAULT_EKU,
    DEFAULT_KEY,
    CrlPublished,
    EkuName,
    KeyAlgorithm,
)

Date = dt.datetime | dt.date


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
