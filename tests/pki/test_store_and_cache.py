"""Windows-like stores (sim.pki.store) and the verdict cache (sim.pki.chain)."""

from __future__ import annotations

import datetime as dt

from sim.pki import CertStore, MachineStores, cache_stats, verify_chain
from tests.pki.conftest import AT, HOST, build_contoso

UTC = dt.UTC


def test_add_and_remove_bump_the_version_and_record_when(contoso):
    root = CertStore("Root")
    assert root.title == "Trusted Root Certification Authorities"
    assert root.add(contoso.root.certificate, at=120.0)
    assert not root.add(contoso.root.certificate, at=130.0)    # already there: no change
    assert root.version == 1 and contoso.root.certificate in root and len(root) == 1
    assert root.remove(contoso.root.certificate, at=200.0)
    assert not root.remove(contoso.root.certificate)
    assert root.version == 2
    assert [(h.at, h.action) for h in root.history] == [(120.0, "add"), (200.0, "remove")]


def test_stores_made_alike_share_contents_until_one_changes(contoso):
    """A fleet's laptops start from one store; an import on one changes that one only."""
    template = CertStore.of("Root", [contoso.root.certificate])
    a, b = template.like(), template.like()
    assert a.token == b.token == template.token and a.version == b.version == 0
    assert a.add(contoso.issuing.certificate, at=5.0)
    assert contoso.issuing.certificate in a
    assert contoso.issuing.certificate not in b and contoso.issuing.certificate not in template
    assert b.remove(contoso.root.certificate, at=6.0)
    assert contoso.root.certificate in template and contoso.root.certificate in a
    assert len(template) == 1 and len(a) == 2 and len(b) == 0
    assert [h.action for h in a.history] == ["add"] and template.history == []


def test_store_token_is_hashable_and_changes_with_the_contents(contoso):
    store = CertStore("Root")
    before = store.token
    store.add(contoso.root.certificate)
    assert before != store.token and hash(store.token) is not None
    store.remove(contoso.root.certificate)
    assert store.token == before


def test_identical_stores_of_a_fleet_share_cached_verdicts(contoso):
    fleet = [MachineStores() for _ in range(200)]
    for machine in fleet:
        machine.root.add(contoso.root.certificate, at=0.0)
    assert all(m.verify(contoso.presented(), host=HOST, at=AT).trusted for m in fleet)
    assert cache_stats()["misses"] == 1


def test_gpo_deployment_of_the_root_turns_0x800b0109_into_trusted_kb2980667(contoso):
    machine = MachineStores()
    assert machine.verify(contoso.presented(), host=HOST, at=AT).hex == "0x800b0109"
    machine.root.add(contoso.root.certificate, at=120.0)   # Group Policy reached the client
    assert machine.verify(contoso.presented(), host=HOST, at=AT).trusted


def test_machine_stores_by_windows_name(contoso):
    machine = MachineStores()
    assert machine.store("root") is machine.root and machine.store("CA") is machine.ca
    assert machine.store("My").title == "Personal"
    assert machine.store("Disallowed").title == "Untrusted Certificates"


def test_repeated_verification_is_served_from_the_cache(contoso):
    roots = CertStore.of("Root", [contoso.root.certificate])
    first = verify_chain(contoso.presented(), roots=roots, host=HOST, at=AT)
    for minutes in range(1, 50):
        again = verify_chain(contoso.presented(), roots=roots, host=HOST,
                             at=AT + dt.timedelta(minutes=minutes))
        assert again.trusted
    assert first.trusted
    stats = cache_stats()
    assert stats["misses"] == 1 and stats["hits"] == 49


def test_cache_is_invalidated_by_a_store_change(contoso):
    roots = CertStore("Root")
    assert verify_chain(contoso.presented(), roots=roots, host=HOST, at=AT).hex == "0x800b0109"
    roots.add(contoso.root.certificate)
    assert verify_chain(contoso.presented(), roots=roots, host=HOST, at=AT).trusted
    roots.remove(contoso.root.certificate)
    assert verify_chain(contoso.presented(), roots=roots, host=HOST, at=AT).hex == "0x800b0109"


def test_cache_never_serves_a_verdict_across_an_expiry():
    c = build_contoso(not_after=AT + dt.timedelta(minutes=10))
    roots = CertStore.of("Root", [c.root.certificate])
    assert verify_chain(c.presented(), roots=roots, host=HOST, at=AT).trusted
    later = verify_chain(c.presented(), roots=roots, host=HOST, at=AT + dt.timedelta(minutes=11))
    assert later.name == "CERT_E_EXPIRED"


def test_cache_keys_on_host(contoso):
    roots = CertStore.of("Root", [contoso.root.certificate])
    assert verify_chain(contoso.presented(), roots=roots, host=HOST, at=AT).trusted
    assert verify_chain(contoso.presented(), roots=roots, host="x.contoso.com",
                        at=AT).name == "CERT_E_CN_NO_MATCH"


def test_cached_result_reports_the_time_asked_for(contoso):
    roots = CertStore.of("Root", [contoso.root.certificate])
    verify_chain(contoso.presented(), roots=roots, at=AT)
    later = AT + dt.timedelta(minutes=5)
    assert verify_chain(contoso.presented(), roots=roots, at=later).at == later


def test_chain_result_is_immutable(contoso):
    import dataclasses

    import pytest

    r = verify_chain(contoso.presented(), roots=[contoso.root.certificate], at=AT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.hresult = 1  # type: ignore[misc]
