"""A student's fix as the checker takes it: ``--try`` text → scenario events, ``--set`` text
→ scenario values, together one :class:`Change` of the broken world.

``--try`` is what a helpdesk does, in the words of the scenario's event actions: ``import_root
contoso-root``, ``roam phone``, ``nls_up``, several joined by ``;``
(``import_root contoso-root; restart_ip_helper @11m``). A bare word fills the action's
missing key (its authority or network); ``key=value`` gives any event key; ``@T`` the time
(default: the exercise's ``fix_at``). A YAML mapping (``{action: nls_up, at: 2m}``) is taken
as the event itself. Each event is checked as the scenario checks its own.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from sim.config import suggest
from sim.errors import InputError
from sim.exercise.model import Change, Fix
from sim.fleet.sweep import parse_set
from sim.scenario.events import ACTIONS
from sim.scenario.model import EventSpec

# events of one fix without their own @T happen in the order given, this far apart: a
# helpdesk's steps take time, and in one instant a restart before an import would still see
# the root (its handshake ends after the import) — an assumption (docs/model.md, IFX1)
FIX_STEP = 1.0


def parse_try(text: str, client: str, at: float) -> list[dict[str, Any]]:
    """The events of one ``--try`` text: each acts on ``client`` unless it names another, at
    ``at`` unless it says ``@T``; the ones without ``@T`` in order, ``FIX_STEP`` apart."""
    events = []
    untimed = 0
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        event = _mapping(part) if part.startswith("{") else _words(part)
        if "at" not in event:
            event["at"] = at + untimed * FIX_STEP
            untimed += 1
        act = ACTIONS.get(event.get("action", ""))
        if act is None:
            raise InputError(f"--try {part!r}: no action {event.get('action')!r}"
                             f"{suggest(event.get('action'), ACTIONS)}; actions: "
                             + ", ".join(sorted(ACTIONS)))
        if "client" in act.needs:
            event.setdefault("client", client)
        try:
            EventSpec.model_validate(event)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"]) or "event"
            raise InputError(f"--try {part!r}: {key}: "
                             f"{err['msg'].removeprefix('Value error, ')}") from None
        events.append(event)
    if not events:
        raise InputError(f"--try {text!r}: no event (e.g. --try 'import_root contoso-root')")
    return events


def _mapping(part: str) -> dict[str, Any]:
    try:
        event = yaml.safe_load(part)
    except yaml.YAMLError as exc:
        raise InputError(f"--try {part!r}: not a YAML mapping: {exc}") from None
    if not isinstance(event, dict):
        raise InputError(f"--try {part!r}: an event in braces is a mapping {{action: ...}}")
    return event


def _words(part: str) -> dict[str, Any]:
    """``import_root contoso-root @10m`` → {action, authority, at}."""
    words = part.split()
    event: dict[str, Any] = {"action": words[0]}
    act = ACTIONS.get(words[0])
    if act is None:
        raise InputError(f"--try {part!r}: no action {words[0]!r}{suggest(words[0], ACTIONS)};"
                         " actions: " + ", ".join(sorted(ACTIONS)))
    free = [k for k in act.needs if k != "client"]
    for word in words[1:]:
        if word.startswith("@"):
            event["at"] = word[1:]
        elif "=" in word:
            key, _, value = word.partition("=")
            event[key] = yaml.safe_load(value) if value else value
        elif free:
            event[free.pop(0)] = word
        else:
            raise InputError(f"--try {part!r}: {word!r}: {words[0]} takes no other word "
                             "(give key=value)")
    return event


def student_change(tries: tuple[str, ...], sets: tuple[str, ...], client: str,
                   at: float) -> Change:
    """The student's ``--try`` and ``--set`` options as one change of the world."""
    values: dict[str, Any] = {}
    for option in sets:
        path, parsed = parse_set(option)
        if len(parsed) != 1:
            raise InputError(f"--set {option}: one value (write a list in brackets: [a, b])")
        values[path] = parsed[0]
    events = parse_try("; ".join(tries), client, at) if tries else []
    return Change(set=values, events=events)


def describe(tries: tuple[str, ...], sets: tuple[str, ...]) -> str:
    """The fix as the student gave it, for the verdict's first line."""
    said = [f"--try {t!r}" for t in tries] + [f"--set {s}" for s in sets]
    return " ".join(said) if said else "(nothing)"


def fix_change(fix: Fix, client: str, at: float) -> Change:
    """A fix of the trainer's solution as the change a student would make with it."""
    events = parse_try(fix.try_, client, at) if fix.try_ else []
    return Change(set=dict(fix.set), events=events)
