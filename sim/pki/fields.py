"""The fields of the certificates the authorities issue: names, times, serial numbers and
extensions (subjectAltName, EKU, key usage, CRL distribution points, AIA)."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import ipaddress
from collections.abc import Iterable

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from sim.pki.errors import PkiInputError
from sim.pki.registry import EKU_OIDS, utc

UTC = dt.UTC
EKUS = {name: x509.ObjectIdentifier(oid) for name, oid in EKU_OIDS.items()}
CA_LIFETIME = dt.timedelta(days=3653)
LEAF_LIFETIME = dt.timedelta(days=365)

Time = dt.datetime | dt.date | str


def to_name(subject: str | x509.Name) -> x509.Name:
    """An x509.Name from ``CN=..,O=..`` (RFC 4514) text, or a bare common name."""
    if isinstance(subject, x509.Name):
        return subject
    if "=" in subject:
        try:
            return x509.Name.from_rfc4514_string(subject)
        except ValueError as exc:
            raise PkiInputError(f"subject '{subject}' is not an RFC 4514 name ({exc})") from None
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])


def to_time(value: Time | None, default: dt.datetime) -> dt.datetime:
    """A UTC datetime from a datetime, a date (midnight UTC) or ISO text; ``default`` for
    None."""
    return default if value is None else as_time(value)


def as_time(value: Time) -> dt.datetime:
    """A UTC datetime from a datetime, a date (midnight UTC) or ISO text."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise PkiInputError(f"'{value}' is not an ISO date or time") from None
    return utc(value)


def serial(*parts: object) -> int:
    """A positive 127-bit serial number derived from the certificate's contents."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return (int.from_bytes(digest[:16], "big") >> 1) or 1


def san_names(names: Iterable[str]) -> list[x509.GeneralName]:
    """subjectAltName entries: IP addresses as such, anything else as a DNS name."""
    out: list[x509.GeneralName] = []
    for n in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            out.append(x509.DNSName(n))
    return out


def eku_oids(usages: Iterable[str]) -> list[x509.ObjectIdentifier]:
    """EKU OIDs from registry names (``server_auth``) or dotted OIDs."""
    out = []
    for u in usages:
        if u in EKUS:
            out.append(EKUS[u])
        elif u.replace(".", "").isdigit():
            out.append(x509.ObjectIdentifier(u))
        else:
            hint = difflib.get_close_matches(u, EKUS, n=1)
            raise PkiInputError(f"unknown extended key usage '{u}'"
                                + (f"; did you mean '{hint[0]}'?" if hint else ""))
    return out


def common_name(name: x509.Name) -> str:
    """The last CN of ``name``, or the whole name as RFC 4514 text when it has none."""
    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[-1].value) if cns else name.rfc4514_string()


def ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=True, crl_sign=True, encipher_only=False,
                         decipher_only=False)


def leaf_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False,
                         key_encipherment=True, data_encipherment=False, key_agreement=False,
                         key_cert_sign=False, crl_sign=False, encipher_only=False,
                         decipher_only=False)


def add_optional(b: x509.CertificateBuilder, *, san: Iterable[str] | None,
                 eku: Iterable[str] | None, crl_urls: list[str], aia_urls: list[str],
                 extra: Iterable[x509.Extension]) -> x509.CertificateBuilder:
    """``b`` with the extensions a certificate carries only when it has them, in the order
    the authorities have always written them (subjectAltName, EKU, CDP, AIA, the rest)."""
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san_names(san)), False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku_oids(eku)), False)
    if crl_urls:
        b = b.add_extension(x509.CRLDistributionPoints([
            x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None)
            for u in crl_urls]), False)
    if aia_urls:
        b = b.add_extension(x509.AuthorityInformationAccess([
            x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                   x509.UniformResourceIdentifier(u)) for u in aia_urls]),
                            False)
    for ext in extra:
        b = b.add_extension(ext.value, ext.critical)
    return b
