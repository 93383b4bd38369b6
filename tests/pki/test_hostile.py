"""Hostile input ends quickly with a defined result (chain engine limits, sim.pki.chain)."""

from __future__ import annotations

import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from sim.pki import Authority, private_key, verify_chain
from sim.pki.chain import MAX_PATH_CERTS
from sim.pki.status import TrustStatus as T
from tests.pki.conftest import AT, HOST, LEAF_NA, LEAF_NB

FAST = 2.0  # seconds


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def test_cyclic_cross_certified_cas_give_chaining_with_the_cyclic_bit():
    a = Authority.root("cyc-a", "CN=Cyclic A", key="p256")
    b = Authority.root("cyc-b", "CN=Cyclic B", key="p256")
    a_by_b, b_by_a = b.cross_sign(a), a.cross_sign(b)
    leaf = a.issue(HOST, key="p256", not_before=LEAF_NB, not_after=LEAF_NA)
    unrelated = Authority.root("cyc-unrelated", "CN=Unrelated", key="p256").certificate
    r, took = timed(lambda: verify_chain([leaf, a_by_b, b_by_a], roots=[unrelated], host=HOST,
                                         at=AT))
    assert r.name == "CERT_E_CHAINING" and r.flags & T.IS_CYCLIC and r.flags & T.IS_PARTIAL_CHAIN
    assert took < FAST


def test_cycle_is_escaped_when_a_self_signed_root_is_trusted():
    a = Authority.root("cyc-a", "CN=Cyclic A", key="p256")
    b = Authority.root("cyc-b", "CN=Cyclic B", key="p256")
    leaf = a.issue(HOST, key="p256", not_before=LEAF_NB, not_after=LEAF_NA)
    r = verify_chain([leaf, b.cross_sign(a), a.cross_sign(b)], roots=[b.certificate],
                     host=HOST, at=AT)
    assert r.trusted and r.path[-1] == b.certificate


def test_fifty_deep_chain_is_cut_at_the_path_limit():
    cas = [Authority.root("deep-0", "CN=Deep 0", key="p256")]
    for i in range(1, 51):
        cas.append(cas[-1].subordinate(f"deep-{i}", f"CN=Deep {i}", key="p256"))
    leaf = cas[-1].issue(HOST, key="p256", not_before=LEAF_NB, not_after=LEAF_NA)
    presented = [leaf] + [c.certificate for c in reversed(cas[1:])]
    r, took = timed(lambda: verify_chain(presented, roots=[cas[0].certificate], host=HOST,
                                         at=AT))
    assert r.name == "CERT_E_CHAINING" and len(r.path) == MAX_PATH_CERTS
    assert any("longer than allowed" in n for n in r.notes)
    assert took < FAST


def test_duplicate_certificates_are_harmless(contoso):
    p = contoso.presented()
    presented = [p[0], p[1], p[1], p[2], p[1], p[2]]
    r = verify_chain(presented, roots=[contoso.root.certificate, contoso.root.certificate],
                     intermediates=[p[1], p[1]], host=HOST, at=AT)
    assert r.trusted and len(r.path) == 3


def _self_named_not_self_signed() -> x509.Certificate:
    name = x509.Name.from_rfc4514_string("CN=Mallory")
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(private_key("mallory", "p256").public_key())
            .serial_number(99).not_valid_before(LEAF_NB).not_valid_after(LEAF_NA)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(private_key("someone-else", "p256"), hashes.SHA256()))


def test_certificate_naming_itself_as_issuer_but_not_self_signed_is_no_root():
    mallory = _self_named_not_self_signed()
    r, took = timed(lambda: verify_chain([mallory], roots=[mallory], at=AT))
    assert r.name == "CERT_E_CHAINING" and r.flags & T.IS_CYCLIC
    assert took < FAST


def test_many_same_name_impostors_do_not_slow_the_search(contoso):
    impostors = [Authority.root(f"impostor-{i}", "CN=Contoso Issuing CA", key="p256")
                 .certificate for i in range(60)]
    presented = [contoso.leaf, *impostors, contoso.issuing.certificate]
    r, took = timed(lambda: verify_chain(presented, roots=[contoso.root.certificate],
                                         host=HOST, at=AT))
    assert r.trusted and took < FAST
    r, took = timed(lambda: verify_chain([contoso.leaf, *impostors],
                                         roots=[contoso.root.certificate], host=HOST, at=AT))
    assert r.name == "TRUST_E_CERT_SIGNATURE" and took < FAST


def test_fully_cross_certified_mesh_ends_within_the_search_budget():
    cas = [Authority.root(f"mesh-{i}", f"CN=Mesh {i}", key="p256") for i in range(12)]
    crosses = [x.cross_sign(y) for x in cas for y in cas if x is not y]
    leaf = cas[0].issue(HOST, key="p256", not_before=LEAF_NB, not_after=LEAF_NA)
    unrelated = Authority.root("cyc-unrelated", "CN=Unrelated", key="p256").certificate
    r, took = timed(lambda: verify_chain([leaf, *crosses], roots=[unrelated], host=HOST,
                                         at=AT))
    assert not r.trusted and took < 5.0
