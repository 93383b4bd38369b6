"""``dasim sweep``: the cartesian product of --set values × replications, its table, its
summary and its figure."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from sim.cli.common import SCENARIO, atomic_write, check_figure, check_writable
from sim.errors import InputError
from sim.fleet import sweep as sw
from sim.fleet.pool import stop_now


@click.command()
@SCENARIO
@click.option("--set", "sets", multiple=True, metavar="PATH=V1,V2",
              help="A dotted path into the scenario and its values (repeatable); e.g. "
                   "networks.home.nat.udp_timeout=30,120,300 or clients.0.profile=windows7.")
@click.option("--replications", type=int, default=1, show_default=True,
              help="Monte Carlo replications of each combination.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="The sweep's seed; each run's seed is derived from it.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local worker processes (default: one per core).")
@click.option("--scheduler", default=None, help="A Dask scheduler (tcp://HOST:8786).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="results.csv or results.parquet (one row per client per run).")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=str),
              help="A summary figure: connected share per combination.")
def sweep(scenario_file: str, sets: tuple[str, ...], replications: int, seed: int,
          workers: int | None, scheduler: str | None, out: str, plot: str | None) -> None:
    """Run the cartesian product of --set values × replications, on a local process pool or
    a Dask cluster; an interrupted sweep resumes from its journal (OUT.journal)."""
    check_writable(out, "--out")
    check_figure(plot, "--plot")
    if not out.endswith((".csv", ".parquet")):
        raise InputError(f"--out {out}: use a .csv or .parquet file")
    parsed = [sw.parse_set(s) for s in sets]
    params = [p for p, _ in parsed]
    journal = sw.Journal(Path(out + ".journal"))
    rows = _run(scenario_file, parsed, replications, seed, workers, scheduler, journal)
    df = sw.table(rows, params)
    atomic_write(out, lambda tmp: sw.write_table(df, Path(tmp)))
    failed = _report_failures(df, params, out, journal)
    if replications > 1 and len(df) and not sw.replications_differ(df, params):
        click.echo(f"all {replications} replications of each combination gave the same "
                   "outcomes: nothing random in this scenario changes them (a latency range, "
                   "jitter, loss or an event's share would); --replications 1 would do",
                   err=True)
    ok = df[df["error"].isna()]
    varied, fixed = sw.varied_and_fixed(parsed)
    if params and len(ok):
        for line in sw.summary_lines(ok, varied, fixed):
            click.echo(line)
    if plot and not len(ok):
        click.echo(f"--plot {plot}: not drawn, since no run completed", err=True)
    elif plot:
        from sim.report import plots  # matplotlib: only for a figure

        name = Path(scenario_file).stem
        atomic_write(plot, lambda tmp: plots.sweep_summary(ok, varied, tmp, fixed, name))
        click.echo(f"wrote {plot}")
    if failed:   # the table is written, but the sweep is not whole
        sys.exit(1)


def _run(scenario_file: str, parsed: list, replications: int, seed: int,
         workers: int | None, scheduler: str | None, journal: sw.Journal) -> list[dict]:
    """The sweep's rows, its runs on a local pool or the Dask cluster named; Ctrl-C stops
    them at once (the journal keeps the finished runs)."""
    client = None
    if scheduler:
        executor, client = sw.dask_executor(scheduler)
    else:
        executor = sw.local_executor(workers)

    def progress(total: int, done: int) -> Any:
        if done:
            click.echo(f"resuming: {done} of {total} runs already in {journal.path}", err=True)
        return tqdm(total=total, initial=done, unit="run", desc="sweep", file=sys.stderr,
                    disable=None)

    try:
        rows = sw.run_sweep(scenario_file, parsed, replications, seed, executor, journal,
                            progress)
    except BaseException:   # Ctrl-C: stop at once; the journal keeps the finished runs
        stop_now(executor)
        raise
    else:
        executor.shutdown()
    finally:
        if client is not None:
            client.close()
    return rows


def _report_failures(df: Any, params: list[str], out: str, journal: sw.Journal) -> int:
    """Say what was written and which runs failed; remove the journal of a whole sweep.
    How many rows failed."""
    failed = df[df["error"].notna()]
    click.echo(f"{df['run_id'].nunique()} runs, {len(df)} rows written to {out}")
    for _, row in failed.drop_duplicates("run_id").iterrows():
        values = ", ".join(f"{p}={row[p]}" for p in params)
        click.echo(f"run {row['run_id']} ({values}, replication {row['replication']}) "
                   f"failed: {row['error']}", err=True)
    if len(failed):
        click.echo(f"the completed runs stay in {journal.path}: the same command again "
                   "retries only the failed ones", err=True)
    else:   # the table is the whole sweep: the journal has done its job
        journal.path.unlink(missing_ok=True)
    return len(failed)
