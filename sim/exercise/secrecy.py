"""What a student is told of a mistake in their fix: the mistake in their own words, never the
hidden world's file, its events or the names it has that the student cannot see.

A world's own error message names its scenario file (which may say the fault), the events it
was given (the fault's among them) and, for an unknown name, every valid one (the name of the
CA that breaks it, say). A student's fix is checked here first, against the names the student
can see (the title, the ticket, the hints, and what the views show); what is left of a world's
message loses its file and events, and any list of names keeps only the visible ones.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sim.config import suggest
from sim.errors import InputError

if TYPE_CHECKING:
    from sim.exercise.model import Change, Exercise
    from sim.scenario import Scenario

KEYS = {"authority": "authority", "network": "network", "client": "client"}


def visible_text(exercise: Exercise) -> str:
    """Everything the student may read: the title, the ticket, the hints and each view at
    the exercise's times."""
    from sim.exercise.check import broken, run_world
    from sim.exercise.symptoms import symptoms

    run = run_world(exercise, broken(exercise))
    shown = symptoms(run, exercise, list(exercise.student.at), list(exercise.student.views))
    return "\n".join([shown, *exercise.hints])


def _visible(names: set[str], text: str, exercise: Exercise) -> list[str]:
    """The names the student can see: in ``text``, and none of the fault's words."""
    secret = [w.lower() for w in exercise.fault.words]
    return sorted(n for n in names if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text)
                  and not any(w in n.lower() or n.lower() in w for w in secret))


def _names(scenario: Scenario) -> dict[str, set[str]]:
    return {"authority": set(scenario.pki.authorities) | set(scenario.pki.certificates),
            "network": set(scenario.networks), "client": {c.name for c in scenario.clients}}


def _known(scenario: Scenario, key: str, name: str, valid: set[str]) -> bool:
    if key == "client":   # a fleet's member (laptop-00042) too
        return name in valid or any(c.index_of(name) is not None for c in scenario.clients)
    return name in valid


def check_names(exercise: Exercise, scenario: Scenario, fix: Change) -> None:
    """An InputError for an event of ``fix`` naming an authority, network or client the
    broken world has not, saying only the names the student can see."""
    valid = _names(scenario)
    for event in fix.events:
        for key in KEYS:
            name = event.get(key)
            if name is None or _known(scenario, key, str(name), valid[key]):
                continue
            seen = _visible(valid[key], visible_text(exercise), exercise)
            hint = suggest(name, seen) or (f" (the ones you can see: {', '.join(seen)})"
                                           if seen else "")
            raise InputError(f"--try {event['action']} {key}={name}: no {KEYS[key]} "
                             f"{name!r} in this exercise{hint}")


def scrub(exc: InputError, exercise: Exercise, world_file: Any) -> InputError:
    """``exc``, a world's message about a student's fix, without the world's file, the
    events it was given, or names the student cannot see."""
    text = str(exc)
    text = text.removeprefix(f"{world_file}: ")
    text = re.sub(r"--set events=\[.*\]: events\.\d+\.", "event: ", text)
    lists = re.findall(r" \((?:the [\w ]+|expected one of): ([^)]*)\)", text)
    guesses = re.findall(r" \(did you mean '([^']*)'\?\)", text)
    if lists or guesses:
        shown = visible_text(exercise)
        for names in lists:
            seen = _visible({n.strip() for n in names.split(",")}, shown, exercise)
            text = text.replace(names, ", ".join(seen)) if seen else \
                re.sub(r" \((?:the [\w ]+|expected one of): " + re.escape(names) + r"\)",
                       "", text)
        for guess in guesses:
            if not _visible({guess}, shown, exercise):
                text = text.replace(f" (did you mean {guess!r}?)", "")
    return InputError(text)
