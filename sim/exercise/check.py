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

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from sim.config import parse_duration
from sim.directaccess.ipsec.session import CONNECTED
from sim.errors import InputError
from sim.exercise.load import world, world_path
from sim.exercise.model import Change, Exercise
from sim.exercise.secrecy import check_names, scrub
from sim.fleet.prepare import prepare
from sim.scenario.model import EventSpec
from sim.scenario.references import missing_device
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
    status: str | None = None       # Get-DAConnectionStatus at the end (IPsec modelled)
    first: float | None = None      # when it first worked (before an interruption, if any)
    ike_error: int | None = None    # the IPsec layer's last IKE error code, if any

    def symptom(self, goal: str) -> str:
        """What still fails, in the words netsh and the user's view use."""
        if self.since is not None and not self.works:
            return f"it comes up, but only at t={self.since:.1f} s"
        if goal == "directaccess" and self.method is not None and self.location != "inside":
            error = f", IKE error {self.ike_error}" if self.ike_error else ""
            return (f"{self.method} is up, but DirectAccess is not connected above it "
                    f"(Get-DAConnectionStatus: {self.status}{error})")
        if goal == "inside" and self.method is not None:
            return (f"the laptop believes it is outside, and DirectAccess is up over "
                    f"{self.method} from {self.network}")
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


class Sample(NamedTuple):
    """The laptop at one instant: its method, location and network, and (with IPsec
    modelled) what Get-DAConnectionStatus says (None without IPsec)."""

    t: float
    method: str | None
    location: str | None
    network: str
    status: str | None


def _works(exercise: Exercise, method: str | None, location: str | None,
           status: str | None = None) -> bool:
    """The goal: ``inside`` found its NLS; ``connected`` a tunnel or inside;
    ``directaccess`` inside, or DirectAccess ConnectedRemotely above the tunnel."""
    if exercise.goal == "inside":
        return location == "inside"
    if exercise.goal == "directaccess":
        return location == "inside" or status == CONNECTED
    return method is not None or location == "inside"


@dataclass(frozen=True)
class Run:
    """One run of an exercise's world: the checker's outcome, the run's view, the capture
    (if asked for) and the laptop's method and location sampled every ``SAMPLE_STEP``."""

    outcome: Outcome
    view: RunView
    records: Any
    states: list[Sample]
    crossings: list | None = None   # what the laptop's path's taps saw (with ``trace``)

    def state_at(self, t: float) -> Sample:
        """The laptop at simulated time ``t`` (the last sample at or before it)."""
        i = bisect_right([s.t for s in self.states], t + 1e-9)
        return self.states[i - 1] if i else self.states[0]


def run_world(exercise: Exercise, changes: list[Change], trace: bool = False,
              point: str | None = None, start: float = 0.0) -> Run:
    """Run the world with ``changes`` (and a capture at ``point``, if given); with the
    exercise's ``within``, DirectAccess works only if it did by ``start`` + ``within``."""
    run = prepare(world(exercise, changes), exercise.client, trace=trace)
    records = run.capture(point) if point else None
    crossings = run.tap_path(exercise.client) if trace else None
    states: list[Sample] = []

    def sample(now: float) -> None:
        laptop = next(c for c in run.client_views() if c.name == exercise.client)
        status = laptop.ipsec.status if laptop.ipsec is not None else None
        states.append(Sample(now, laptop.method, laptop.location, laptop.network, status))

    run.every(SAMPLE_STEP, sample)
    result = run.run()
    view = run.view()
    laptop = view.client(exercise.client)
    mine = next(c for c in result.clients if c.name == exercise.client)
    status = laptop.ipsec.status if laptop.ipsec is not None else None
    works = _works(exercise, laptop.method, laptop.location, status)
    ok = [_works(exercise, s.method, s.location, s.status) for s in states]
    since = _since_when(ok, [s.t for s in states]) if works else None
    first = next((s.t for s, good in zip(states, ok, strict=True) if good), None)
    late = works and exercise.within is not None and since > start + exercise.within
    works = works and not late
    outcome = Outcome(works, since, laptop.network, laptop.method, laptop.location,
                      mine.last_error, mine.attempt_values, view.duration, status=status,
                      ike_error=laptop.ipsec.error if laptop.ipsec is not None else None,
                      first=first)
    return Run(outcome, view, records, states, crossings)


def _since_when(ok: list[bool], times: list[float]) -> float:
    """When the last unbroken stretch of ``ok`` samples began. A lone failed sample between
    two good ones is a handover caught in its instant (IP-HTTPS stepping aside as Teredo
    qualifies), not a break."""
    since: float | None = 0.0
    for i, good in enumerate(ok):
        lone = not good and 0 < i < len(ok) - 1 and ok[i - 1] and ok[i + 1]
        if not good and not lone:
            since = None
        elif good and since is None:
            since = times[i]
    return since if since is not None else times[-1]


def broken(exercise: Exercise) -> list[Change]:
    """The changes that make the exercise's broken world."""
    return [exercise.setup, exercise.fault]


def check(exercise: Exercise, fix: Change) -> Verdict:
    """The verdict on ``fix`` made to the broken world; a mistake in the fix is an input
    error that names neither the world's file nor names the student cannot see."""
    try:
        return _check(exercise, fix)
    except InputError as exc:
        raise scrub(exc, exercise, world_path(exercise)) from None


def _check(exercise: Exercise, fix: Change) -> Verdict:
    cannot = _cannot(exercise, fix)
    before = run_world(exercise, broken(exercise)).outcome
    if cannot:
        return Verdict("wrong", False, None, f"DirectAccess still does not work: your fix "
                       f"cannot be done here: {cannot}.", before)
    start = min((float(parse_duration(e["at"])) for e in fix.events), default=0.0)
    after = run_world(exercise, [*broken(exercise), fix], start=start).outcome
    if not after.works:
        if (after.attempts, after.network, after.status, after.ike_error) == \
                (before.attempts, before.network, before.status, before.ike_error):
            why = ("the run is the same as without your fix: it changed nothing the "
                   "connection depends on")
        else:
            why = after.symptom(exercise.goal)
        return Verdict("wrong", False, None, f"DirectAccess still does not work: {why}.",
                       after)
    since = _since(after)
    if after.network != before.network:
        return Verdict("workaround", True, after.since,
                       f"DirectAccess works {since}, but on {after.network}: the user is on "
                       f"{before.network}, where it still fails.", after)
    for keep in exercise.keeps:
        kept = run_world(exercise, [*broken(exercise), fix, keep], start=start).outcome
        if not kept.works:
            return Verdict("workaround", True, after.since,
                           f"DirectAccess works {since}, but {keep.why}: then "
                           f"{kept.symptom(exercise.goal)}.", after)
    return Verdict("remedy", True, after.since,
                   f"DirectAccess works {since}, over {after.method or 'the office LAN'}, "
                   "and keeps working with everything the documented remedy keeps.", after)


def _cannot(exercise: Exercise, fix: Change) -> str | None:
    """Why the fix cannot be done in the broken world (with its own values set), e.g. a
    portal login on a network that has no portal; or an input error for an event after the
    run's end, as netsh's ``--at`` past the end."""
    scenario = world(exercise, [*broken(exercise), Change(set=fix.set)])
    check_names(exercise, scenario, fix)
    for event in fix.events:
        at = float(parse_duration(event["at"]))
        if at > scenario.duration:
            said = event["at"] if isinstance(event["at"], str) else f"{at:g}s"
            raise InputError(f"--try {event['action']} @{said}: after the run's end "
                             f"({_clock(scenario.duration)}); a fix happens while it runs")
        why = missing_device(scenario, EventSpec.model_validate(event))
        if why:
            return why
    return None


def _clock(t: float) -> str:
    minutes, seconds = divmod(round(t, 1), 60)
    return f"{minutes:g} min" + (f" {seconds:g} s" if seconds else "") if minutes \
        else f"{seconds:g} s"


def _since(outcome: Outcome) -> str:
    """From when it works; when it worked earlier and something (a restart of the fix's
    own) interrupted it, both times."""
    since = "from the start" if not outcome.since else f"from t={outcome.since:.1f} s"
    first = outcome.first
    if first is not None and outcome.since and first < outcome.since - SAMPLE_STEP / 2:
        return (f"from t={first:.1f} s, then, after an interruption, again {since}")
    return since
