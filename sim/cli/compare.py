"""``dasim compare``: two runs side by side — two scenarios, or one with other ``--set``
values on one side, or saved runs — and what changed in the outcomes."""

from __future__ import annotations

import click

from sim.cli.common import SCHEDULER, SEED, WORKERS, fleet, run_fleet
from sim.report.compare import comparison
from sim.report.saved import is_saved_run, load_saved

SIDE_SETS = "Change one value on side {side} only (as run --set). Repeatable."


def _side(path: str, seed: int | None, sets: tuple[str, ...], workers: int | None,
          scheduler: str | None) -> tuple[dict, str]:
    """One side's result and how it is named in the heading."""
    if is_saved_run(path):
        saved = load_saved(path)
        note = f" (--set {' --set '.join(saved.sets)})" if saved.sets else ""
        return saved.result, f"{path}: saved run of {saved.scenario_file}{note}"
    runs = fleet(path, seed, sets)
    result = run_fleet(runs.run, runs.shards, workers, scheduler).as_dict()
    note = f" --set {' --set '.join(sets)}" if sets else ""
    return result, f"{path}{note} (seed {result['seed']})"


@click.command()
@click.argument("file_a", metavar="A", type=click.Path(dir_okay=False, path_type=str))
@click.argument("file_b", metavar="[B]", required=False,
                type=click.Path(dir_okay=False, path_type=str))
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
              help="Change one value on both sides (as run --set). Repeatable.")
@click.option("--set-a", "sets_a", multiple=True, metavar="PATH=VALUE",
              help=SIDE_SETS.format(side="A"))
@click.option("--set-b", "sets_b", multiple=True, metavar="PATH=VALUE",
              help=SIDE_SETS.format(side="B"))
@click.option("--by", type=click.Choice(["auto", "client", "network"]), default="auto",
              show_default=True, help="One row per client or per network (auto: per client "
                                      "up to 40 clients).")
@click.option("--all", "everyone", is_flag=True, help="Per client: every client, not only "
                                                      "those that changed.")
@SEED
@WORKERS
@SCHEDULER
def compare(file_a: str, file_b: str | None, sets: tuple[str, ...], sets_a: tuple[str, ...],
            sets_b: tuple[str, ...], by: str, everyone: bool, seed: int | None,
            workers: int | None, scheduler: str | None) -> None:
    """What changed between run A and run B: each a scenario (YAML) or a saved run (JSON);
    without B, B is A with the --set-b values.

    dasim compare home.yaml --set-b networks.home.nat.preset=symmetric
    """
    from sim.errors import InputError

    file_b = file_b or file_a
    if file_a == file_b and not (sets_a or sets_b):
        raise InputError("compare: A and B are the same run; give B, or --set-a/--set-b "
                         "values that differ")
    for path, extra in ((file_a, sets_a), (file_b, sets_b)):
        if is_saved_run(path) and (extra or sets or seed is not None):
            raise InputError(f"{path}: a saved run is compared as it was run; --set and "
                             "--seed apply to scenarios")
    a, label_a = _side(file_a, seed, (*sets, *sets_a), workers, scheduler)
    b, label_b = _side(file_b, seed, (*sets, *sets_b), workers, scheduler)
    click.echo(comparison(a, b, label_a, label_b, by, everyone), nl=False)
