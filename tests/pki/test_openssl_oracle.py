"""OpenSSL as an oracle: ``openssl verify`` agrees with the engine on trusted vs not, and on the
kind of failure where OpenSSL distinguishes it (e.g. a self-signed certificate in the chain
vs unable to get the local issuer: 0x800b0109 vs 0x800b010a, domain-facts N1)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from sim.pki import Authority, verify_chain
from tests.pki.conftest import AT, HOST, build_contoso

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")
UTC = dt.UTC

# OpenSSL verify error number → the HRESULT the engine must report for the same chain.
OPENSSL_TO_HRESULT = {
    None: 0,             # OK
    19: 0x800B0109,      # self-signed certificate in certificate chain
    18: 0x800B0109,      # self-signed certificate (a lone untrusted root)
    20: 0x800B010A,      # unable to get local issuer certificate
    2: 0x800B010A,       # unable to get issuer certificate
    10: 0x800B0101,      # certificate has expired
    9: 0x800B0101,       # certificate is not yet valid
    62: 0x800B010F,      # hostname mismatch
    26: 0x800B0110,      # unsupported certificate purpose
    7: 0x80096004,       # certificate signature failure
}


def _tampered(cert: x509.Certificate) -> x509.Certificate:
    der = bytearray(cert.public_bytes(Encoding.DER))
    der[-1] ^= 0x01
    return x509.load_der_x509_certificate(bytes(der))


def _cases():
    base = build_contoso()
    other_root = Authority.root("oracle-other-root", "CN=Other Root").certificate
    root = base.root.certificate
    yield "trusted", base.presented(send_root=False), [root], HOST
    yield "untrusted root sent by the server", base.presented(send_root=True), [other_root], HOST
    yield "missing intermediate", [base.leaf], [root], HOST
    yield "expired", build_contoso(not_after=dt.datetime(2026, 5, 1, tzinfo=UTC)).presented(
        send_root=False), [root], HOST
    yield "not yet valid", build_contoso(not_before=dt.datetime(2026, 7, 1, tzinfo=UTC)
                                         ).presented(send_root=False), [root], HOST
    yield "wrong host", base.presented(send_root=False), [root], "vpn.contoso.com"
    yield "wrong EKU", build_contoso(eku=["client_auth"]).presented(send_root=False), [root], HOST
    yield "bad signature", [_tampered(base.leaf), base.issuing.certificate], [root], HOST
    yield "p256 hierarchy", build_contoso(key="p256").presented(send_root=False), \
        [build_contoso(key="p256").root.certificate], HOST


def _pem(certs) -> bytes:
    return b"".join(c.public_bytes(Encoding.PEM) for c in certs)


def openssl_verify(tmp: Path, presented, roots, host) -> tuple[int | None, str]:
    (tmp / "leaf.pem").write_bytes(_pem(presented[:1]))
    (tmp / "roots.pem").write_bytes(_pem(roots))
    cmd = [OPENSSL, "verify", "-CAfile", str(tmp / "roots.pem"), "-purpose", "sslserver",
           "-verify_hostname", host, "-attime", str(int(AT.timestamp()))]
    if presented[1:]:
        (tmp / "untrusted.pem").write_bytes(_pem(presented[1:]))
        cmd += ["-untrusted", str(tmp / "untrusted.pem")]
    out = subprocess.run([*cmd, str(tmp / "leaf.pem")], capture_output=True, text=True,
                         timeout=30)
    text = out.stdout + out.stderr
    m = re.search(r"error (\d+) at", text)
    if out.returncode == 0:
        return None, text
    assert m, text
    return int(m.group(1)), text


CASES = list(_cases())


@pytest.mark.parametrize(("presented", "roots", "host"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_engine_agrees_with_openssl_verify(tmp_path, presented, roots, host):
    err, text = openssl_verify(tmp_path, presented, roots, host)
    r = verify_chain(presented, roots=roots, host=host, at=AT)
    assert r.trusted == (err is None), text
    assert err in OPENSSL_TO_HRESULT, f"unmapped OpenSSL error {err}: {text}"
    assert r.hresult == OPENSSL_TO_HRESULT[err], (r.summary(), text)
