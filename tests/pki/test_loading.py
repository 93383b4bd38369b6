"""Loading real material (sim.pki.loading): formats, bundles, folders, and clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.pki import PkiInputError, certificates_from_bytes, load_certificates, load_chain
from sim.pki.loading import load_crls
from tests.pki.conftest import AT, build_contoso

C = build_contoso()
PEM = b"".join(c.public_bytes(Encoding.PEM) for c in C.presented())
DER = C.leaf.public_bytes(Encoding.DER)
P7B_DER = pkcs7.serialize_certificates(C.presented(), Encoding.DER)
P7B_PEM = pkcs7.serialize_certificates(C.presented(), Encoding.PEM)
# PKI_FUZZ=4000 runs a longer campaign.
RELAXED = settings(max_examples=int(os.environ.get("PKI_FUZZ", "300")), deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_pem_bundle_keeps_the_order_leaf_first():
    assert certificates_from_bytes(PEM) == C.presented()


def test_der_certificate():
    assert certificates_from_bytes(DER) == [C.leaf]


@pytest.mark.parametrize("data", [P7B_DER, P7B_PEM], ids=["p7b-der", "p7b-pem"])
def test_pkcs7_bundle_as_windows_exports_it(data):
    assert set(certificates_from_bytes(data)) == set(C.presented())


def test_pem_with_private_keys_and_text_around_certificates():
    noisy = (b"subject=CN=da.contoso.com\n" + C.leaf.public_bytes(Encoding.PEM)
             + b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert certificates_from_bytes(noisy) == [C.leaf]


def test_openssl_trusted_certificate_block():
    body = C.root.certificate.public_bytes(Encoding.PEM).replace(
        b"BEGIN CERTIFICATE", b"BEGIN TRUSTED CERTIFICATE").replace(
        b"END CERTIFICATE", b"END TRUSTED CERTIFICATE")
    assert certificates_from_bytes(body) == [C.root.certificate]


def test_folder_of_roots_loads_every_certificate_file(tmp_path: Path):
    (tmp_path / "a.cer").write_bytes(C.root.certificate.public_bytes(Encoding.DER))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.pem").write_bytes(C.issuing.certificate.public_bytes(Encoding.PEM))
    (tmp_path / "readme.txt").write_text("not a certificate")
    assert set(load_certificates(tmp_path)) == {C.root.certificate, C.issuing.certificate}


def test_chain_file(tmp_path: Path):
    f = tmp_path / "chain.pem"
    f.write_bytes(PEM)
    assert load_chain(f) == C.presented()


def test_crl_files(tmp_path: Path):
    crl = C.issuing.crl(AT)
    (tmp_path / "a.crl").write_bytes(crl.public_bytes(Encoding.DER))
    (tmp_path / "b.crl").write_bytes(crl.public_bytes(Encoding.PEM))
    assert load_crls(tmp_path / "a.crl") == [crl] == load_crls(tmp_path / "b.crl")
    (tmp_path / "c.crl").write_bytes(b"junk")
    with pytest.raises(PkiInputError, match=r"c\.crl"):
        load_crls(tmp_path / "c.crl")


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"hello world", "not an X.509 certificate"),
    (b"-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n",
     "not valid base64"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n", "without a matching END"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "PEM block 1"),
    (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "no certificate"),
    (DER[:100], "the data ends before the certificate does"),
    (DER + b"\x00\x00", "bytes follow the end of the certificate"),
], ids=["empty", "blank", "text", "bad-base64", "no-end", "not-der", "key-only", "truncated",
        "trailing"])
def test_malformed_files_give_an_error_naming_the_file(tmp_path: Path, content, message):
    f = tmp_path / "server.cer"
    f.write_bytes(content)
    with pytest.raises(PkiInputError, match=message) as err:
        load_certificates(f)
    assert str(f) in str(err.value)
    assert "ParseError" not in str(err.value)   # the parser's debug form is not for people


def test_missing_file_and_empty_folder(tmp_path: Path):
    with pytest.raises(PkiInputError, match="no such file"):
        load_certificates(tmp_path / "nope.pem")
    with pytest.raises(PkiInputError, match="no certificate files"):
        load_certificates(tmp_path)


def _mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, pos, val in ops:
        if not buf:
            break
        i = pos % len(buf)
        if kind == 0:
            buf[i] = val
        elif kind == 1:
            del buf[i:]
        elif kind == 2:
            buf.insert(i, val)
        else:
            del buf[i]
    return bytes(buf)


OPS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1 << 16), st.integers(0, 255)),
               min_size=1, max_size=6)


def _only_clear_errors(data: bytes) -> None:
    try:
        certs = certificates_from_bytes(data, "mangled.pem")
    except PkiInputError as exc:
        assert "mangled.pem" in str(exc)
        return
    assert certs  # whatever loads is a usable list of certificates


@RELAXED
@given(OPS)
def test_mangled_pem_gives_a_clear_error_never_a_traceback(ops):
    _only_clear_errors(_mutate(PEM, ops))


@RELAXED
@given(OPS)
def test_mangled_der_gives_a_clear_error_never_a_traceback(ops):
    _only_clear_errors(_mutate(DER, ops))


@RELAXED
@given(OPS)
def test_mangled_pkcs7_gives_a_clear_error_never_a_traceback(ops):
    _only_clear_errors(_mutate(P7B_DER, ops))


@RELAXED
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_give_a_clear_error_never_a_traceback(data):
    _only_clear_errors(data)


@RELAXED
@given(OPS)
def test_whatever_loads_from_mangled_der_can_be_verified(ops):
    """A certificate that survives the loader never crashes the chain engine."""
    from sim.pki import verify_chain

    try:
        certs = certificates_from_bytes(_mutate(DER, ops))
    except PkiInputError:
        return
    r = verify_chain(certs, roots=[C.root.certificate], intermediates=[C.issuing.certificate],
                     host="da.contoso.com", at=AT, use_cache=False)
    assert isinstance(r.hresult, int)
