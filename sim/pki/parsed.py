"""What the chain engine reads from one certificate, decoded once and kept.

Chain building looks at the same certificates again and again (every candidate path, every
client of a fleet), so each certificate is decoded into a :class:`Parsed` record once per
process; decoding problems become facts on the record (``problems``) instead of exceptions,
because Windows too builds a chain through a certificate it cannot fully understand and then
reports the element as bad (CERT_TRUST_INVALID_EXTENSION and friends).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtensionOID, NameOID

SERVER_AUTH = x509.oid.ExtendedKeyUsageOID.SERVER_AUTH.dotted_string
CLIENT_AUTH = x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string
ANY_EKU = "2.5.29.37.0"

# Critical extensions the CryptoAPI chain engine understands. A critical extension outside this
# set makes the element CERT_TRUST_INVALID_EXTENSION | HAS_NOT_SUPPORTED_CRITICAL_EXT.
# Basis: Wine's crypt32 (CRYPT_CriticalExtensionsSupported, a reimplementation written against
# Windows' behaviour) plus the policy extensions Windows processes (CERT_TRUST_INVALID_POLICY_*).
SUPPORTED_CRITICAL = frozenset(o.dotted_string for o in (
    ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.KEY_USAGE, ExtensionOID.EXTENDED_KEY_USAGE,
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.NAME_CONSTRAINTS,
    ExtensionOID.CERTIFICATE_POLICIES, ExtensionOID.POLICY_CONSTRAINTS,
    ExtensionOID.POLICY_MAPPINGS, ExtensionOID.INHIBIT_ANY_POLICY,
))

# ECDSA curves CNG verifies in certificates (NIST P-256/384/521).
SUPPORTED_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
MIN_RSA_BITS = 1024  # Windows blocks RSA keys under 1024 bits (KB 2661254, 2012)
WEAK_HASHES = frozenset({"md5", "md2", "md4"})


@dataclass(slots=True, eq=False)
class Parsed:
    """Decoded facts of one certificate (see the module docstring)."""

    cert: x509.Certificate
    der: bytes
    thumbprint: str                    # SHA-1, upper-case hex, as certmgr shows it
    subject: bytes                     # DER of the subject name (CryptoAPI compares binary)
    issuer: bytes
    subject_text: str
    issuer_text: str
    subject_empty: bool
    version: int                       # 1, 2 or 3
    not_before: dt.datetime
    not_after: dt.datetime
    spki: bytes | None                 # DER SubjectPublicKeyInfo, None when unusable
    public_key: object | None
    key_problem: str | None = None
    extensions_ok: bool = True
    problems: list[str] = field(default_factory=list)
    unsupported_critical: list[str] = field(default_factory=list)
    ski: bytes | None = None
    aki_keyid: bytes | None = None
    aki_issuer_serial: bool = False
    bc_present: bool = False
    bc_ca: bool = False
    bc_path_length: int | None = None
    ku: x509.KeyUsage | None = None
    eku: frozenset[str] | None = None  # None: no EKU extension (every usage allowed)
    san: list[x509.GeneralName] | None = None
    san_critical: bool = False
    name_constraints: x509.NameConstraints | None = None
    cdp_urls: tuple[str, ...] = ()
    aia_urls: tuple[str, ...] = ()
    common_names: tuple[str, ...] = ()
    weak_hash: bool = False
    _self_signed: bool | None = None

    @property
    def self_issued(self) -> bool:
        """Subject and issuer names are equal (RFC 5280 §6.1: a self-issued certificate)."""
        return self.subject == self.issuer and not self.subject_empty

    @property
    def self_signed(self) -> bool:
        """Self-issued, consistent key identifiers, and its signature verifies with its own key.

        A certificate that merely names itself as its issuer is not a root: path building goes
        on looking for the real issuer (hostile input, or a CA's key-rollover certificate).
        """
        if self._self_signed is None:
            ok = self.self_issued
            if ok and self.aki_keyid is not None and self.ski is not None:
                ok = self.aki_keyid == self.ski
            self._self_signed = ok and signature_valid(self, self)
        return self._self_signed

    @property
    def is_ca(self) -> bool:
        return self.bc_present and self.bc_ca

    def dns_names(self) -> list[str]:
        return [n.value for n in self.san or () if isinstance(n, x509.DNSName)]

    def label(self) -> str:
        """A short human name: the CN if there is one, else the whole subject."""
        return self.common_names[-1] if self.common_names else (self.subject_text or "(empty)")


def _der_children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """The (tag, start, end) of each TLV directly inside data[start:end] (definite lengths)."""
    out = []
    pos = start
    while pos < end:
        tag = data[pos]
        length = data[pos + 1]
        pos += 2
        if length & 0x80:
            n = length & 0x7F
            if n == 0 or n > 4:
                raise ValueError("unsupported DER length")
            length = int.from_bytes(data[pos:pos + n], "big")
            pos += n
        if pos + length > end:
            raise ValueError("DER element runs past its parent")
        out.append((tag, pos, pos + length))
        pos += length
    return out


def _tbs_fields(der: bytes) -> list[tuple[int, int, int]]:
    (_, s, e), = _der_children(der, 0, len(der))
    _, ts, te = _der_children(der, s, e)[0]
    return _der_children(der, ts, te)


def explicit_ec_parameters(der: bytes) -> bool:
    """The subjectPublicKeyInfo names an EC key with explicit curve parameters, which CNG
    cannot import (it takes named curves only)."""
    try:
        tbs = _tbs_fields(der)
        idx = 1 if tbs[0][0] == 0xA0 else 0
        _, ss, se = tbs[idx + 5]  # serial, signature, issuer, validity, subject, spki
        (_, as_, ae), _bits = _der_children(der, ss, se)
        alg = _der_children(der, as_, ae)
        return len(alg) > 1 and alg[1][0] == 0x30
    except (ValueError, IndexError):
        return False


def signature_algorithms_agree(der: bytes) -> bool:
    """RFC 5280 §4.1.1.2: the outer signatureAlgorithm equals the TBS ``signature`` field."""
    try:
        (_, s, e), = _der_children(der, 0, len(der))
        parts = _der_children(der, s, e)
        _, ts, te = parts[0]
        tbs = _der_children(der, ts, te)
        idx = 1 if tbs[0][0] == 0xA0 else 0   # skip [0] version
        _, as_, ae = tbs[idx + 1]              # serial, then signature AlgorithmIdentifier
        _, os_, oe = parts[1]
        return der[as_:ae] == der[os_:oe]
    except (ValueError, IndexError):
        return False


_CACHE: OrderedDict[bytes, Parsed] = OrderedDict()
_CACHE_MAX = 20000


def parse(cert: x509.Certificate) -> Parsed:
    """The :class:`Parsed` record of ``cert`` (cached per process by its DER)."""
    der = cert.public_bytes(Encoding.DER)
    hit = _CACHE.get(der)
    if hit is not None:
        return hit
    rec = _decode(cert, der)
    _CACHE[der] = rec
    if len(_CACHE) > _CACHE_MAX:
        _CACHE.popitem(last=False)
    return rec


def _text(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()
    except Exception:  # undecodable attribute values
        return "(unreadable name)"


def _decode(cert: x509.Certificate, der: bytes) -> Parsed:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _decode_quiet(cert, der)


def _decode_quiet(cert: x509.Certificate, der: bytes) -> Parsed:
    problems: list[str] = []
    try:
        version = {x509.Version.v1: 1, x509.Version.v3: 3}[cert.version]
    except Exception:
        version = 2  # cryptography refuses v2 at load; a raw v2 would land here
    subject = cert.subject
    issuer = cert.issuer
    try:
        cns = tuple(str(a.value) for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME))
    except Exception:
        cns = ()
    pub, spki, key_problem = None, None, None
    try:
        pub = cert.public_key()
        spki = pub.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        if isinstance(pub, rsa.RSAPublicKey) and pub.key_size < MIN_RSA_BITS:
            key_problem = f"RSA key of {pub.key_size} bits (Windows requires 1024 or more)"
        elif isinstance(pub, ec.EllipticCurvePublicKey) and pub.curve.name not in SUPPORTED_CURVES:
            key_problem = f"elliptic curve {pub.curve.name} is not supported by CNG"
    except Exception as exc:  # malformed keys, unknown algorithms
        key_problem = f"public key cannot be used ({exc.__class__.__name__})"
        pub = None
    if pub is not None and isinstance(pub, ec.EllipticCurvePublicKey) and \
            explicit_ec_parameters(der):
        key_problem = "EC key with explicit curve parameters (CNG accepts named curves only)"
        pub = None
    try:
        weak = (cert.signature_hash_algorithm is not None
                and cert.signature_hash_algorithm.name in WEAK_HASHES)
    except Exception:
        weak = False
    rec = Parsed(
        cert=cert, der=der, thumbprint=cert.fingerprint(hashes.SHA1()).hex().upper(),
        subject=subject.public_bytes(), issuer=issuer.public_bytes(),
        subject_text=_text(subject), issuer_text=_text(issuer),
        subject_empty=len(subject) == 0, version=version,
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        spki=spki, public_key=pub, key_problem=key_problem, common_names=cns,
        weak_hash=weak, problems=problems,
    )
    if not signature_algorithms_agree(der):
        problems.append("the signature algorithm differs from the one inside the certificate")
    try:
        exts = list(cert.extensions)
    except Exception as exc:
        rec.extensions_ok = False
        problems.append(f"extensions cannot be decoded ({exc})")
        return rec
    if exts and version < 3:
        problems.append(f"a version {version} certificate carries extensions")
    for ext in exts:
        _take(rec, ext)
    return rec


def _take(rec: Parsed, ext: x509.Extension) -> None:
    oid = ext.oid.dotted_string
    val = ext.value
    if isinstance(val, x509.UnrecognizedExtension):
        if ext.critical and oid not in SUPPORTED_CRITICAL:
            rec.unsupported_critical.append(oid)
        return
    if ext.critical and oid not in SUPPORTED_CRITICAL:
        rec.unsupported_critical.append(oid)
    if isinstance(val, x509.BasicConstraints):
        rec.bc_present, rec.bc_ca, rec.bc_path_length = True, val.ca, val.path_length
    elif isinstance(val, x509.KeyUsage):
        rec.ku = val
    elif isinstance(val, x509.ExtendedKeyUsage):
        rec.eku = frozenset(o.dotted_string for o in val)
    elif isinstance(val, x509.SubjectAlternativeName):
        rec.san = list(val)
        rec.san_critical = ext.critical
    elif isinstance(val, x509.NameConstraints):
        rec.name_constraints = val
    elif isinstance(val, x509.SubjectKeyIdentifier):
        rec.ski = val.digest
    elif isinstance(val, x509.AuthorityKeyIdentifier):
        rec.aki_keyid = val.key_identifier
        rec.aki_issuer_serial = val.authority_cert_issuer is not None
    elif isinstance(val, x509.CRLDistributionPoints):
        rec.cdp_urls = tuple(
            n.value for dp in val for n in (dp.full_name or ())
            if isinstance(n, x509.UniformResourceIdentifier))
    elif isinstance(val, x509.AuthorityInformationAccess):
        rec.aia_urls = tuple(
            d.access_location.value for d in val
            if d.access_method == x509.oid.AuthorityInformationAccessOID.CA_ISSUERS
            and isinstance(d.access_location, x509.UniformResourceIdentifier))


_SIG_CACHE: OrderedDict[tuple[bytes, bytes], bool] = OrderedDict()
_SIG_CACHE_MAX = 50000


def signature_valid(subject: Parsed, issuer: Parsed) -> bool:
    """Whether ``issuer``'s key verifies ``subject``'s signature (cached per pair).

    Only the signature is checked here; names, constraints and time are the engine's business.
    """
    key = (subject.der, issuer.spki or b"")
    hit = _SIG_CACHE.get(key)
    if hit is not None:
        return hit
    ok = _verify(subject, issuer)
    _SIG_CACHE[key] = ok
    if len(_SIG_CACHE) > _SIG_CACHE_MAX:
        _SIG_CACHE.popitem(last=False)
    return ok


def _verify(subject: Parsed, issuer: Parsed) -> bool:
    pub = issuer.public_key
    if pub is None:
        return False
    cert = subject.cert
    try:
        sig, tbs = cert.signature, cert.tbs_certificate_bytes
        if isinstance(pub, rsa.RSAPublicKey):
            pub.verify(sig, tbs, cert.signature_algorithm_parameters, cert.signature_hash_algorithm)
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(sig, tbs, cert.signature_algorithm_parameters)
        elif isinstance(pub, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            pub.verify(sig, tbs)
        elif isinstance(pub, dsa.DSAPublicKey):
            pub.verify(sig, tbs, cert.signature_hash_algorithm)
        else:
            return False
    except Exception:
        return False
    return True


def clear_cache() -> None:
    """Forget decoded certificates and signature results (tests, benches)."""
    _CACHE.clear()
    _SIG_CACHE.clear()
