"""Real certificate material: PEM, DER and PKCS#7 (.p7b) files, bundles and folders.

What architects export from Windows (certlm.msc "DER encoded binary", "Base-64 encoded", or
"Cryptographic Message Syntax Standard - PKCS #7 (.p7b)") and what OpenSSL writes all load here.
Anything malformed raises :class:`PkiInputError` naming the file and what is wrong — never a
traceback from the parser underneath.
"""

from __future__ import annotations

import binascii
import re
import warnings
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7

from sim.pki.errors import PkiInputError

CERT_SUFFIXES = frozenset({".pem", ".crt", ".cer", ".der", ".p7b", ".p7c", ".cert"})
MAX_FILE_BYTES = 32 * 1024 * 1024
_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----(.*?)-----END \1-----", re.DOTALL)
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}
_P7_LABELS = {b"PKCS7", b"CMS", b"PKCS #7 SIGNED DATA"}


def _checked(cert: x509.Certificate, source: str) -> x509.Certificate:
    """Touch the fields the engine needs so that lazy parsing fails here, with a clear error."""
    try:
        _ = (cert.subject.rfc4514_string(), cert.issuer.rfc4514_string(), cert.serial_number,
             cert.not_valid_before_utc, cert.not_valid_after_utc, cert.signature,
             cert.tbs_certificate_bytes)
    except Exception as exc:
        raise PkiInputError(f"{source}: certificate fields cannot be decoded ({exc})") from None
    return cert


# What the ASN.1 parser's error kinds mean to someone holding the file.
_ASN1_KINDS = {
    "ShortData": "the data ends before the certificate does (a truncated file or PEM block)",
    "ExtraData": "bytes follow the end of the certificate",
    "UnexpectedTag": "the bytes do not have a certificate's structure",
    "InvalidLength": "a length in its structure is invalid",
    "InvalidValue": "a value in its structure is invalid",
}


def _parse_reason(exc: Exception) -> str:
    """The parser's complaint in words (cryptography reports the Rust parser's debug form,
    ``ParseError { kind: ShortData { needed: 357 } }``)."""
    text = str(exc)
    kind = re.search(r"kind: (\w+)", text)
    if kind is None:
        return text
    return _ASN1_KINDS.get(kind.group(1), f"malformed DER ({kind.group(1)})")


def _der_certificates(der: bytes, source: str) -> list[x509.Certificate]:
    try:
        return [_checked(x509.load_der_x509_certificate(der), source)]
    except PkiInputError:
        raise
    except Exception as cert_exc:
        try:
            certs = pkcs7.load_der_pkcs7_certificates(der)
        except Exception:
            raise PkiInputError(f"{source}: not an X.509 certificate or PKCS#7 bundle in DER: "
                                f"{_parse_reason(cert_exc)}") from None
        if not certs:
            raise PkiInputError(f"{source}: the PKCS#7 bundle holds no certificate") from None
        return [_checked(c, source) for c in certs]


def certificates_from_bytes(data: bytes, source: str = "<bytes>") -> list[x509.Certificate]:
    """Every certificate in ``data`` (PEM with any number of blocks, DER, or PKCS#7), in order.

    ``source`` names the origin in error messages. PEM blocks that are not certificates
    (private keys, CRLs) are skipped; a file with none at all is an error.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise PkiInputError(f"{source}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if not data.strip():
        raise PkiInputError(f"{source}: the file is empty")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if b"-----BEGIN" in data:
            return _pem_certificates(data, source)
        return _der_certificates(data, source)


def _pem_certificates(data: bytes, source: str) -> list[x509.Certificate]:
    out: list[x509.Certificate] = []
    blocks = list(_PEM.finditer(data))
    if not blocks:
        raise PkiInputError(f"{source}: a PEM header without a matching END line")
    for n, m in enumerate(blocks, 1):
        label, body = m.group(1).strip(), m.group(2)
        if label not in _CERT_LABELS and label not in _P7_LABELS:
            continue
        lines = [ln.strip() for ln in body.splitlines()]
        if any(b":" in ln for ln in lines):  # RFC 1421 headers (Proc-Type: ...)
            lines = [ln for ln in lines if b":" not in ln]
        try:
            der = binascii.a2b_base64(b"".join(lines), strict_mode=True)
        except (binascii.Error, ValueError) as exc:
            raise PkiInputError(f"{source}: PEM block {n} ({label.decode()}) is not valid "
                                f"base64 ({exc})") from None
        if not der:
            raise PkiInputError(f"{source}: PEM block {n} ({label.decode()}) is empty")
        try:
            if label == b"TRUSTED CERTIFICATE":
                # OpenSSL's form: the certificate followed by trust settings; keep the former.
                out.append(_checked(x509.load_der_x509_certificate(_first_tlv(der)), source))
            else:
                out.extend(_der_certificates(der, f"{source} (PEM block {n})"))
        except PkiInputError:
            raise
        except Exception as exc:
            raise PkiInputError(f"{source}: PEM block {n} ({label.decode()}) is not a "
                                f"certificate ({exc})") from None
    if not out:
        raise PkiInputError(f"{source}: holds PEM data but no certificate")
    return out


def _first_tlv(der: bytes) -> bytes:
    if len(der) < 2:
        raise ValueError("too short")
    length = der[1]
    pos = 2
    if length & 0x80:
        k = length & 0x7F
        length = int.from_bytes(der[2:2 + k], "big")
        pos += k
    return der[:pos + length]


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PkiInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if size > MAX_FILE_BYTES:
        raise PkiInputError(f"{path}: {size} bytes is too large for a certificate file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PkiInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def load_certificates(path: str | Path) -> list[x509.Certificate]:
    """Certificates from a file (PEM, DER, PKCS#7, bundles) or from every certificate file in a
    folder (by suffix: .pem .crt .cer .der .p7b .p7c .cert, sorted by name)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in
                       CERT_SUFFIXES)
        if not files:
            raise PkiInputError(f"{p}: the folder holds no certificate files "
                                f"({', '.join(sorted(CERT_SUFFIXES))})")
        out: list[x509.Certificate] = []
        for f in files:
            out.extend(certificates_from_bytes(_read(f), str(f)))
        return out
    if not p.exists():
        raise PkiInputError(f"{p}: no such file or folder")
    return certificates_from_bytes(_read(p), str(p))


def load_chain(path: str | Path) -> list[x509.Certificate]:
    """A server chain file, leaf first (the order kept as written)."""
    return load_certificates(path)


def load_crls(path: str | Path) -> list[x509.CertificateRevocationList]:
    """CRLs from a PEM (any number of X509 CRL blocks) or DER file."""
    p = Path(path)
    data = _read(p)
    if not data.strip():
        raise PkiInputError(f"{p}: the file is empty")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if b"-----BEGIN" in data:
                blocks = [m for m in _PEM.finditer(data) if m.group(1) == b"X509 CRL"]
                if not blocks:
                    raise PkiInputError(f"{p}: holds no X509 CRL block")
                return [x509.load_pem_x509_crl(m.group(0)) for m in blocks]
            return [x509.load_der_x509_crl(data)]
        except PkiInputError:
            raise
        except Exception as exc:
            raise PkiInputError(f"{p}: not a certificate revocation list ({exc})") from None
