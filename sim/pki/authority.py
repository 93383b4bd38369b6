"""Certification authorities and the certificates they issue, built with ``cryptography``.

Real deployments use RSA-2048 (ECDSA P-256 is allowed here too). Keys come from the
per-process cache of :mod:`sim.pki.keys`; serial numbers are derived from the certificate's
contents and ECDSA signatures are deterministic (RFC 6979), so the same calls yield
byte-identical certificates within a process. :meth:`Authority.resign` is what a
TLS-inspecting proxy does to a server's certificate. The scenario's hierarchy by name is
:class:`sim.pki.hierarchy.Hierarchy`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtensionOID

from sim.pki.fields import (  # noqa: F401  (EKUS, to_name, ... are also imported from here)
    CA_LIFETIME,
    EKUS,
    LEAF_LIFETIME,
    UTC,
    add_optional,
    ca_key_usage,
    common_name,
    leaf_key_usage,
    serial,
    to_name,
    to_time,
)
from sim.pki.keys import (  # noqa: F401  (the key cache keeps its old import path too)
    _KEYS,
    _STATS,
    algorithm_of,
    key_stats,
    private_key,
    sign,
    signing_hash,
)
from sim.pki.registry import (  # noqa: F401  (KEY_ALGORITHMS is also imported from here)
    DEFAULT_CRL_PUBLISHED,
    DEFAULT_EKU,
    DEFAULT_KEY,
    KEY_ALGORITHMS,
)

CRL_PERIOD = dt.timedelta(days=7)   # AD CS default CRL publication period (one week)


def build_crl(issuer: x509.Certificate, key: object,
              revoked: Iterable[tuple[int, dt.datetime]], this_update: dt.datetime,
              next_update: dt.datetime, number: int = 1) -> x509.CertificateRevocationList:
    """A v2 CRL signed by ``key`` for ``issuer`` with a CRL number (RFC 5280 §5.2.3)."""
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(issuer.subject)
               .last_update(this_update)
               .next_update(next_update)
               .add_extension(x509.CRLNumber(number), critical=False))
    try:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    except (x509.ExtensionNotFound, ValueError):
        pass
    for sn, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(sn).revocation_date(when).build())
    return builder.sign(key, signing_hash(key))  # type: ignore[arg-type]


@dataclass(eq=False)
class Authority:
    """A CA: its certificate, its key, where it publishes its CRL, and what it has revoked."""

    name: str
    certificate: x509.Certificate
    key: object
    parent: Authority | None = None
    crl_url: str | None = None
    crl_published: str = DEFAULT_CRL_PUBLISHED   # "outside" (Internet), "inside" (corporate)
    aia_url: str | None = None
    revoked: dict[int, dt.datetime] = field(default_factory=dict)
    _crls: dict[dt.datetime, x509.CertificateRevocationList] = field(default_factory=dict)

    # -- construction -------------------------------------------------------------------

    @classmethod
    def root(cls, name: str, subject: str | x509.Name | None = None, *,
             key: str = DEFAULT_KEY, seed: int | str = 0,
             not_before: dt.datetime | dt.date | str | None = None,
             not_after: dt.datetime | dt.date | str | None = None,
             path_length: int | None = None, crl_url: str | None = None,
             crl_published: str = DEFAULT_CRL_PUBLISHED,
             aia_url: str | None = None) -> Authority:
        """A self-signed root CA (RSA-2048 unless ``key`` says otherwise)."""
        k = private_key(name, key, seed)
        subj = to_name(subject or name)
        nb = to_time(not_before, dt.datetime(2020, 1, 1, tzinfo=UTC))
        na = to_time(not_after, nb) if not_after is not None else nb + CA_LIFETIME * 2
        pub = k.public_key()  # type: ignore[attr-defined]
        ski = x509.SubjectKeyIdentifier.from_public_key(pub)
        b = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj)
             .public_key(pub).serial_number(serial("root", subj.rfc4514_string(), nb, na,
                                                    ski.digest.hex()))
             .not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), True)
             .add_extension(ca_key_usage(), True)
             .add_extension(ski, False))
        return cls(name, sign(b, k), k, None, crl_url, crl_published, aia_url)

    def subordinate(self, name: str, subject: str | x509.Name | None = None, *,
                    key: str = DEFAULT_KEY, seed: int | str = 0,
                    not_before: dt.datetime | dt.date | str | None = None,
                    not_after: dt.datetime | dt.date | str | None = None,
                    path_length: int | None = None, crl_url: str | None = None,
                    crl_published: str = DEFAULT_CRL_PUBLISHED, aia_url: str | None = None,
                    eku: Iterable[str] | None = None) -> Authority:
        """An intermediate CA issued by this one (any depth: call it on the result again)."""
        k = private_key(name, key, seed)
        nb = to_time(not_before, self.certificate.not_valid_before_utc)
        na = to_time(not_after, nb) if not_after is not None else min(
            nb + CA_LIFETIME, self.certificate.not_valid_after_utc)
        cert = self._issue_cert(to_name(subject or name), k.public_key(), nb, na,  # type: ignore[attr-defined]
                                ca=True, path_length=path_length, eku=eku)
        return Authority(name, cert, k, self, crl_url, crl_published, aia_url)

    def _issue_cert(self, subject: x509.Name, pub: object, nb: dt.datetime, na: dt.datetime,
                    *, ca: bool, path_length: int | None = None,
                    san: Iterable[str] | None = None, eku: Iterable[str] | None = None,
                    key_usage: x509.KeyUsage | None = None,
                    crl_urls: Iterable[str] | None = None,
                    aia_urls: Iterable[str] | None = None,
                    extra: Iterable[x509.Extension] = ()) -> x509.Certificate:
        ski = x509.SubjectKeyIdentifier.from_public_key(pub)  # type: ignore[arg-type]
        issuer_pub = self.certificate.public_key()
        b = (x509.CertificateBuilder().subject_name(subject)
             .issuer_name(self.certificate.subject).public_key(pub)  # type: ignore[arg-type]
             .serial_number(serial(self.name, subject.rfc4514_string(), nb, na,
                                    ski.digest.hex(), ca, tuple(san or ()), tuple(eku or ())))
             .not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
                            True)
             .add_extension(key_usage or (ca_key_usage() if ca else leaf_key_usage()), True)
             .add_extension(ski, False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 issuer_pub), False))  # type: ignore[arg-type]
        crl = list(crl_urls) if crl_urls is not None else ([self.crl_url] if self.crl_url
                                                           else [])
        aia = list(aia_urls) if aia_urls is not None else ([self.aia_url] if self.aia_url
                                                           else [])
        b = add_optional(b, san=san, eku=eku, crl_urls=crl, aia_urls=aia, extra=extra)
        return sign(b, self.key)

    def issue(self, subject: str | x509.Name, *, san: Iterable[str] | None = None,
              eku: Iterable[str] | None = DEFAULT_EKU, key: str = DEFAULT_KEY,
              key_name: str | None = None, seed: int | str = 0,
              not_before: dt.datetime | dt.date | str | None = None,
              not_after: dt.datetime | dt.date | str | None = None,
              key_usage: x509.KeyUsage | None = None,
              crl_urls: Iterable[str] | None = None, aia_urls: Iterable[str] | None = None,
              extra: Iterable[x509.Extension] = ()) -> x509.Certificate:
        """An end-entity certificate (a server's, by default: Server Authentication EKU).

        ``san`` defaults to the subject's common name when that looks like a host name or an
        address; pass ``san=[]`` for a certificate without subjectAltName (Windows then matches
        the subject CN, F5.12).
        """
        name = to_name(subject)
        if san is None:
            cn = common_name(name)
            san = [cn] if "." in cn or ":" in cn else []
        k = private_key(key_name or f"leaf:{name.rfc4514_string()}", key, seed)
        nb = to_time(not_before, self.certificate.not_valid_before_utc)
        na = to_time(not_after, nb) if not_after is not None else nb + LEAF_LIFETIME
        return self._issue_cert(name, k.public_key(), nb, na, ca=False, san=san,  # type: ignore[attr-defined]
                                eku=eku, key_usage=key_usage, crl_urls=crl_urls,
                                aia_urls=aia_urls, extra=extra)

    def cross_sign(self, other: Authority, *,
                   not_before: dt.datetime | dt.date | str | None = None,
                   not_after: dt.datetime | dt.date | str | None = None,
                   path_length: int | None = None) -> x509.Certificate:
        """A cross-certificate: ``other``'s subject and key, issued by this authority."""
        oc = other.certificate
        nb = to_time(not_before, max(oc.not_valid_before_utc,
                                     self.certificate.not_valid_before_utc))
        na = to_time(not_after, min(oc.not_valid_after_utc,
                                    self.certificate.not_valid_after_utc))
        return self._issue_cert(oc.subject, oc.public_key(), nb, na, ca=True,
                                path_length=path_length)

    def resign(self, cert: x509.Certificate) -> x509.Certificate:
        """What a TLS-inspecting proxy sends: ``cert``'s subject, SAN, EKU and key usage, a key
        of the proxy's (one per authority, from the cache), issued by this authority."""
        keep = []
        try:
            exts = list(cert.extensions)
        except ValueError:
            exts = []
        dropped = {ExtensionOID.AUTHORITY_KEY_IDENTIFIER, ExtensionOID.SUBJECT_KEY_IDENTIFIER,
                   ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE,
                   ExtensionOID.CRL_DISTRIBUTION_POINTS, ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
                   ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS,
                   ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.EXTENDED_KEY_USAGE}
        san: list[str] = []
        eku: list[str] = []
        ku = None
        for e in exts:
            if e.oid == ExtensionOID.SUBJECT_ALTERNATIVE_NAME:
                san = [str(n.value) for n in e.value
                       if isinstance(n, x509.DNSName | x509.IPAddress)]
            elif e.oid == ExtensionOID.EXTENDED_KEY_USAGE:
                eku = [o.dotted_string for o in e.value]
            elif e.oid == ExtensionOID.KEY_USAGE:
                ku = e.value
            elif e.oid not in dropped:
                keep.append(e)
        k = private_key(f"resign:{self.name}", algorithm_of(self.key))
        return self._issue_cert(cert.subject, k.public_key(),  # type: ignore[attr-defined]
                                cert.not_valid_before_utc, cert.not_valid_after_utc, ca=False,
                                san=san, eku=eku or None, key_usage=ku, crl_urls=[],
                                aia_urls=[], extra=keep)

    # -- chains and revocation ------------------------------------------------------------

    def chain(self, include_root: bool = True) -> list[x509.Certificate]:
        """This authority's certificate and its parents', up to the root (the root last)."""
        out = []
        a: Authority | None = self
        while a is not None:
            if a.parent is not None or include_root:
                out.append(a.certificate)
            a = a.parent
        return out

    @property
    def root_authority(self) -> Authority:
        a = self
        while a.parent is not None:
            a = a.parent
        return a

    def revoke(self, cert: x509.Certificate | int, at: dt.datetime | dt.date | str) -> None:
        """Put a certificate this authority issued on its CRL from ``at`` on."""
        sn = cert if isinstance(cert, int) else cert.serial_number
        self.revoked[sn] = to_time(at, dt.datetime.now(UTC))
        self._crls.clear()

    def crl(self, at: dt.datetime, period: dt.timedelta = CRL_PERIOD
            ) -> x509.CertificateRevocationList:
        """The CRL in force at ``at``: published at the start of ``at``'s period, valid one
        period plus a 10 % overlap (as AD CS publishes), listing what was revoked by then."""
        at = to_time(at, at)
        epoch = dt.datetime(2000, 1, 1, tzinfo=UTC)
        start = epoch + ((at - epoch) // period) * period
        crl = self._crls.get(start)
        if crl is None:
            revoked = [(s, when) for s, when in self.revoked.items() if when <= start + period]
            number = (start - epoch) // period + 1
            crl = build_crl(self.certificate, self.key, revoked, start,
                            start + period + period / 10, number)
            self._crls[start] = crl
        return crl

    def crl_der(self, at: dt.datetime) -> bytes:
        return self.crl(at).public_bytes(Encoding.DER)


def __getattr__(name: str) -> Any:
    # Hierarchy moved to sim.pki.hierarchy (which imports this module); the old path
    # sim.pki.authority.Hierarchy still works, resolved on first use to avoid the cycle.
    if name == "Hierarchy":
        from sim.pki.hierarchy import Hierarchy

        return Hierarchy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
