"""Authorities, the key cache, re-signing proxies and scenario hierarchies (sim.pki.authority)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sim.pki import Authority, Hierarchy, PkiInputError, key_stats, private_key, verify_chain
from tests.pki.conftest import AT, HOST, LEAF_NA, LEAF_NB

UTC = dt.UTC

DESIGN_PKI = {  # design.md's example pki: section
    "authorities": {
        "contoso-root": {},
        "contoso-issuing": {"issuer": "contoso-root",
                            "crl": {"url": "http://crl.contoso.com/issuing.crl",
                                    "published": "outside"}},
    },
    "certificates": {
        "iphttps": {"issuer": "contoso-issuing", "subject": "da.contoso.com",
                    "eku": ["server_auth"], "not_after": "2027-06-01"},
    },
}
START = dt.datetime(2026, 6, 1, 9, tzinfo=UTC)


def test_rsa_2048_is_the_default_and_p256_is_available():
    assert isinstance(private_key("k-default"), rsa.RSAPrivateKey)
    assert private_key("k-default").key_size == 2048
    assert isinstance(private_key("k-ec", "p256"), ec.EllipticCurvePrivateKey)
    with pytest.raises(PkiInputError, match="not one of"):
        private_key("k", "dsa1024")


def test_a_fleet_issuing_10000_certificates_generates_no_new_keys(contoso):
    private_key("fleet-leaf")  # the one key all the fleet's certificates share
    before = key_stats()["generated"]
    for i in range(10_000):
        private_key("fleet-leaf")
        if i < 20:
            contoso.issuing.issue(f"client{i}.contoso.com", key_name="fleet-leaf",
                                  not_before=LEAF_NB, not_after=LEAF_NA)
    assert key_stats()["generated"] == before


def test_ec_keys_are_derived_from_name_and_seed():
    a = private_key("derive-me", "p256", seed=1)
    b = private_key("derive-me", "p256", seed=2)
    assert a.private_numbers() != b.private_numbers()
    from sim.pki import authority

    del authority._KEYS[("derive-me", "p256", "1")]
    assert private_key("derive-me", "p256", seed=1).private_numbers() == a.private_numbers()


def test_same_spec_gives_byte_identical_certificates():
    a = Authority.root("same-root", key="p256")
    b = Authority.root("same-root", key="p256")
    assert a.certificate == b.certificate
    assert a.issue(HOST, key="p256") == b.issue(HOST, key="p256")


def test_issued_certificate_carries_the_usual_extensions(contoso):
    leaf = contoso.leaf
    exts = {e.oid._name for e in leaf.extensions}
    assert {"basicConstraints", "keyUsage", "subjectKeyIdentifier", "authorityKeyIdentifier",
            "subjectAltName", "extendedKeyUsage", "cRLDistributionPoints"} <= exts
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_intermediates_of_any_depth_and_path_length():
    root = Authority.root("depth-root", key="p256")
    a = root.subordinate("depth-a", key="p256", path_length=2)
    b = a.subordinate("depth-b", key="p256")
    c = b.subordinate("depth-c", key="p256")
    leaf = c.issue(HOST, key="p256", not_before=LEAF_NB, not_after=LEAF_NA)
    assert [x.subject for x in c.chain()] == [
        c.certificate.subject, b.certificate.subject, a.certificate.subject,
        root.certificate.subject]
    r = verify_chain([leaf, *c.chain(include_root=False)], roots=[root.certificate],
                     host=HOST, at=AT)
    assert r.trusted


def test_tls_inspecting_proxy_resigns_with_its_own_ca(contoso):
    proxy = Authority.root("proxy-ca", "CN=Hotel Proxy CA")
    forged = proxy.resign(contoso.leaf)
    assert forged.subject == contoso.leaf.subject
    assert forged.issuer == proxy.certificate.subject
    assert forged.public_key() != contoso.leaf.public_key()
    san = forged.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["da.contoso.com"]
    eku = forged.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
    # A client that does not trust the proxy's CA sees an untrusted root (F7 proxy case) ...
    r = verify_chain([forged, proxy.certificate], roots=[contoso.root.certificate], host=HOST,
                     at=AT)
    assert r.hex == "0x800b0109"
    # ... and one whose IT deployed the proxy's CA trusts it.
    assert verify_chain([forged], roots=[proxy.certificate], host=HOST, at=AT).trusted
    assert proxy.resign(contoso.leaf).public_key() == forged.public_key()  # key from the cache


def test_hierarchy_from_the_design_example():
    h = Hierarchy.from_spec(DESIGN_PKI, start=START)
    chain = h.chain("iphttps")
    assert [c.subject.rfc4514_string() for c in chain] == [
        "CN=da.contoso.com", "CN=contoso-issuing", "CN=contoso-root"]
    assert h.chain("iphttps", send_root=False) == chain[:2]
    assert h.certificate("iphttps").not_valid_after_utc == dt.datetime(2027, 6, 1, tzinfo=UTC)
    assert h.crl_urls() == {"http://crl.contoso.com/issuing.crl": ("contoso-issuing", "outside")}
    r = verify_chain(chain, roots=[h.root_of("iphttps")], host="da.contoso.com", at=START)
    assert r.trusted
    crl = h.serve("http://crl.contoso.com/issuing.crl", START)
    assert crl and h.serve("http://elsewhere/x.crl", START) is None


def test_hierarchy_is_built_once_per_spec():
    assert Hierarchy.from_spec(DESIGN_PKI, start=START) is Hierarchy.from_spec(DESIGN_PKI,
                                                                              start=START)
    assert Hierarchy.from_spec(DESIGN_PKI, start=START, cache=False) is not \
        Hierarchy.from_spec(DESIGN_PKI, start=START)


def test_unknown_issuer_names_the_place_and_suggests_the_closest_name():
    spec = {"authorities": {"contoso-root": {}},
            "certificates": {"iphttps": {"issuer": "contoso-rot", "subject": HOST}}}
    with pytest.raises(PkiInputError, match=r"pki.certificates.iphttps.issuer: unknown issuer "
                                            r"'contoso-rot'; did you mean 'contoso-root'\?"):
        Hierarchy.from_spec(spec, start=START)
    bad_auth = {"authorities": {"a": {"issuer": "contoso-issuin"}, "contoso-issuing": {}}}
    with pytest.raises(PkiInputError, match="did you mean 'contoso-issuing'"):
        Hierarchy.from_spec(bad_auth, start=START)


def test_issuer_loops_are_rejected():
    spec = {"authorities": {"a": {"issuer": "b"}, "b": {"issuer": "a"}}}
    with pytest.raises(PkiInputError, match="loop"):
        Hierarchy.from_spec(spec, start=START)


def test_unknown_certificate_name_suggests_the_closest(contoso):
    h = Hierarchy.from_spec(DESIGN_PKI, start=START)
    with pytest.raises(PkiInputError, match="did you mean 'iphttps'"):
        h.certificate("iphtps")


def test_certificate_from_a_chain_file(tmp_path):
    from cryptography.hazmat.primitives.serialization import Encoding

    h0 = Hierarchy.from_spec(DESIGN_PKI, start=START)
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "da.pem").write_bytes(
        b"".join(c.public_bytes(Encoding.PEM) for c in h0.chain("iphttps")))
    spec = {"certificates": {"iphttps": {"chain_file": "certs/da.pem"}}}
    h = Hierarchy.from_spec(spec, start=START, base_dir=tmp_path)
    assert h.chain("iphttps") == h0.chain("iphttps")


def test_revoked_certificate_in_a_spec_is_on_the_crl():
    spec = {"authorities": {"r": {"crl": {"url": "http://crl/r.crl"}}},
            "certificates": {"web": {"issuer": "r", "subject": HOST, "revoked": True}}}
    h = Hierarchy.from_spec(spec, start=START)
    r = verify_chain(h.chain("web"), roots=[h.root_of("web")], host=HOST, at=START,
                     fetch=lambda url: h.serve(url, START), check_revocation=True)
    assert r.name == "CERT_E_REVOKED"


def test_crl_is_republished_each_period_with_overlap():
    root = Authority.root("crl-root", key="p256", crl_url="http://crl/root.crl")
    a = root.crl(AT)
    assert root.crl(AT + dt.timedelta(hours=1)) is a
    assert a.last_update_utc <= AT <= a.next_update_utc
    assert a.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number >= 1
