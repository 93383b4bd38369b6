"""One test per HRESULT: each hierarchy differs from the trusted baseline in exactly one respect.

Baseline: Contoso Root CA → Contoso Issuing CA → da.contoso.com (Server Authentication EKU,
valid 2026), the server sends the whole chain (N1), the client holds the root in Trusted Root
Certification Authorities, connects to da.contoso.com on 2026-06-01, and (for the revocation
codes) enforces CRL checking against CDPs that answer.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from sim.pki import CertStore, CrlCache, verify_chain
from sim.pki.status import TrustStatus as T
from tests.pki.conftest import AT, HOST, build_contoso


def baseline(c, presented=None, **kw):
    args = dict(roots=[c.root.certificate], host=HOST, at=AT)
    args.update(kw)
    return verify_chain(presented or c.presented(), **args)


def tampered(cert: x509.Certificate) -> x509.Certificate:
    der = bytearray(cert.public_bytes(Encoding.DER))
    der[-1] ^= 0x01  # last byte of the signature value
    return x509.load_der_x509_certificate(bytes(der))


def test_baseline_is_trusted(contoso):
    r = baseline(contoso)
    assert r.trusted and r.hresult == 0 and r.hex == "0x0" and r.name == "S_OK"
    assert r.flags == T.NO_ERROR
    assert [c.subject.rfc4514_string() for c in r.path] == [
        "CN=da.contoso.com", "CN=Contoso Issuing CA", "CN=Contoso Root CA"]


def test_baseline_with_revocation_checking_is_trusted(contoso):
    r = baseline(contoso, check_revocation=True, fetch=contoso.fetch)
    assert r.trusted and r.revocation_checked


def test_untrusted_root_0x800b0109_root_not_in_root_store(contoso):
    r = baseline(contoso, roots=[])
    assert (r.hex, r.name) == ("0x800b0109", "CERT_E_UNTRUSTEDROOT")
    assert r.flags == T.IS_UNTRUSTED_ROOT
    assert r.path[-1] == contoso.root.certificate


def test_chaining_0x800b010a_intermediate_neither_sent_nor_stored(contoso):
    r = baseline(contoso, presented=[contoso.leaf])
    assert (r.hex, r.name) == ("0x800b010a", "CERT_E_CHAINING")
    assert r.flags == T.IS_PARTIAL_CHAIN
    assert r.missing_issuer == "CN=Contoso Issuing CA"


def test_expired_0x800b0101_leaf_past_not_after():
    c = build_contoso(not_after=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    r = baseline(c)
    assert (r.hex, r.name) == ("0x800b0101", "CERT_E_EXPIRED")
    assert r.element_flags[0] == T.IS_NOT_TIME_VALID


def test_expired_0x800b0101_also_for_not_yet_valid():
    c = build_contoso(not_before=dt.datetime(2026, 7, 1, tzinfo=dt.UTC))
    assert baseline(c).name == "CERT_E_EXPIRED"


def test_cn_no_match_0x800b010f_client_connects_to_another_name(contoso):
    r = baseline(contoso, host="da2.contoso.com")
    assert (r.hex, r.name) == ("0x800b010f", "CERT_E_CN_NO_MATCH")
    assert r.presented_names == ("da.contoso.com",)


def test_wrong_usage_0x800b0110_leaf_without_server_authentication():
    c = build_contoso(eku=["client_auth"])
    r = baseline(c)
    assert (r.hex, r.name) == ("0x800b0110", "CERT_E_WRONG_USAGE")
    assert r.element_flags[0] == T.IS_NOT_VALID_FOR_USAGE


def test_revoked_0x800b010c_leaf_on_the_issuing_crl():
    c = build_contoso()
    c.issuing.revoke(c.leaf, dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    r = baseline(c, check_revocation=True, fetch=c.fetch)
    assert (r.hex, r.name) == ("0x800b010c", "CERT_E_REVOKED")
    assert r.element_flags[0] == T.IS_REVOKED


def test_revocation_offline_0x80092013_cdp_unreachable(contoso):
    r = baseline(contoso, check_revocation=True, fetch=lambda url: None)
    assert (r.hex, r.name) == ("0x80092013", "CRYPT_E_REVOCATION_OFFLINE")
    assert r.flags & T.IS_OFFLINE_REVOCATION and r.flags & T.REVOCATION_STATUS_UNKNOWN


def test_no_revocation_check_0x80092012_leaf_without_cdp(contoso):
    c = build_contoso(crl_urls=[])
    r = baseline(c, check_revocation=True, fetch=c.fetch)
    assert (r.hex, r.name) == ("0x80092012", "CRYPT_E_NO_REVOCATION_CHECK")
    assert r.element_flags[0] == T.REVOCATION_STATUS_UNKNOWN


def test_cert_signature_0x80096004_leaf_signature_altered(contoso):
    r = baseline(contoso, presented=[tampered(contoso.leaf), *contoso.presented()[1:]])
    assert (r.hex, r.name) == ("0x80096004", "TRUST_E_CERT_SIGNATURE")
    assert r.element_flags[0] == T.IS_NOT_SIGNATURE_VALID


# Codes the SSL policy can return beyond the issue's list.

def test_basic_constraints_0x80096019_issuer_is_not_a_ca(contoso):
    real = contoso.issuing.certificate
    fake = contoso.root.issue("CN=Contoso Issuing CA", san=[], eku=None,
                              key_name="contoso-issuing", not_before=real.not_valid_before_utc,
                              not_after=real.not_valid_after_utc)
    r = baseline(contoso, presented=[contoso.leaf, fake])
    assert (r.hex, r.name) == ("0x80096019", "TRUST_E_BASIC_CONSTRAINTS")


def test_critical_0x800b0105_unknown_critical_extension():
    ext = x509.Extension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), True,
                         x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"),
                                                    b"\x05\x00"))
    r = baseline(build_contoso(extra=[ext]))
    assert (r.hex, r.name) == ("0x800b0105", "CERT_E_CRITICAL")


def test_explicit_distrust_0x800b0111_issuing_ca_in_disallowed(contoso):
    r = baseline(contoso, disallowed=CertStore.of("Disallowed", [contoso.issuing.certificate]))
    assert (r.hex, r.name) == ("0x800b0111", "TRUST_E_EXPLICIT_DISTRUST")


def test_invalid_name_0x800b0114_name_outside_permitted_subtree(contoso):
    constrained = contoso.root.subordinate("contoso-issuing", "CN=Contoso Issuing CA")
    nc = x509.NameConstraints(permitted_subtrees=[x509.DNSName("corp.contoso.com")],
                              excluded_subtrees=None)
    ica = contoso.root._issue_cert(
        constrained.certificate.subject, constrained.key.public_key(),
        constrained.certificate.not_valid_before_utc, constrained.certificate.not_valid_after_utc,
        ca=True, extra=[x509.Extension(nc.oid, True, nc)])
    r = baseline(contoso, presented=[contoso.leaf, ica])
    assert (r.hex, r.name) == ("0x800b0114", "CERT_E_INVALID_NAME")
    assert r.element_flags[1] & T.HAS_NOT_PERMITTED_NAME_CONSTRAINT


def test_every_explanation_names_the_code_and_a_certificate(contoso):
    c = build_contoso()
    c.issuing.revoke(c.leaf, dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    results = [
        baseline(contoso),
        baseline(contoso, roots=[]),
        baseline(contoso, presented=[contoso.leaf]),
        baseline(build_contoso(not_after=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))),
        baseline(contoso, host="da2.contoso.com"),
        baseline(build_contoso(eku=["client_auth"])),
        # each its own CRL cache: the revoked leaf's CRL must not serve the next client
        baseline(c, check_revocation=True, fetch=c.fetch, crl_cache=CrlCache()),
        baseline(contoso, check_revocation=True, fetch=lambda url: None, crl_cache=CrlCache()),
        baseline(build_contoso(crl_urls=[]), check_revocation=True, fetch=contoso.fetch,
                 crl_cache=CrlCache()),
        baseline(contoso, presented=[tampered(contoso.leaf), contoso.issuing.certificate]),
    ]
    assert len({r.hresult for r in results}) == len(results)
    for r in results:
        text = r.explain()
        assert "da.contoso.com" in text or "Contoso" in text
        if not r.trusted:
            assert r.hex in text and "Fix:" in text


def test_untrusted_root_explanation_gives_the_kb2980667_steps(contoso):
    text = baseline(contoso, roots=[]).explain()
    assert "Trusted Root Certification Authorities" in text
    assert "Group Policy" in text and "IP Helper" in text and "KB 2980667" in text
