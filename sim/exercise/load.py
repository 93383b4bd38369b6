"""Exercise files → a validated :class:`Exercise` and the worlds it runs: the broken one, and
the broken one with a student's fix (and a remedy's kept properties) on top.

Mistakes are reported as a scenario's are (``kb.yaml:12:5: fault.set: ...``, exit status 2):
the exercise is validated with the scenario loader's typed-config machinery, and each change
it makes to its world (``setup``, ``fault``, ``keeps``, the solution's fixes) is tried once
on the world, so a wrong path or name is found when the file loads, at its own line.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import yaml

from sim.errors import ImplausibleValue, InputError
from sim.exercise.model import ALL_VIEWS, BASIC_VIEWS, IPSEC_VIEWS, Change, Exercise
from sim.scenario import Scenario, load_scenario
from sim.scenario.loader import read_text, read_yaml, validate


def load_exercise(path: str | Path) -> Exercise:
    """Read and validate an exercise file, and check every change it makes to its world."""
    text = read_text(path, "exercise file")
    root, data = read_yaml(text, str(path))
    if not isinstance(data, dict) or "exercise" not in data:
        raise InputError(f"{path}:1:1: an exercise file starts with `exercise: NAME` "
                         "(a scenario? run it with dasim run)")
    data.setdefault("base_dir", str(Path(path).resolve().parent))
    exercise: Exercise = validate(Exercise, data, root, str(path))
    _check_changes(exercise, root, str(path))
    exercise = _with_views(exercise, root, str(path))
    _warn_if_unbroken(exercise, root, str(path))
    return exercise


def _with_views(exercise: Exercise, root: yaml.Node | None, source: str) -> Exercise:
    """The student's views made explicit (default: every view the world has), and the goal
    and views that need the IPsec layer refused without it."""
    ipsec = world(exercise, [exercise.setup]).server.ipsec is not None
    if exercise.goal == "directaccess" and not ipsec:
        raise InputError(f"{_place(root, source, 'goal')}: goal: directaccess reads "
                         "Get-DAConnectionStatus, and the world does not model IPsec (give "
                         "it server.ipsec, or use goal: connected)")
    views = exercise.student.views
    if views is None:
        views = list(ALL_VIEWS if ipsec else BASIC_VIEWS)
    for i, name in enumerate(views):
        if name in IPSEC_VIEWS and not ipsec:
            raise InputError(f"{_place(root, source, 'student', 'views', i)}: "
                             f"student.views.{i}: {name} needs the IPsec layer, and the "
                             "world does not model it (give it server.ipsec)")
    return exercise.model_copy(update={"student": exercise.student.model_copy(
        update={"views": views})})


def _warn_if_unbroken(exercise: Exercise, root: yaml.Node | None, source: str) -> None:
    """A fault that leaves the goal met breaks nothing the checker reads: say so (a fault
    above the tunnel with ``goal: connected``, which reads only the tunnel)."""
    from sim.exercise.check import broken, run_world

    outcome = run_world(exercise, broken(exercise)).outcome
    if outcome.works:
        above = (" (goal: connected reads only the tunnel; a fault above it needs goal: "
                 "directaccess)" if outcome.status is not None and exercise.goal ==
                 "connected" else "")
        warnings.warn(ImplausibleValue(
            f"{_place(root, source, 'fault')}: fault: with it, the goal ({exercise.goal}) is "
            f"still met at the end of the run{above}"), stacklevel=2)


def _place(root: yaml.Node | None, source: str, *keys: Any) -> str:
    """``file:line:column`` of the value at ``keys`` (or of its deepest parent)."""
    node = root
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            found = [v for k, v in node.value if k.value == str(key)]
            if not found:
                break
            node = found[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) \
                and key < len(node.value):
            node = node.value[key]
        else:
            break
    if node is None:
        return source
    return f"{source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def world_path(exercise: Exercise) -> Path:
    """The world's scenario file, relative to the exercise file."""
    return Path(exercise.base_dir or ".") / exercise.world


def _check_changes(exercise: Exercise, root: yaml.Node | None, source: str) -> None:
    """Load the world with each change once, naming the change's line on a mistake."""
    if not world_path(exercise).is_file():
        raise InputError(f"{_place(root, source, 'world')}: world: no scenario file "
                         f"{world_path(exercise)}")
    steps: list[tuple[tuple[Any, ...], list[Change]]] = [
        (("setup",), [exercise.setup]), (("fault",), [exercise.setup, exercise.fault])]
    steps += [(("keeps", i), [exercise.setup, exercise.fault, keep])
              for i, keep in enumerate(exercise.keeps)]
    for keys, changes in steps:
        try:
            world(exercise, changes)
        except InputError as exc:
            raise InputError(f"{_place(root, source, *keys)}: {'.'.join(map(str, keys))}: "
                             f"{_without_world(exc, exercise)}") from None
    if exercise.client not in {c.name for c in world(exercise, [exercise.setup]).clients}:
        raise InputError(f"{_place(root, source, 'client')}: client: the world has no "
                         f"client {exercise.client!r}")


def _without_world(exc: InputError, exercise: Exercise) -> str:
    """A world's message without its file's name in front (the exercise's line is given)."""
    text = str(exc)
    prefix = f"{world_path(exercise)}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def world(exercise: Exercise, changes: list[Change]) -> Scenario:
    """The exercise's world with ``changes`` made in order: their values set (a later change
    wins on the same path), their events added after the world's own."""
    path = world_path(exercise)
    sets: dict[str, Any] = {}
    for change in changes:
        sets.update(change.set)
    base = load_scenario(path, sets or None)
    events = [e.model_dump(exclude_none=True) for e in base.events]
    added = [e for change in changes for e in change.events]
    if not added:
        return base
    return load_scenario(path, {**sets, "events": events + added})
