"""``dasim report``: one self-contained HTML page of a scenario's run or of an exercise (its
student or trainer version), to project or print."""

from __future__ import annotations

import click

from sim.cli.common import SCENARIO, SEED, SETS, atomic_write, check_writable, fleet
from sim.errors import InputError
from sim.scenario import parse_duration


def _times(texts: tuple[str, ...], default: list[float], duration: float) -> list[float]:
    times = []
    for text in texts:
        try:
            t = parse_duration(text)
        except ValueError as exc:
            raise InputError(f"--at: {exc}") from None
        if t > duration:
            raise InputError(f"--at {text}: after the run's end ({duration:g} s)")
        times.append(t)
    return times or default


def _is_exercise(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            return any(line.startswith("exercise:") for line in f)
    except (OSError, UnicodeDecodeError):
        return False   # the scenario loader says what is wrong with it


@click.command()
@SCENARIO
@click.option("-o", "--out", "out", required=True,
              type=click.Path(dir_okay=False, path_type=str), help="The HTML file to write.")
@click.option("--client", "client_name", default=None,
              help="The laptop to look at closely (default: the first).")
@click.option("--at", "times", multiple=True, metavar="T",
              help="netsh panels at this simulated time (repeatable; default 30 s and the end).")
@click.option("--trainer", is_flag=True,
              help="An exercise's trainer version: the cause, the story, the solution checked.")
@SEED
@SETS
def report(scenario_file: str, out: str, client_name: str | None, times: tuple[str, ...],
           trainer: bool, seed: int | None, sets: tuple[str, ...]) -> None:
    """Write one self-contained, printable HTML page of a scenario's run, or of an exercise
    (FILE starting with `exercise:`; the student's version unless --trainer)."""
    check_writable(out, "-o")
    if _is_exercise(scenario_file):
        from sim.exercise.load import load_exercise
        from sim.exercise.page import exercise_page

        ex = load_exercise(scenario_file)
        page = exercise_page(ex, trainer, lambda d: _times(times, list(ex.student.at), d))
    else:
        page = _scenario(scenario_file, client_name, times, seed, sets)
    from sim.report.page import render

    html = render(page)

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(html)

    atomic_write(out, write)
    click.echo(f"wrote {out}")


def _scenario(path: str, client_name: str | None, times: tuple[str, ...], seed: int | None,
              sets: tuple[str, ...]):
    from sim.fleet.prepare import prepare
    from sim.report.runpage import scenario_page

    runs = fleet(path, seed, sets)
    prepared = prepare(runs, client_name, trace=True)
    name = client_name or prepared.client_names[0]
    prepared.require(name)
    at = _times(times, [min(30.0, prepared.duration), prepared.duration], prepared.duration)
    records = prepared.capture(f"client:{name}")
    crossings = prepared.tap_path(name)
    result = prepared.run_fleet().as_dict()
    return scenario_page(prepared.view(), result, name, records, at,
                         runs.scenario.description, crossings)
