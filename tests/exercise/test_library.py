"""Every exercise of the library, checked as the issue asks: the world works without the
fault and not with it; the symptom view gives no cause away; the documented remedy is
accepted, the workaround called one and the wrong fix refused with a reason, each verdict
coming from re-running the simulation."""

import re
from pathlib import Path

import pytest

from sim.exercise.check import broken, check, run_world
from sim.exercise.fixes import fix_change
from sim.exercise.load import load_exercise
from sim.exercise.symptoms import symptoms
from sim.pki import hresult
from sim.report.narrative import remedy_for
from sim.report.stories import explain

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "exercises").glob("*.yaml"))
IDS = [f.stem for f in FILES]


@pytest.fixture(scope="module", params=FILES, ids=IDS)
def exercise(request):
    return load_exercise(request.param)


def test_the_library_has_twelve_exercises_with_a_workaround():
    assert len(FILES) >= 12
    assert sum(load_exercise(f).solution.workaround is not None for f in FILES) >= 12


def test_each_exercise_names_its_source(exercise):
    assert re.search(r"KB ?\d{7}|domain-facts|RFC \d+|Hicks", exercise.source)


def test_the_world_works_without_the_fault_and_not_with_it(exercise):
    assert run_world(exercise, [exercise.setup]).outcome.works
    assert not run_world(exercise, broken(exercise)).outcome.works


def _explain_only(exercise) -> list[str]:
    """What only ``dasim explain`` prints of the broken run: the remedies, the symbolic
    names of the error codes, and the IP-HTTPS failures' reasons (the chain engine's and
    the TLS layer's words; netsh shows only the code)."""
    run = run_world(exercise, broken(exercise), trace=True)
    result = run.view.result_of(exercise.client).as_dict()
    told = explain(run.view, exercise.client)
    secrets = [line.split("remedy: ", 1)[1] for line in told.splitlines() if "remedy: " in line]
    for attempt in result["attempts"]:
        remedy = remedy_for(attempt)
        if remedy:
            secrets.append(remedy)
        code = hresult.CATALOGUE.get(int(attempt.get("error") or "0x0", 16))
        if code is not None and code.name != "S_OK":
            secrets += [code.name, code.message]
        if attempt["method"] == "iphttps" and attempt["result"] == "failed":
            secrets.append(attempt["reason"])
    return secrets


def test_the_symptom_view_gives_no_cause_away(exercise):
    run = run_world(exercise, broken(exercise))
    times = sorted({*exercise.student.at, 0.0, run.view.duration})
    seen = symptoms(run, exercise, times, list(exercise.student.views))
    lowered = seen.lower()
    for word in exercise.fault.words:
        assert word.lower() not in lowered, f"the fault's word {word!r} is shown"
    for secret in _explain_only(exercise):
        assert secret not in seen, f"explain's {secret[:60]!r} is shown"
    for text in (exercise.fault.cause, exercise.source, exercise.exercise):
        assert text not in seen
    assert "Workplace connection" in seen   # the user's view is there


def test_the_documented_remedy_is_accepted(exercise):
    verdict = check(exercise, fix_change(exercise.solution.remedy, exercise.client,
                                         exercise.fix_at))
    assert (verdict.kind, verdict.works) == ("remedy", True), verdict.reason
    assert verdict.since is not None and "works from" in verdict.reason


def test_the_workaround_is_called_one(exercise):
    if exercise.solution.workaround is None:
        pytest.skip(f"{exercise.exercise}: no workaround works where the user is")
    verdict = check(exercise, fix_change(exercise.solution.workaround, exercise.client,
                                         exercise.fix_at))
    assert (verdict.kind, verdict.works) == ("workaround", True), verdict.reason
    assert ", but " in verdict.reason   # and says what it does not fix


def test_the_wrong_fix_is_refused_with_a_reason(exercise):
    verdict = check(exercise, fix_change(exercise.solution.wrong, exercise.client,
                                         exercise.fix_at))
    assert (verdict.kind, verdict.works) == ("wrong", False)
    assert verdict.reason.startswith("DirectAccess still does not work: ")
    assert len(verdict.reason) > len("DirectAccess still does not work: ") + 20


def test_hints_cite_public_sources_not_the_fact_sheet(exercise):
    assert not [h for h in exercise.hints if ".md" in h]   # students have no fact sheet
