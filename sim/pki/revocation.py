"""CRL revocation checking: CRLs fetched through a callable, checked and cached (the
authorities publish them: ``sim.pki.authority``).

Windows checks revocation only for chains that end in a trusted root, from the root toward the
leaf (domain-facts F6.3), for every element but the root. For each element it needs a current
CRL from the element's issuer: one already in a store or the URL cache, or one downloaded from
the element's CRL distribution point (CDP). A CDP that cannot be reached, or a CRL that is
stale or badly signed, leaves the status unknown and marks the chain
``REVOCATION_STATUS_UNKNOWN | IS_OFFLINE_REVOCATION`` (CRYPT_E_REVOCATION_OFFLINE, 0x80092013,
KB 2980672); no CDP at all gives ``REVOCATION_STATUS_UNKNOWN`` (CRYPT_E_NO_REVOCATION_CHECK).

The network model supplies ``fetch(url) -> bytes | None`` (None: unreachable from where the
client is), so a CDP published only inside the corporate network fails outside. Downloaded
CRLs are cached per URL until their nextUpdate, as the CryptNet URL cache does.

Whether revocation is enforced at all is a client setting: :func:`revocation_enforced`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtensionOID

from sim.pki.parsed import Parsed
from sim.pki.status import TrustStatus

Fetch = Callable[[str], bytes | None]

# CRL extensions a CRL may carry critically and still be used (RFC 5280 §5.2). Delta CRLs are
# not used: a critical delta-CRL indicator makes the CRL unusable here.
_CRL_CRITICAL_OK = frozenset({ExtensionOID.ISSUING_DISTRIBUTION_POINT.dotted_string})


def revocation_enforced(profile: str, strong_crl_required: bool = False) -> bool:
    """Whether an IP-HTTPS client enforces the CRL check (F5.14).

    Windows 7 always checks and cannot be told not to; Windows 8 and later skip the check
    unless StrongCRLRequired is set (Set-NetIPHttpsConfiguration; that this switch turns the
    check back on is the fact sheet's inference).
    """
    return profile.lower().replace(" ", "") in {"windows7", "win7"} or strong_crl_required


def parse_crl(data: bytes) -> x509.CertificateRevocationList | None:
    """A CRL from DER or PEM bytes; None when the bytes are not a CRL."""
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except Exception:
        return None


@dataclass(slots=True)
class CrlCache:
    """Downloaded CRLs by URL, kept while current (the CryptNet URL cache of one machine)."""

    _by_url: dict[str, x509.CertificateRevocationList] = field(default_factory=dict)
    fetches: int = 0
    hits: int = 0

    def get(self, url: str, at: dt.datetime) -> x509.CertificateRevocationList | None:
        crl = self._by_url.get(url)
        if crl is None:
            return None
        if not _current(crl, at):
            del self._by_url[url]
            return None
        self.hits += 1
        return crl

    def put(self, url: str, crl: x509.CertificateRevocationList) -> None:
        self._by_url[url] = crl

    def clear(self) -> None:
        self._by_url.clear()


DEFAULT_CRL_CACHE = CrlCache()


def _current(crl: x509.CertificateRevocationList, at: dt.datetime) -> bool:
    nu = crl.next_update_utc
    return crl.last_update_utc <= at and (nu is None or at <= nu)


_SIG_OK: dict[tuple[bytes, bytes], bool] = {}


def crl_problem(crl: x509.CertificateRevocationList, issuer: Parsed,
                at: dt.datetime) -> str | None:
    """Why ``crl`` cannot be used to check certificates issued by ``issuer`` (None: usable)."""
    if crl.issuer.public_bytes() != issuer.subject:
        return "it was issued by another CA"
    if issuer.ku is not None and not issuer.ku.crl_sign:
        return f"'{issuer.label()}' is not allowed to sign CRLs (no cRLSign key usage)"
    key = (crl.public_bytes(Encoding.DER), issuer.spki or b"")
    ok = _SIG_OK.get(key)
    if ok is None:
        try:
            ok = issuer.public_key is not None and crl.is_signature_valid(issuer.public_key)
        except Exception:
            ok = False
        if len(_SIG_OK) > 10000:
            _SIG_OK.clear()
        _SIG_OK[key] = ok
    if not ok:
        return "its signature does not verify"
    try:
        exts = list(crl.extensions)
    except Exception:
        return "its extensions cannot be decoded"
    number = [e for e in exts if e.oid == ExtensionOID.CRL_NUMBER]
    if not number:
        return "it has no CRL number (RFC 5280 §5.2.3)"
    if number[0].critical:
        return "its CRL number is marked critical (RFC 5280 §5.2.3)"
    for e in exts:
        if e.critical and e.oid.dotted_string not in _CRL_CRITICAL_OK:
            return f"it carries an unsupported critical extension {e.oid.dotted_string}"
    if not _current(crl, at):
        nu = crl.next_update_utc
        return (f"it is not current (published {crl.last_update_utc:%Y-%m-%d %H:%M}, next "
                f"update {nu:%Y-%m-%d %H:%M})" if nu else "it is not yet valid")
    return None


def check_path(path: list[Parsed], at: dt.datetime, fetch: Fetch | None,
               cache: CrlCache, local_crls: Iterable[x509.CertificateRevocationList] = (),
               ) -> tuple[list[TrustStatus], list[str]]:
    """Revocation bits per element of a trusted path (root last), and notes for the narrative."""
    flags = [TrustStatus.NO_ERROR] * len(path)
    notes: list[str] = []
    local = list(local_crls)
    for i in range(len(path) - 2, -1, -1):   # root toward leaf, root itself excluded
        bits, note = _element_status(path[i], path[i + 1], at, fetch, cache, local)
        flags[i] = bits
        if note:
            notes.append(note)
    return flags, notes


def _element_status(elem: Parsed, issuer: Parsed, at: dt.datetime, fetch: Fetch | None,
                    cache: CrlCache, local: list[x509.CertificateRevocationList],
                    ) -> tuple[TrustStatus, str | None]:
    crl = next((c for c in local if crl_problem(c, issuer, at) is None), None)
    reasons: list[str] = []
    if crl is None:
        for url in elem.cdp_urls:
            got = cache.get(url, at)
            if got is not None and crl_problem(got, issuer, at) is None:
                crl = got
                break
            data = None
            if fetch is not None:
                cache.fetches += 1
                try:
                    data = fetch(url)
                except Exception:
                    data = None
            if data is None:
                reasons.append(f"the CRL at {url} could not be downloaded")
                continue
            got = parse_crl(data)
            if got is None:
                reasons.append(f"{url} did not return a CRL")
                continue
            problem = crl_problem(got, issuer, at)
            if problem:
                reasons.append(f"the CRL at {url} cannot be used: {problem}")
                continue
            cache.put(url, got)
            crl = got
            break
    if crl is None:
        if not elem.cdp_urls:
            return (TrustStatus.REVOCATION_STATUS_UNKNOWN,
                    f"'{elem.label()}' has no CRL distribution point.")
        return (TrustStatus.REVOCATION_STATUS_UNKNOWN | TrustStatus.IS_OFFLINE_REVOCATION,
                f"For '{elem.label()}': " + "; ".join(reasons) + ".")
    entry = crl.get_revoked_certificate_by_serial_number(elem.cert.serial_number)
    if entry is not None and entry.revocation_date_utc <= at:
        return (TrustStatus.IS_REVOKED,
                f"'{elem.label()}' (serial {elem.cert.serial_number:x}) was revoked on "
                f"{entry.revocation_date_utc:%Y-%m-%d %H:%M UTC}.")
    return TrustStatus.NO_ERROR, None


def crl_thumbprint(crl: x509.CertificateRevocationList) -> str:
    return crl.fingerprint(hashes.SHA1()).hex().upper()
