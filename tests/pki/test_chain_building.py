"""Path building and the SSL policy, one documented behaviour per test."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from sim.pki import Authority, CertStore, verify_chain
from sim.pki.status import TrustStatus as T
from tests.pki.conftest import AT, HOST, LEAF_NA, LEAF_NB, build_contoso

UTC = dt.UTC


# --- N1: what the server presents decides between 0x800b0109 and 0x800b010a ---------------

def test_n1_server_sending_its_root_gives_untrusted_root_kb2980667(contoso):
    r = verify_chain(contoso.presented(send_root=True), roots=[], host=HOST, at=AT)
    assert r.hex == "0x800b0109"
    assert r.sources == ("presented", "presented", "presented")


def test_n1_server_sending_leaf_and_intermediate_gives_chaining_without_the_root(contoso):
    r = verify_chain(contoso.presented(send_root=False), roots=[], host=HOST, at=AT)
    assert r.hex == "0x800b010a"
    assert r.missing_issuer == "CN=Contoso Root CA"


def test_root_found_in_root_store_completes_a_chain_sent_without_root(contoso):
    r = verify_chain(contoso.presented(send_root=False), roots=[contoso.root.certificate],
                     host=HOST, at=AT)
    assert r.trusted and r.sources[-1] == "root"


def test_intermediate_from_the_ca_store_completes_a_leaf_only_chain(contoso):
    r = verify_chain([contoso.leaf], roots=[contoso.root.certificate],
                     intermediates=CertStore.of("CA", [contoso.issuing.certificate]),
                     host=HOST, at=AT)
    assert r.trusted and r.sources == ("presented", "ca", "root")


def test_aia_fetch_completes_the_chain_when_the_intermediate_is_missing():
    root = Authority.root("contoso-root", "CN=Contoso Root CA")
    ica = root.subordinate("contoso-issuing", "CN=Contoso Issuing CA",
                           aia_url="http://pki.contoso.com/issuing.crt")
    aia = "http://pki.contoso.com/issuing.crt"
    root.aia_url = None
    leaf = ica.issue(HOST, not_before=LEAF_NB, not_after=LEAF_NA, aia_urls=[aia])
    served = {aia: ica.certificate.public_bytes(Encoding.DER)}
    r = verify_chain([leaf], roots=[root.certificate], host=HOST, at=AT, fetch=served.get)
    assert r.trusted and r.sources[1] == "aia"
    unreachable = verify_chain([leaf], roots=[root.certificate], host=HOST, at=AT,
                               fetch=lambda url: None)
    assert unreachable.hex == "0x800b010a"


def test_self_signed_server_certificate_deployed_to_root_is_trusted_f5_16():
    solo = Authority.root("da-selfsigned", "CN=da.contoso.com",
                          not_before=LEAF_NB, not_after=LEAF_NA)
    cert = solo.certificate
    assert verify_chain([cert], roots=[cert], host=HOST, at=AT).trusted
    assert verify_chain([cert], roots=[], host=HOST, at=AT).hex == "0x800b0109"


def test_renewed_self_signed_certificate_not_yet_deployed_gives_untrusted_root_f5_16():
    old = Authority.root("da-selfsigned", "CN=da.contoso.com", not_before=LEAF_NB,
                         not_after=LEAF_NA).certificate
    new = Authority.root("da-selfsigned-renewed", "CN=da.contoso.com", not_before=LEAF_NB,
                         not_after=LEAF_NA).certificate
    assert verify_chain([new], roots=[old], host=HOST, at=AT).hex == "0x800b0109"


# --- anchors and best path ---------------------------------------------------------------

def test_intermediate_in_root_store_is_not_an_anchor(contoso):
    r = verify_chain(contoso.presented(), roots=[contoso.issuing.certificate], host=HOST, at=AT)
    assert r.hex == "0x800b0109"


def test_best_path_prefers_the_trusted_root_among_cross_certified_paths():
    old_root = Authority.root("fabrikam-old-root", "CN=Fabrikam Old Root")
    new_root = Authority.root("fabrikam-new-root", "CN=Fabrikam New Root")
    ica = new_root.subordinate("fabrikam-ica", "CN=Fabrikam ICA")
    cross = old_root.cross_sign(ica)                   # the same ICA, issued by the old root
    leaf = ica.issue(HOST, not_before=LEAF_NB, not_after=LEAF_NA)
    presented = [leaf, cross, ica.certificate]
    for trusted in (old_root, new_root):
        r = verify_chain(presented, roots=[trusted.certificate], host=HOST, at=AT)
        assert r.trusted and r.path[-1] == trusted.certificate


def test_best_path_prefers_a_time_valid_intermediate_over_an_expired_twin():
    root = Authority.root("woodgrove-root", "CN=Woodgrove Root")
    ica = root.subordinate("woodgrove-ica", "CN=Woodgrove ICA")
    expired_twin = root.cross_sign(ica, not_before=dt.datetime(2020, 1, 1, tzinfo=UTC),
                                   not_after=dt.datetime(2021, 1, 1, tzinfo=UTC))
    leaf = ica.issue(HOST, not_before=LEAF_NB, not_after=LEAF_NA)
    r = verify_chain([leaf, expired_twin, ica.certificate], roots=[root.certificate],
                     host=HOST, at=AT)
    assert r.trusted and r.path[1] == ica.certificate


def test_best_path_prefers_the_shortest_of_equally_good_chains():
    root = Authority.root("tailspin-root", "CN=Tailspin Root")
    ica = root.subordinate("tailspin-ica", "CN=Tailspin ICA")
    leaf = ica.issue(HOST, not_before=LEAF_NB, not_after=LEAF_NA)
    bridge = Authority.root("tailspin-bridge", "CN=Tailspin Bridge")
    via_bridge = bridge.cross_sign(ica)
    bridge_by_root = root.cross_sign(bridge)
    r = verify_chain([leaf, via_bridge, bridge_by_root, ica.certificate],
                     roots=[root.certificate], host=HOST, at=AT)
    assert r.trusted and len(r.path) == 3


def test_valid_signature_beats_a_same_name_impostor(contoso):
    impostor = Authority.root("impostor", "CN=Contoso Issuing CA").certificate
    r = verify_chain([contoso.leaf, impostor, contoso.issuing.certificate],
                     roots=[contoso.root.certificate], host=HOST, at=AT)
    assert r.trusted


# --- basic constraints, key usage, EKU ------------------------------------------------------

def test_path_length_zero_intermediate_may_issue_only_leaves():
    root = Authority.root("pl-root", "CN=PL Root")
    ica0 = root.subordinate("pl-ica0", "CN=PL ICA0", path_length=0)
    ica1 = ica0.subordinate("pl-ica1", "CN=PL ICA1")
    leaf = ica1.issue(HOST, not_before=LEAF_NB, not_after=LEAF_NA)
    r = verify_chain([leaf, ica1.certificate, ica0.certificate], roots=[root.certificate],
                     host=HOST, at=AT)
    assert r.name == "TRUST_E_BASIC_CONSTRAINTS" and r.element_flags[2] == \
        T.INVALID_BASIC_CONSTRAINTS
    ok = ica0.issue(HOST, not_before=LEAF_NB, not_after=LEAF_NA)
    assert verify_chain([ok, ica0.certificate], roots=[root.certificate], host=HOST,
                        at=AT).trusted


def test_intermediate_eku_without_server_auth_spoils_the_leaf_windows_eku_chaining():
    root = Authority.root("eku-root", "CN=EKU Root")
    ica = root.subordinate("eku-ica", "CN=EKU ICA", eku=["client_auth"])
    leaf = ica.issue(HOST, not_before=LEAF_NB, not_after=LEAF_NA)
    r = verify_chain([leaf, ica.certificate], roots=[root.certificate], host=HOST, at=AT)
    assert r.name == "CERT_E_WRONG_USAGE" and r.element_flags[1] == T.IS_NOT_VALID_FOR_USAGE


def test_leaf_without_eku_is_valid_for_every_usage():
    assert verify_chain(build_contoso(eku=None).presented(),
                        roots=[build_contoso().root.certificate], host=HOST, at=AT).trusted


def test_any_extended_key_usage_is_accepted_for_server_authentication():
    c = build_contoso(eku=["any"])
    assert verify_chain(c.presented(), roots=[c.root.certificate], host=HOST, at=AT).trusted


def test_expired_root_reports_expired(contoso):
    later = dt.datetime(2041, 1, 1, tzinfo=UTC)
    r = verify_chain(contoso.presented(), roots=[contoso.root.certificate], at=later)
    assert r.name == "CERT_E_EXPIRED"


def test_validity_bounds_are_inclusive_to_the_second(contoso):
    na = contoso.leaf.not_valid_after_utc
    roots = [contoso.root.certificate]
    assert verify_chain(contoso.presented(), roots=roots, at=na).trusted
    assert verify_chain(contoso.presented(), roots=roots,
                        at=na + dt.timedelta(seconds=1)).name == "CERT_E_EXPIRED"


# --- server name (SSL policy) ---------------------------------------------------------------

def test_host_matching_is_case_insensitive_and_ignores_a_trailing_dot(contoso):
    roots = [contoso.root.certificate]
    assert verify_chain(contoso.presented(), roots=roots, host="DA.Contoso.COM.", at=AT).trusted


def test_wildcard_matches_exactly_one_left_most_label():
    c = build_contoso(san=["*.contoso.com"])
    roots = [c.root.certificate]
    assert verify_chain(c.presented(), roots=roots, host="da.contoso.com", at=AT).trusted
    assert verify_chain(c.presented(), roots=roots, host="a.b.contoso.com", at=AT).name == \
        "CERT_E_CN_NO_MATCH"
    assert verify_chain(c.presented(), roots=roots, host="contoso.com", at=AT).name == \
        "CERT_E_CN_NO_MATCH"


def test_subject_cn_is_used_when_there_is_no_san_f5_12():
    c = build_contoso(san=[])
    assert verify_chain(c.presented(), roots=[c.root.certificate], host=HOST, at=AT).trusted


def test_cn_is_ignored_when_a_san_exists():
    c = build_contoso(san=["other.contoso.com"])
    r = verify_chain(c.presented(), roots=[c.root.certificate], host=HOST, at=AT)
    assert r.name == "CERT_E_CN_NO_MATCH"


def test_ipv4_address_in_the_subject_matches_an_ip_host_f5_12():
    root = Authority.root("ip-root", "CN=IP Root")
    leaf = root.issue("CN=131.107.0.1", san=[], not_before=LEAF_NB, not_after=LEAF_NA)
    r = verify_chain([leaf], roots=[root.certificate], host="131.107.0.1", at=AT)
    assert r.trusted
    with_san = root.issue("CN=da.contoso.com", san=["131.107.0.1"], not_before=LEAF_NB,
                          not_after=LEAF_NA)
    assert verify_chain([with_san], roots=[root.certificate], host="131.107.0.1",
                        at=AT).trusted


def test_no_host_skips_the_name_check(contoso):
    assert verify_chain(contoso.presented(), roots=[contoso.root.certificate], at=AT).trusted


# --- name constraints -------------------------------------------------------------------

def _constrained_ica(root: Authority, permitted=None, excluded=None) -> Authority:
    nc = x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=excluded)
    ica = root.subordinate("nc-ica", "CN=NC ICA")
    ica.certificate = root._issue_cert(
        ica.certificate.subject, ica.key.public_key(), ica.certificate.not_valid_before_utc,
        ica.certificate.not_valid_after_utc, ca=True, extra=[x509.Extension(nc.oid, True, nc)])
    return ica


def test_name_constraints_permit_names_inside_the_subtree():
    root = Authority.root("nc-root", "CN=NC Root")
    ica = _constrained_ica(root, permitted=[x509.DNSName("contoso.com")])
    leaf = ica.issue(HOST, not_before=LEAF_NB, not_after=LEAF_NA)
    assert verify_chain([leaf, ica.certificate], roots=[root.certificate], host=HOST,
                        at=AT).trusted


def test_name_constraints_exclusion_wins():
    root = Authority.root("nc-root", "CN=NC Root")
    ica = _constrained_ica(root, excluded=[x509.DNSName("da.contoso.com")])
    leaf = ica.issue(HOST, not_before=LEAF_NB, not_after=LEAF_NA)
    r = verify_chain([leaf, ica.certificate], roots=[root.certificate], host=HOST, at=AT)
    assert r.name == "CERT_E_INVALID_NAME"
    assert r.element_flags[1] & T.HAS_EXCLUDED_NAME_CONSTRAINT


def test_wildcard_san_is_excluded_if_it_could_match_an_excluded_name():
    root = Authority.root("nc-root", "CN=NC Root")
    ica = _constrained_ica(root, excluded=[x509.DNSName("secret.contoso.com")])
    leaf = ica.issue(HOST, san=["*.contoso.com"], not_before=LEAF_NB, not_after=LEAF_NA)
    r = verify_chain([leaf, ica.certificate], roots=[root.certificate], host=HOST, at=AT)
    assert r.name == "CERT_E_INVALID_NAME"


# --- implicit CAs ---------------------------------------------------------------------------

def test_root_without_basic_constraints_is_an_implicit_ca():
    from cryptography.hazmat.primitives import hashes

    from sim.pki import private_key

    key = private_key("v1-root")
    name = x509.Name.from_rfc4514_string("CN=Old V1 Root")
    v1 = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
          .public_key(key.public_key()).serial_number(7)
          .not_valid_before(dt.datetime(2010, 1, 1, tzinfo=UTC))
          .not_valid_after(dt.datetime(2035, 1, 1, tzinfo=UTC)).sign(key, hashes.SHA256()))
    old = Authority("v1-root", v1, key)
    leaf = old.issue(HOST, not_before=LEAF_NB, not_after=LEAF_NA)
    assert verify_chain([leaf], roots=[v1], host=HOST, at=AT).trusted
