"""Any validity dates a spec writes build a hierarchy, or one PkiInputError (issue 18 item 5):
never an error from the certificate builder or the chain engine (sim.pki.hierarchy)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.pki import Hierarchy, PkiInputError, verify_chain

UTC = dt.UTC
START = dt.datetime(2026, 6, 1, 9, tzinfo=UTC)

dates = st.one_of(
    st.none(),
    st.dates(dt.date(1940, 1, 1), dt.date(9999, 12, 31)),
    st.sampled_from([dt.date(1950, 1, 1), dt.date(1950, 1, 2), dt.date(2026, 1, 15),
                     dt.date(2026, 6, 1), dt.date(9999, 12, 31),
                     dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)]))


def validity(draw_nb, draw_na) -> dict:
    return {k: v for k, v in (("not_before", draw_nb), ("not_after", draw_na)) if v is not None}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_dates_build_a_hierarchy_or_give_one_pki_input_error(data):
    spec = {
        "authorities": {
            "root": {"key": "p256", **validity(data.draw(dates), data.draw(dates))},
            "issuing": {"key": "p256", "issuer": "root",
                        **validity(data.draw(dates), data.draw(dates))},
        },
        "certificates": {"web": {"issuer": "issuing", "subject": "da.contoso.com",
                                 "key": "p256",
                                 **validity(data.draw(dates), data.draw(dates))}},
    }
    start = data.draw(st.sampled_from([START, dt.datetime(1950, 6, 1, tzinfo=UTC),
                                       dt.datetime(9999, 6, 1, tzinfo=UTC)]))
    try:
        h = Hierarchy.from_spec(spec, start, cache=False)
    except PkiInputError as exc:
        assert "\n" not in str(exc) and str(exc).startswith("pki.")
        return
    for cert in h.chain("web"):
        assert cert.not_valid_before_utc < cert.not_valid_after_utc
    r = verify_chain(h.chain("web"), roots=[h.root_of("web")], host="da.contoso.com", at=start)
    assert r.hex in ("0x0", "0x800b0101")


def test_a_not_after_before_the_given_not_before_is_refused_at_not_after():
    spec = {"authorities": {"r": {"not_before": "2026-05-01", "not_after": "2026-04-01"}}}
    with pytest.raises(PkiInputError, match=r"^pki\.authorities\.r\.not_after: 2026-04-01 is "
                                            r"not after not_before \(2026-05-01\)"):
        Hierarchy.from_spec(spec, START)


def test_an_early_not_after_moves_the_default_not_before_a_lifetime_back():
    spec = {"authorities": {"r": {"not_after": "2020-01-01"}},
            "certificates": {"web": {"issuer": "r", "subject": "h.example.com",
                                     "not_after": "2021-03-01"}}}
    h = Hierarchy.from_spec(spec, START, cache=False)
    root, leaf = h.authority("r").certificate, h.certificate("web")
    assert root.not_valid_before_utc == dt.datetime(2020, 1, 1, tzinfo=UTC) - dt.timedelta(
        days=3653)   # a CA's lifetime
    assert leaf.not_valid_before_utc == dt.datetime(2020, 3, 1, tzinfo=UTC)
    r = verify_chain(h.chain("web"), roots=[root], host="h.example.com", at=START)
    assert r.hex == "0x800b0101"
