"""``dasim exercise``: a break/fix exercise — the symptoms for the student, a checker for
their fix, hints in steps, and the solution for the trainer."""

from __future__ import annotations

import json
from pathlib import Path

import click

from sim.cli.common import INPUT_ERRORS, atomic_write, check_writable
from sim.errors import InputError
from sim.scenario import parse_duration

LIBRARY = "exercises"


@click.command()
@click.argument("exercise_file", metavar="FILE", required=False,
                type=click.Path(dir_okay=False, path_type=str))
@click.option("--list", "list_folder", is_flag=False, flag_value=LIBRARY, default=None,
              metavar="[FOLDER]", help="List the exercise library (default folder: exercises).")
@click.option("--at", "times", multiple=True, metavar="T",
              help="Show the views at this simulated time (repeatable; 30s, 5m).")
@click.option("--view", "views", multiple=True, metavar="NAME",
              help="Show only this view ('netsh interface teredo show state', 'user', ...).")
@click.option("--pcap", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Write the capture the exercise allows to this pcap file.")
@click.option("--hint", type=click.IntRange(min=1), default=None, metavar="N",
              help="Show the first N hints.")
@click.option("--try", "tries", multiple=True, metavar="EVENTS",
              help="Try a fix: events ('import_root contoso-root; restart_ip_helper').")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
              help="Try a fix: change a value of the world (repeatable).")
@click.option("--solution", is_flag=True, help="The trainer's solution (gives the cause away).")
@click.option("--json", "as_json", is_flag=True, help="With --try/--set: the verdict as JSON.")
def exercise(exercise_file: str | None, list_folder: str | None, times: tuple[str, ...],
             views: tuple[str, ...], pcap: str | None, hint: int | None,
             tries: tuple[str, ...], sets: tuple[str, ...], solution: bool,
             as_json: bool) -> None:
    """Run a break/fix exercise: the symptoms (never the cause), or with --try/--set the
    verdict on a fix: whether DirectAccess now works, from when, and whether the fix is the
    documented remedy, a workaround or wrong."""
    if list_folder is not None:
        _list(list_folder)
        return
    if exercise_file is None:
        raise InputError("exercise: give an exercise FILE, or --list")
    from sim.exercise.load import load_exercise

    ex = load_exercise(exercise_file)
    if solution:
        from sim.exercise.session import solution_text

        click.echo(solution_text(ex), nl=False)
    elif hint is not None:
        click.echo(_hints(ex, hint), nl=False)
    elif tries or sets:
        _verdict(ex, tries, sets, as_json)
    else:
        _symptoms(ex, times, views, pcap)


def _list(folder: str) -> None:
    from sim.exercise.load import load_exercise

    base = Path(folder)
    if not base.is_dir():
        raise InputError(f"{base}: no exercise folder here (give one: --list FOLDER)")
    files = sorted(base.glob("*.yaml"))
    width = max((len(f.stem) for f in files), default=10)
    broken = 0
    for f in files:
        try:
            ex = load_exercise(f)
            line = ex.title   # the source would say the fault: it is the trainer's
        except INPUT_ERRORS as exc:
            broken += 1
            line = f"(does not load: {exc})"
        click.echo(f"{f.stem:<{width}}  {line}")
    if broken:
        raise InputError(f"{base}: {broken} of {len(files)} exercise files do not load")


def _times(ex, times: tuple[str, ...]) -> list[tuple[str, float]]:
    """Each ``--at`` as (the user's text, seconds); the exercise's own times by default."""
    out = []
    for text in times:
        try:
            out.append((text, parse_duration(text)))
        except ValueError as exc:
            raise InputError(f"--at: {exc}") from None
    return out or [(f"{t:g}s", t) for t in ex.student.at]


def _symptoms(ex, times: tuple[str, ...], views: tuple[str, ...], pcap: str | None) -> None:
    from sim.exercise.check import broken, run_world
    from sim.exercise.symptoms import symptoms

    allowed = list(ex.student.views)
    for name in views:
        if name not in allowed:
            raise InputError(f"--view {name!r}: this exercise shows " + "; ".join(allowed))
    at = _times(ex, times)
    point = None
    if pcap:
        check_writable(pcap, "--pcap")
        if ex.student.pcap is None:
            raise InputError("--pcap: this exercise allows no capture")
        point = ex.student.pcap.point
    run = run_world(ex, broken(ex), point=point)
    for text, t in at:
        if t > run.view.duration:
            raise InputError(f"--at {text}: after the run's end ({run.view.duration:g} s)")
    click.echo(symptoms(run, ex, [t for _, t in at], list(views) or allowed), nl=False)
    if pcap:
        from sim.report.pcap import write_pcap

        until = ex.student.pcap.until
        records = [r for r in run.records if until is None or r[0] <= until]
        atomic_write(pcap, lambda tmp: write_pcap(tmp, records, run.view.start))
        click.echo(f"wrote {len(records)} packets seen at {point} to {pcap}")
    click.echo(f"\nHints: --hint 1 (of {len(ex.hints)}).  Try a fix: --try 'ACTION ARGS' "
               "or --set PATH=VALUE.")


def _hints(ex, n: int) -> str:
    shown = ex.hints[:n]
    text = "".join(f"Hint {i}: {h}\n" for i, h in enumerate(shown, 1))
    if n < len(ex.hints):
        text += f"(--hint {n + 1} for the next)\n"
    return text


def _verdict(ex, tries: tuple[str, ...], sets: tuple[str, ...], as_json: bool) -> None:
    from sim.exercise.check import check
    from sim.exercise.fixes import describe, student_change

    change = student_change(tries, sets, ex.client, ex.fix_at)
    verdict = check(ex, change)
    if as_json:
        # the title, not the exercise's name: the name is the trainer's and may say the fault
        click.echo(json.dumps({"title": ex.title, "fix": describe(tries, sets),
                               **verdict.as_dict()}, indent=2))
        return
    names = {"remedy": "the documented remedy", "workaround": "a workaround",
             "wrong": "wrong"}
    click.echo(f"Your fix: {describe(tries, sets)}")
    click.echo(f"Verdict: {names[verdict.kind]}.")
    click.echo(verdict.reason)
