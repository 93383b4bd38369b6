"""CRL checking (sim.pki.revocation): F5.14, F6.3, KB 2980672."""

from __future__ import annotations

import datetime as dt

import pytest

from sim.pki import CertStore, CrlCache, revocation_enforced, verify_chain
from sim.pki.revocation import parse_crl
from sim.pki.status import TrustStatus as T
from tests.pki.conftest import AT, CRL_URL, HOST, ROOT_CRL_URL, build_contoso

UTC = dt.UTC


@pytest.mark.parametrize(("profile", "strong", "enforced"), [
    ("windows7", False, True),
    ("windows7", True, True),
    ("windows8.1", False, False),
    ("windows10", False, False),
    ("windows10-1803", False, False),
    ("windows11", False, False),
    ("windows10", True, True),
])
def test_crl_check_is_always_on_for_windows7_and_needs_strongcrlrequired_later(profile, strong,
                                                                              enforced):
    assert revocation_enforced(profile, strong) is enforced


def test_revocation_is_not_checked_when_the_client_does_not_enforce_it(contoso):
    r = verify_chain(contoso.presented(), roots=[contoso.root.certificate], host=HOST, at=AT,
                     fetch=lambda url: None, check_revocation=False)
    assert r.trusted and not r.revocation_checked


def test_cdp_published_only_inside_fails_outside_and_works_inside(contoso):
    inside_only = {CRL_URL, ROOT_CRL_URL}

    def fetch_from(location):
        def fetch(url):
            if url in inside_only and location == "outside":
                return None
            return contoso.fetch(url)
        return fetch

    roots = [contoso.root.certificate]
    outside = verify_chain(contoso.presented(), roots=roots, host=HOST, at=AT,
                           fetch=fetch_from("outside"), check_revocation=True)
    assert outside.hex == "0x80092013"
    assert any(CRL_URL in n for n in outside.notes)
    inside = verify_chain(contoso.presented(), roots=roots, host=HOST, at=AT,
                          fetch=fetch_from("inside"), check_revocation=True,
                          crl_cache=CrlCache())
    assert inside.trusted


def test_revocation_is_checked_only_for_chains_ending_in_a_trusted_root_f6_3(contoso):
    calls = []
    r = verify_chain(contoso.presented(), roots=[], host=HOST, at=AT,
                     fetch=lambda url: calls.append(url), check_revocation=True)
    assert r.hex == "0x800b0109" and calls == [] and not r.revocation_checked


def test_crls_are_cached_until_their_next_update(contoso):
    calls = []

    def fetch(url):
        calls.append(url)
        return contoso.fetch(url)

    cache = CrlCache()
    roots = [contoso.root.certificate]
    for _ in range(3):
        assert verify_chain(contoso.presented(), roots=roots, host=HOST, at=AT, fetch=fetch,
                            check_revocation=True, crl_cache=cache).trusted
    assert sorted(calls) == sorted([CRL_URL, ROOT_CRL_URL])
    crl = parse_crl(contoso.issuing.crl_der(AT))
    after = crl.next_update_utc + dt.timedelta(hours=1)
    verify_chain(contoso.presented(), roots=roots, host=HOST, at=after, fetch=fetch,
                 check_revocation=True, crl_cache=cache)
    assert calls.count(CRL_URL) == 2


def test_a_stale_crl_counts_as_offline(contoso):
    stale = contoso.issuing.crl_der(AT - dt.timedelta(days=30))

    def fetch(url):
        return stale if url == CRL_URL else contoso.fetch(url)

    r = verify_chain(contoso.presented(), roots=[contoso.root.certificate], host=HOST, at=AT,
                     fetch=fetch, check_revocation=True)
    assert r.hex == "0x80092013" and any("not current" in n for n in r.notes)


def test_a_crl_signed_by_another_key_is_not_used(contoso):
    other = build_contoso(key="p256")  # same names, different keys

    def fetch(url):
        return other.issuing.crl_der(AT) if url == CRL_URL else contoso.fetch(url)

    r = verify_chain(contoso.presented(), roots=[contoso.root.certificate], host=HOST, at=AT,
                     fetch=fetch, check_revocation=True)
    assert r.hex == "0x80092013" and any("signature" in n for n in r.notes)


def test_a_revoked_intermediate_is_revoked_too():
    c = build_contoso()
    c.root.revoke(c.issuing.certificate, dt.datetime(2026, 2, 1, tzinfo=UTC))
    r = verify_chain(c.presented(), roots=[c.root.certificate], host=HOST, at=AT, fetch=c.fetch,
                     check_revocation=True)
    assert r.name == "CERT_E_REVOKED" and r.element_flags[1] == T.IS_REVOKED


def test_revocation_after_the_verification_time_does_not_count():
    c = build_contoso()
    c.issuing.revoke(c.leaf, AT + dt.timedelta(days=1))
    r = verify_chain(c.presented(), roots=[c.root.certificate], host=HOST, at=AT, fetch=c.fetch,
                     check_revocation=True)
    assert r.trusted


def test_a_crl_in_a_store_is_used_without_download(contoso):
    ca = CertStore.of("CA", [], crls=[contoso.issuing.crl(AT), contoso.root.crl(AT)])
    r = verify_chain(contoso.presented(), roots=[contoso.root.certificate], intermediates=ca,
                     host=HOST, at=AT, fetch=lambda url: None, check_revocation=True)
    assert r.trusted


def test_revocation_verdicts_track_reachability_even_when_the_chain_is_cached(contoso):
    roots = [contoso.root.certificate]
    down = verify_chain(contoso.presented(), roots=roots, host=HOST, at=AT,
                        fetch=lambda url: None, check_revocation=True, crl_cache=CrlCache())
    up = verify_chain(contoso.presented(), roots=roots, host=HOST, at=AT, fetch=contoso.fetch,
                      check_revocation=True, crl_cache=CrlCache())
    assert down.hex == "0x80092013" and up.trusted
