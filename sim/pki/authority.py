"""Certification authorities and the certificates they issue, built with ``cryptography``.

Real deployments use RSA-2048 (ECDSA P-256 is allowed here too). Key generation is the only
expensive step, so keys come from a per-process cache keyed by (name, algorithm, seed): a fleet
of 10,000 clients, or a test suite that builds the same hierarchy a hundred times, generates each
key once. Elliptic-curve keys are derived from the name and seed and are therefore the same in
every process; RSA keys are random once per process. Serial numbers are derived from the
certificate's contents and ECDSA signatures are deterministic (RFC 6979), so a hierarchy spec
yields byte-identical certificates within a process.

:class:`Hierarchy` turns the scenario's ``pki:`` section (authorities named with ``issuer:`` and
``crl: {url, published}``, certificates with ``issuer, subject, eku, not_after``) into real
certificates by name; :meth:`Authority.resign` is what a TLS-inspecting proxy does to a server's
certificate.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import ipaddress
import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from sim.pki.errors import PkiInputError

UTC = dt.UTC
DEFAULT_KEY = "rsa2048"
KEY_ALGORITHMS = ("rsa2048", "rsa3072", "rsa4096", "p256", "p384")
EKUS = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING,
    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
}
CA_LIFETIME = dt.timedelta(days=3653)
LEAF_LIFETIME = dt.timedelta(days=365)
CRL_PERIOD = dt.timedelta(days=7)   # AD CS default CRL publication period (one week)

_KEYS: dict[tuple[str, str, str], object] = {}
_STATS = {"generated": 0, "reused": 0}

# RSA key generation cannot be seeded, so the same scenario would get new certificates (and
# pcaps that differ byte for byte) in every process. Instead RSA-2048 keys come from a fixed
# pool shipped with the package, chosen by a hash of (name, seed): the same hierarchy gives
# byte-identical certificates everywhere. These keys are public test material, never secrets.
_POOL_FILE = Path(__file__).with_name("data") / "rsa2048-pool.pem"
_POOL: list[bytes] = []                 # PEM texts, parsed only when a key is used
_POOL_KEYS: dict[int, object] = {}
_POOL_USED: dict[int, tuple[str, str]] = {}


def _pooled_rsa2048(name: str, seed: int | str) -> object | None:
    """A pool key for (name, seed), or None when the pool is exhausted."""
    if not _POOL:
        blob = _POOL_FILE.read_bytes()
        marker = b"-----END PRIVATE KEY-----"
        _POOL.extend(part + marker for part in blob.split(marker) if part.strip())
    start = int.from_bytes(hashlib.sha256(f"{name}|{seed}".encode()).digest()[:8], "big")
    for probe in range(len(_POOL)):
        i = (start + probe) % len(_POOL)
        owner = _POOL_USED.get(i)
        if owner is None or owner == (name, str(seed)):
            _POOL_USED[i] = (name, str(seed))
            if i not in _POOL_KEYS:
                from cryptography.hazmat.primitives.serialization import load_pem_private_key

                # our own shipped keys: skip the (slow) RSA consistency checks
                _POOL_KEYS[i] = load_pem_private_key(_POOL[i], None,
                                                     unsafe_skip_rsa_key_validation=True)
            return _POOL_KEYS[i]
    return None


def private_key(name: str, algorithm: str = DEFAULT_KEY, seed: int | str = 0) -> object:
    """The private key for (name, algorithm, seed), generated once per process."""
    k = (name, algorithm, str(seed))
    key = _KEYS.get(k)
    if key is not None:
        _STATS["reused"] += 1
        return key
    if algorithm == "rsa2048" and (key := _pooled_rsa2048(name, seed)) is not None:
        pass
    elif algorithm.startswith("rsa") and algorithm[3:].isdigit():
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(algorithm[3:]))
    elif algorithm in ("p256", "p384"):
        curve = ec.SECP256R1() if algorithm == "p256" else ec.SECP384R1()
        order = (0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
                 if algorithm == "p256" else
                 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973)
        digest = hashlib.sha512(f"dasim-key|{name}|{algorithm}|{seed}".encode()).digest()
        key = ec.derive_private_key(int.from_bytes(digest, "big") % (order - 1) + 1, curve)
    else:
        raise PkiInputError(f"key algorithm '{algorithm}' is not one of "
                            f"{', '.join(KEY_ALGORITHMS)}")
    _KEYS[k] = key
    _STATS["generated"] += 1
    return key


def key_stats() -> dict[str, int]:
    """How many keys were generated and how many times a cached one was reused."""
    return dict(_STATS, cached=len(_KEYS))


def signing_hash(key: object) -> hashes.HashAlgorithm | None:
    """SHA-256 for RSA and ECDSA (SHA-384 for P-384); None for EdDSA."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1":
        return hashes.SHA384()
    return hashes.SHA256()


def _sign(builder: x509.CertificateBuilder, key: object) -> x509.Certificate:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return builder.sign(key, signing_hash(key), ecdsa_deterministic=True)
    return builder.sign(key, signing_hash(key))  # type: ignore[arg-type]


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
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
    return builder.sign(key, signing_hash(key))  # type: ignore[arg-type]


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


def to_time(value: dt.datetime | dt.date | str | None, default: dt.datetime) -> dt.datetime:
    """A UTC datetime from a datetime, a date (midnight UTC) or ISO text."""
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise PkiInputError(f"'{value}' is not an ISO date or time") from None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return dt.datetime(value.year, value.month, value.day, tzinfo=UTC)


def _serial(*parts: object) -> int:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return (int.from_bytes(digest[:16], "big") >> 1) or 1


def _san(names: Iterable[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for n in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            out.append(x509.DNSName(n))
    return out


def _eku(usages: Iterable[str]) -> list[x509.ObjectIdentifier]:
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


def _cn(name: x509.Name) -> str:
    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[-1].value) if cns else name.rfc4514_string()


@dataclass(eq=False)
class Authority:
    """A CA: its certificate, its key, where it publishes its CRL, and what it has revoked."""

    name: str
    certificate: x509.Certificate
    key: object
    parent: Authority | None = None
    crl_url: str | None = None
    crl_published: str = "outside"      # "outside" (Internet) or "inside" (corporate only)
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
             crl_published: str = "outside", aia_url: str | None = None) -> Authority:
        """A self-signed root CA (RSA-2048 unless ``key`` says otherwise)."""
        k = private_key(name, key, seed)
        subj = to_name(subject or name)
        nb = to_time(not_before, dt.datetime(2020, 1, 1, tzinfo=UTC))
        na = to_time(not_after, nb + CA_LIFETIME * 2)
        pub = k.public_key()  # type: ignore[attr-defined]
        ski = x509.SubjectKeyIdentifier.from_public_key(pub)
        b = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj)
             .public_key(pub).serial_number(_serial("root", subj.rfc4514_string(), nb, na,
                                                    ski.digest.hex()))
             .not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), True)
             .add_extension(_ca_key_usage(), True)
             .add_extension(ski, False))
        return cls(name, _sign(b, k), k, None, crl_url, crl_published, aia_url)

    def subordinate(self, name: str, subject: str | x509.Name | None = None, *,
                    key: str = DEFAULT_KEY, seed: int | str = 0,
                    not_before: dt.datetime | dt.date | str | None = None,
                    not_after: dt.datetime | dt.date | str | None = None,
                    path_length: int | None = None, crl_url: str | None = None,
                    crl_published: str = "outside", aia_url: str | None = None,
                    eku: Iterable[str] | None = None) -> Authority:
        """An intermediate CA issued by this one (any depth: call it on the result again)."""
        k = private_key(name, key, seed)
        nb = to_time(not_before, self.certificate.not_valid_before_utc)
        na = to_time(not_after, min(nb + CA_LIFETIME, self.certificate.not_valid_after_utc))
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
             .serial_number(_serial(self.name, subject.rfc4514_string(), nb, na,
                                    ski.digest.hex(), ca, tuple(san or ()), tuple(eku or ())))
             .not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
                            True)
             .add_extension(key_usage or (_ca_key_usage() if ca else _leaf_key_usage()), True)
             .add_extension(ski, False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 issuer_pub), False))  # type: ignore[arg-type]
        if san:
            b = b.add_extension(x509.SubjectAlternativeName(_san(san)), False)
        if eku:
            b = b.add_extension(x509.ExtendedKeyUsage(_eku(eku)), False)
        urls = list(crl_urls) if crl_urls is not None else ([self.crl_url] if self.crl_url
                                                            else [])
        if urls:
            b = b.add_extension(x509.CRLDistributionPoints([
                x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None)
                for u in urls]), False)
        aia = list(aia_urls) if aia_urls is not None else ([self.aia_url] if self.aia_url
                                                           else [])
        if aia:
            b = b.add_extension(x509.AuthorityInformationAccess([
                x509.AccessDescription(x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                                       x509.UniformResourceIdentifier(u)) for u in aia]), False)
        for ext in extra:
            b = b.add_extension(ext.value, ext.critical)
        return _sign(b, self.key)

    def issue(self, subject: str | x509.Name, *, san: Iterable[str] | None = None,
              eku: Iterable[str] | None = ("server_auth",), key: str = DEFAULT_KEY,
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
            cn = _cn(name)
            san = [cn] if "." in cn or ":" in cn else []
        k = private_key(key_name or f"leaf:{name.rfc4514_string()}", key, seed)
        nb = to_time(not_before, self.certificate.not_valid_before_utc)
        na = to_time(not_after, nb + LEAF_LIFETIME)
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
        k = private_key(f"resign:{self.name}", _algorithm_of(self.key))
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
        serial = cert if isinstance(cert, int) else cert.serial_number
        self.revoked[serial] = to_time(at, dt.datetime.now(UTC))
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


def _algorithm_of(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return f"rsa{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "p384" if key.curve.name == "secp384r1" else "p256"
    return DEFAULT_KEY


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False,
                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                         key_cert_sign=True, crl_sign=True, encipher_only=False,
                         decipher_only=False)


def _leaf_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=True, content_commitment=False,
                         key_encipherment=True, data_encipherment=False, key_agreement=False,
                         key_cert_sign=False, crl_sign=False, encipher_only=False,
                         decipher_only=False)


# --- scenario hierarchies ----------------------------------------------------------------------


def _unknown(kind: str, name: str, known: Iterable[str], where: str) -> PkiInputError:
    known = list(known)
    hint = difflib.get_close_matches(name, known, n=1)
    msg = f"{where}: unknown {kind} '{name}'"
    if hint:
        msg += f"; did you mean '{hint[0]}'?"
    elif known:
        msg += f" (known: {', '.join(sorted(known))})"
    return PkiInputError(msg)


@dataclass(eq=False)
class Hierarchy:
    """The scenario's PKI: authorities and certificates by name (see the module docstring)."""

    authorities: dict[str, Authority]
    certificates: dict[str, x509.Certificate]
    chains: dict[str, list[x509.Certificate]]
    issuers: dict[str, str | None]
    start: dt.datetime

    def authority(self, name: str) -> Authority:
        if name not in self.authorities:
            raise _unknown("authority", name, self.authorities, "pki.authorities")
        return self.authorities[name]

    def certificate(self, name: str) -> x509.Certificate:
        """A certificate by its name under ``pki.certificates`` (or an authority's own)."""
        if name in self.certificates:
            return self.certificates[name]
        if name in self.authorities:
            return self.authorities[name].certificate
        raise _unknown("certificate", name, [*self.certificates, *self.authorities],
                       "pki.certificates")

    def chain(self, name: str, send_root: bool = True) -> list[x509.Certificate]:
        """What a server holding certificate ``name`` sends: leaf first, then its issuers;
        with ``send_root`` (the default, as Schannel servers commonly do, N1) the root too."""
        if name not in self.chains:
            self.certificate(name)  # raises the helpful error
        full = self.chains[name]
        if send_root or len(full) == 1:
            return list(full)
        top = full[-1]
        return list(full[:-1]) if top.subject == top.issuer else list(full)

    def root_of(self, name: str) -> x509.Certificate:
        return self.chains[name][-1] if name in self.chains else \
            self.authority(name).root_authority.certificate

    def crl_urls(self) -> dict[str, tuple[str, str]]:
        """CRL URL → (authority name, where it is published: "inside" or "outside")."""
        return {a.crl_url: (n, a.crl_published) for n, a in self.authorities.items()
                if a.crl_url}

    def aia_urls(self) -> dict[str, tuple[str, str]]:
        return {a.aia_url: (n, "outside") for n, a in self.authorities.items() if a.aia_url}

    def serve(self, url: str, at: dt.datetime) -> bytes | None:
        """What the web server behind ``url`` returns at ``at`` (a CRL or a CA certificate in
        DER), or None if no authority publishes there. Reachability is the network's job."""
        for a in self.authorities.values():
            if a.crl_url == url:
                return a.crl_der(at)
            if a.aia_url == url:
                return a.certificate.public_bytes(Encoding.DER)
        return None

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_spec(cls, spec: Mapping, start: dt.datetime | dt.date | str | None = None,
                  seed: int | str = 0, base_dir: str | Path | None = None,
                  cache: bool = True) -> Hierarchy:
        """Build (or reuse, per identical spec) the hierarchy of a scenario's ``pki:`` section.

        Hierarchies from the cache are shared: do not revoke through them; pass
        ``cache=False`` for a private copy.
        """
        start_t = to_time(start, dt.datetime(2026, 1, 1, tzinfo=UTC))
        key = None
        if cache:
            key = json.dumps([spec, start_t.isoformat(), str(seed), str(base_dir)],
                             sort_keys=True, default=str)
            hit = _HIERARCHIES.get(key)
            if hit is not None:
                _HIERARCHIES.move_to_end(key)
                return hit
        h = cls._build(spec or {}, start_t, seed, Path(base_dir) if base_dir else None)
        if key is not None:
            _HIERARCHIES[key] = h
            if len(_HIERARCHIES) > 64:
                _HIERARCHIES.popitem(last=False)
        return h

    @classmethod
    def _build(cls, spec: Mapping, start: dt.datetime, seed: int | str,
               base_dir: Path | None) -> Hierarchy:
        auth_specs: Mapping = spec.get("authorities") or {}
        cert_specs: Mapping = spec.get("certificates") or {}
        issuers = {n: (s or {}).get("issuer") for n, s in auth_specs.items()}
        for n, iss in issuers.items():
            if iss is not None and iss not in auth_specs:
                raise _unknown("issuer", iss, auth_specs, f"pki.authorities.{n}.issuer")
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(n: str, trail: list[str]) -> None:
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                loop = " → ".join([*trail[trail.index(n):], n])
                raise PkiInputError(f"pki.authorities: issuers form a loop ({loop})")
            state[n] = 1
            if issuers[n] is not None:
                visit(issuers[n], [*trail, n])  # type: ignore[arg-type]
            state[n] = 2
            order.append(n)

        for n in auth_specs:
            visit(n, [])
        authorities: dict[str, Authority] = {}
        for n in order:
            s = auth_specs[n] or {}
            crl = s.get("crl") or {}
            aia = s.get("aia")
            aia_url = aia.get("url") if isinstance(aia, Mapping) else aia
            common = dict(key=s.get("key", DEFAULT_KEY), seed=seed,
                          path_length=s.get("path_length"), crl_url=crl.get("url"),
                          crl_published=crl.get("published", "outside"), aia_url=aia_url)
            subject = s.get("subject") or n
            if issuers[n] is None:
                authorities[n] = Authority.root(
                    n, subject, not_before=to_time(s.get("not_before"),
                                                   start - dt.timedelta(days=3 * 365)),
                    not_after=to_time(s.get("not_after"), start + dt.timedelta(days=20 * 365)),
                    **common)
            else:
                parent = authorities[issuers[n]]  # type: ignore[index]
                authorities[n] = parent.subordinate(
                    n, subject, not_before=to_time(s.get("not_before"),
                                                   start - dt.timedelta(days=2 * 365)),
                    not_after=to_time(s.get("not_after"), min(
                        start + dt.timedelta(days=10 * 365),
                        parent.certificate.not_valid_after_utc)),
                    eku=s.get("eku"), **common)
        certificates: dict[str, x509.Certificate] = {}
        chains: dict[str, list[x509.Certificate]] = {}
        for n, s in cert_specs.items():
            s = s or {}
            if s.get("chain_file"):
                from sim.pki.loading import load_chain

                path = Path(s["chain_file"])
                if base_dir is not None and not path.is_absolute():
                    path = base_dir / path
                try:
                    chain = load_chain(path)
                except PkiInputError as exc:
                    raise PkiInputError(f"pki.certificates.{n}.chain_file: {exc}") from None
                certificates[n], chains[n] = chain[0], chain
                continue
            iss = s.get("issuer")
            if iss is None:
                raise PkiInputError(f"pki.certificates.{n}: no issuer (name an authority under "
                                    "pki.authorities, or give chain_file)")
            if iss not in authorities:
                raise _unknown("issuer", iss, authorities, f"pki.certificates.{n}.issuer")
            a = authorities[iss]
            subject = s.get("subject") or n
            nb = to_time(s.get("not_before"), start - dt.timedelta(days=30))
            cert = a.issue(subject, san=s.get("san"), eku=s.get("eku", ["server_auth"]),
                           key=s.get("key", DEFAULT_KEY), key_name=f"cert:{n}", seed=seed,
                           not_before=nb, not_after=to_time(s.get("not_after"),
                                                            nb + LEAF_LIFETIME))
            if s.get("revoked"):
                a.revoke(cert, to_time(s.get("revoked_at"), nb))
            certificates[n] = cert
            chains[n] = [cert, *a.chain()]
        return cls(authorities, certificates, chains, issuers, start)


_HIERARCHIES: OrderedDict[str, Hierarchy] = OrderedDict()
