"""An exercise as a notebook (or any script) drives it: the symptoms, hints one at a time,
a fix tried and judged, the solution, and the page — what ``dasim exercise`` and ``dasim
report`` do, as calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sim.exercise.check import Verdict, broken, check, run_world
from sim.exercise.fixes import parse_try
from sim.exercise.load import load_exercise
from sim.exercise.model import Change, Exercise
from sim.exercise.symptoms import symptoms


def solution_text(ex: Exercise) -> str:
    """The trainer's solution: the cause, the source, and each fix with what it does."""
    s = ex.solution
    lines = [f"Exercise {ex.exercise}: {ex.title}", f"Source: {ex.source}", "",
             f"Cause: {ex.fault.cause.strip()}", ""]
    for kind, fix in (("Remedy", s.remedy), ("Workaround", s.workaround),
                      ("Wrong", s.wrong)):
        if fix is None:
            continue
        args = ([f"--try '{fix.try_}'"] if fix.try_ else []) + \
               [f"--set {k}={json.dumps(v)}" for k, v in fix.set.items()]
        lines += [f"{kind}: {' '.join(args)}", f"  {fix.says.strip()}", ""]
    if s.workaround is None:
        lines += ["Workaround: none known that works where the user is.", ""]
    return "\n".join(lines)


class Session:
    """One exercise file, loaded and checked; its world runs when asked."""

    def __init__(self, path: str | Path) -> None:
        self.exercise = load_exercise(path)

    @property
    def title(self) -> str:
        return self.exercise.title

    @property
    def ticket(self) -> str:
        return self.exercise.ticket.strip()

    def hint(self, n: int) -> str:
        """Hint number ``n`` (from 1)."""
        return self.exercise.hints[n - 1]

    def symptoms(self, at: list[float] | None = None, views: list[str] | None = None) -> str:
        """What the student sees (``dasim exercise FILE``): never the cause."""
        run = run_world(self.exercise, broken(self.exercise))
        return symptoms(run, self.exercise, at or list(self.exercise.student.at),
                        views or list(self.exercise.student.views))

    def result(self) -> dict[str, Any]:
        """The broken world's result (its JSON), for figures; named neutrally."""
        run = run_world(self.exercise, broken(self.exercise))
        return dict(run.view.result.as_dict(), scenario="the user's laptop")

    def attempt(self, events: str | None = None, values: dict[str, Any] | None = None,
                ) -> Verdict:
        """The checker's verdict on a fix: ``events`` as ``--try`` takes them, ``values``
        as ``--set`` paths → values."""
        ex = self.exercise
        tried = parse_try(events, ex.client, ex.fix_at) if events else []
        return check(ex, Change(set=dict(values or {}), events=tried))

    def solution(self) -> str:
        return solution_text(self.exercise)

    def page(self, trainer: bool = False) -> str:
        """The exercise's HTML page (``dasim report``), the student's or the trainer's."""
        from sim.exercise.page import exercise_page
        from sim.report.page import render

        return render(exercise_page(self.exercise, trainer, lambda d: list(
            self.exercise.student.at)))
