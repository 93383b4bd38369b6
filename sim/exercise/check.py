"""Whether a fix works, read from simulations and never from the fix's words.

The checker runs the broken world, the broken world with the student's change, and, when
that works, the same again with each property the documented remedy keeps (``keeps``: the
setting put back, a certificate renewed, another network of the same kind). The verdict:

- **wrong**: DirectAccess still does not work at the end of the run (with what still fails,
  or that the run did not change at all);
- **workaround**: it works, but only after the laptop left the network the user is on, or a
  kept property breaks it again (the exercise's ``why``);
- **remedy**: it works where the user is, and keeps working with every kept property.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sim.exercise.load import world
from sim.exercise.model import Change, Exercise
from sim.fleet.prepare import prepare
from sim.scenario.view import RunView

# how often the checker samples whether DirectAccess works (its "from when" is this exact)
SAMPLE_STEP = 0.1


@dataclass(frozen=True)
class Outcome:
    """One run as the checker reads it: whether the goal holds at the end and since when,
    where the laptop is, and what it shows."""

    works: bool
    since: float | None
    network: str
    method: str | None
    location: str | None
    last_error: str | None
    attempts: tuple
    duration: float

    def symptom(self) -> str:
        """What still fails, in the words netsh and the user's view use."""
        if self.location == "inside" and self.method is None:
            return "the laptop is inside and reaches no tunnel"
        where = "it believes it is outside" if self.location == "outside" else \
            "it does not know where it is"
        error = f", last error {self.last_error}" if self.last_error else ""
        return f"no DirectAccess tunnel at the end of the run ({where}{error})"


@dataclass(frozen=True)
class Verdict:
    """The checker's answer: remedy, workaround or wrong, whether and from when DirectAccess
    works, and why."""

    kind: Literal["remedy", "workaround", "wrong"]
    works: bool
    since: float | None
    reason: str
    outcome: Outcome

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.kind, "works": self.works, "since_s": self.since,
                "network": self.outcome.network, "method": self.outcome.method,
                "last_error": self.outcome.last_error, "reason": self.reason}


def _works(exercise: Exercise, method: str | None, location: str | None) -> bool:
    if exercise.goal == "inside":
        return location == "inside"
    return method is not None or location == "inside"


def run_world(exercise: Exercise, changes: list[Change], trace: bool = False,
              point: str | None = None) -> tuple[Outcome, RunView, Any]:
    """Run the world with ``changes``: the checker's outcome, the run's view, and the
    capture at ``point`` (None: no capture)."""
    run = prepare(world(exercise, changes), exercise.client, trace=trace)
    records = run.capture(point) if point else None
    samples: list[tuple[float, bool]] = []

    def sample(now: float) -> None:
        laptop = next(c for c in run.client_views() if c.name == exercise.client)
        samples.append((now, _works(exercise, laptop.method, laptop.location)))

    run.every(SAMPLE_STEP, sample)
    result = run.run()
    view = run.view()
    laptop = view.client(exercise.client)
    mine = next(c for c in result.clients if c.name == exercise.client)
    works = _works(exercise, laptop.method, laptop.location)
    since = None
    if works:
        since = 0.0
        for t, ok in samples:
            if not ok:
                since = None
            elif since is None:
                since = t
    outcome = Outcome(works, since, laptop.network, laptop.method, laptop.location,
                      mine.last_error, mine.attempt_values, view.duration)
    return outcome, view, records


def broken(exercise: Exercise) -> list[Change]:
    """The changes that make the exercise's broken world."""
    return [exercise.setup, exercise.fault]


def check(exercise: Exercise, fix: Change) -> Verdict:
    """The verdict on ``fix`` made to the broken world."""
    before, _, _ = run_world(exercise, broken(exercise))
    start = before.network
    after, _, _ = run_world(exercise, [*broken(exercise), fix])
    if not after.works:
        if after.attempts == before.attempts and after.network == before.network:
            why = ("the run is the same as without your fix: it changed nothing the "
                   "connection depends on")
        else:
            why = after.symptom()
        return Verdict("wrong", False, None, f"DirectAccess still does not work: {why}.",
                       after)
    since = _since(after)
    if after.network != start:
        return Verdict("workaround", True, after.since,
                       f"DirectAccess works {since}, but on {after.network}: the user is on "
                       f"{start}, where it still fails.", after)
    for keep in exercise.keeps:
        kept, _, _ = run_world(exercise, [*broken(exercise), fix, keep])
        if not kept.works:
            return Verdict("workaround", True, after.since,
                           f"DirectAccess works {since}, but {keep.why}: then "
                           f"{kept.symptom()}.", after)
    return Verdict("remedy", True, after.since,
                   f"DirectAccess works {since}, over {after.method or 'the office LAN'}, "
                   "and keeps working with everything the documented remedy keeps.", after)


def _since(outcome: Outcome) -> str:
    return "from the start" if not outcome.since else f"from t={outcome.since:.1f} s"
