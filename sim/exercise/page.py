"""An exercise's page for ``dasim report``: the student's version shows what the student may
see (the user's words and view, netsh and PowerShell at the exercise's times, the timeline,
the attempts without their reasons, the allowed capture for download, hints folded; the
sequence diagram, which marks each device's drops, only on the trainer's page); the
trainer's adds the cause, the source, the story ``dasim explain`` tells, the attempts' reasons,
and the solution's fixes with the checker's verdict on each."""

from __future__ import annotations

from collections.abc import Callable

from sim.exercise.check import broken, check, run_world
from sim.exercise.fixes import fix_change
from sim.exercise.model import Exercise, Fix
from sim.exercise.symptoms import show, title
from sim.report import plots
from sim.report.page import Figure, Page, Panel, Section, Table, attempt_table, clock, svg
from sim.report.runpage import laptop_sections

VERDICT = {"remedy": "the documented remedy", "workaround": "a workaround", "wrong": "wrong"}


def exercise_page(exercise: Exercise, trainer: bool,
                  times: Callable[[float], list[float]]) -> Page:
    """The page of ``exercise`` (the trainer's version if ``trainer``); ``times(duration)``
    gives the times of the views."""
    point = exercise.student.pcap.point if exercise.student.pcap else None
    run = run_world(exercise, broken(exercise), trace=trainer,
                    point=point or f"client:{exercise.client}")
    view = run.view
    at = times(view.duration)
    # the figure's title and the capture's file name say the exercise, not the world (whose
    # scenario name may say the fault)
    result = dict(view.result.as_dict(), scenario="the user's laptop")
    until = exercise.student.pcap.until if exercise.student.pcap else None
    records = [r for r in run.records if until is None or r[0] <= until]
    sections = [Section("The ticket", [exercise.ticket.strip()])]
    if trainer:
        sections.append(_trainer_box(exercise))
    panels = [Panel(title(name, t).removeprefix("== "), show(run, exercise, name, t))
              for name in exercise.student.views for t in at]
    sections.append(Section(f"What the laptop shows at {', '.join(clock(t) for t in at)}",
                            panels=panels, columns=min(len(at), 3)))
    sections.append(Section("Its attempts", figures=[Figure(
        "each attempt by method; hatched bars failed, labelled with their error code",
        svg(lambda p: plots.timeline(result, p)))], tables=[attempt_table(
            view.result_of(exercise.client).as_dict()["attempts"], reasons=trainer)]))
    if trainer:
        sections += laptop_sections(view, exercise.client, run.records, at,
                                    crossings=run.crossings)[:1]
    if point is not None:
        capture = laptop_sections(view, exercise.client, records, at, story_told=False,
                                  pcap_name="exercise.pcap", crossings=run.crossings)[0]
        capture.heading = f"The capture at {point}" + (f", first {clock(until)}" if until
                                                        else "")
        sections.append(capture)
    sections.append(Section("Hints", details=[(f"Hint {i}", h) for i, h in
                                              enumerate(exercise.hints, 1)]))
    sections.append(Section("Try a fix", [
        "dasim exercise FILE --try 'ACTION ARGS' (events, such as "
        "import_root NAME, roam NETWORK, restart_ip_helper; several joined by ;) or --set "
        "PATH=VALUE: the checker runs the simulation again and says whether DirectAccess "
        "works, from when, and whether the fix is the documented remedy, a workaround or "
        "wrong."]))
    if trainer:
        sections.append(_solution(exercise))
    facts = [("the user's laptop", exercise.client), ("simulated", clock(view.duration))]
    if trainer:
        facts.append(("source", exercise.source))
    return Page(f"Exercise: {exercise.title}", "A DirectAccess break/fix exercise", facts,
                sections, "trainer" if trainer else "student")


def _trainer_box(exercise: Exercise) -> Section:
    fault = [f"{path} = {value}" for path, value in exercise.fault.set.items()]
    fault += [", ".join(f"{k}: {v}" for k, v in e.items()) for e in exercise.fault.events]
    return Section("The cause (trainer only)", [exercise.fault.cause.strip(),
                                                "The fault: " + "; ".join(fault)],
                   css="cause")


def _solution(exercise: Exercise) -> Section:
    """The solution's fixes, each with what the checker says of it (run here)."""
    rows = []
    s = exercise.solution
    fixes: list[tuple[str, Fix | None]] = [("remedy", s.remedy), ("workaround", s.workaround),
                                           ("wrong", s.wrong)]
    for kind, fix in fixes:
        if fix is None:
            continue
        verdict = check(exercise, fix_change(fix, exercise.client, exercise.fix_at))
        given = ([f"--try '{fix.try_}'"] if fix.try_ else []) + \
                [f"--set {k}={v}" for k, v in fix.set.items()]
        rows.append((kind, " ".join(given), VERDICT[verdict.kind], verdict.reason,
                     fix.says.strip()))
    return Section("The solution, checked", tables=[Table(
        ("fix", "given as", "the checker says", "why", "the trainer says"), rows)])
