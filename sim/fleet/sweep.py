"""Parameter sweeps: the cartesian product of ``--set`` values × replications, each run with its
own seed from the sweep's seed (numpy ``SeedSequence``), executed on any
``concurrent.futures.Executor`` — a local process pool, or a Dask cluster's executor.

The table does not depend on the executor or the number of workers: every run is a pure
function of (scenario text, overrides, seed), and rows are sorted by run id. Completed runs are
appended to a journal next to the output, so an interrupted sweep resumes where it stopped
and still holds every run exactly once; a failed run is reported with its parameters while the
others complete, and is retried on resume. The journal's first line names its sweep, so that
the runs of one sweep never end up in another's table.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sim.errors import ImplausibleValue, InputError
from sim.fleet.pool import finishing, local_pool, stop_now
from sim.fleet.shards import Fleet
from sim.scenario import load_scenario, parse_scenario

# "site": which home, hotel or phone of its network a laptop was at (``home#12``), for
# networks with ``laptops_per_site``; empty for the others
# "location": inside (the office: it reaches the intranet and needs no tunnel) or outside
# "probes_answered"/"_unanswered": the connectivity assistant's checks through the tunnel
# (``connectivity_probe``), which show a tunnel that connected but then lost traffic, as
# when a NAT's binding expires between Teredo refreshes; empty without checks
# "degraded": more than DEGRADED_LOSS of those checks lost (sim.directaccess.result)
# "directaccess", "ike_error": with ``server.ipsec``, Get-DAConnectionStatus's status above
# the tunnel and the IKE error that stopped it (13801 …); empty without the IPsec layer
COLUMNS = ["run_id", "replication", "seed", "client", "network", "site", "location", "method",
           "connected", "time_to_connect_s", "probes_answered", "probes_unanswered",
           "degraded", "last_error", "directaccess", "ike_error", "error"]


@dataclass(frozen=True)
class RunSpec:
    """One run of the sweep."""

    run_id: int
    params: tuple[tuple[str, Any], ...]
    replication: int
    seed: int


def parse_set(option: str) -> tuple[str, list[Any]]:
    """``networks.home.nat.udp_timeout=30,120,300`` → (path, [30, 120, 300]). The values are
    read as the items of a YAML flow sequence, so numbers stay numbers and a value may itself
    be a list or a mapping: ``server.methods=[teredo,iphttps],[iphttps]`` is two values."""
    path, sep, values = option.partition("=")
    if not sep or not path.strip() or not values.strip():
        raise InputError(f"--set {option!r}: expected PATH=VALUE[,VALUE...]")
    try:
        parsed = yaml.safe_load(f"[{values}]")
    except yaml.YAMLError:   # not YAML as a whole (``@x``): each value by itself, or as text
        parsed = []
        for text in values.split(","):
            try:
                parsed.append(yaml.safe_load(text.strip()))
            except yaml.YAMLError:
                parsed.append(text.strip())
    return path.strip(), parsed


def plan(sets: list[tuple[str, list[Any]]], replications: int, seed: int) -> list[RunSpec]:
    """Every (combination, replication) with its seed, in a fixed order. A run's seed comes
    from the sweep's seed, its combination's own values and its replication (numpy's
    SeedSequence with those as the spawn key), so adding a value to a ``--set`` leaves the
    other combinations' runs as they were."""
    import numpy as np  # 0.14 s to import: dasim run reads its --set here and need not

    if replications < 1:
        raise InputError("--replications must be at least 1")
    paths = [p for p, _ in sets]
    combos = list(itertools.product(*[v for _, v in sets])) or [()]
    specs = []
    for i, (combo, rep) in enumerate(itertools.product(combos, range(replications))):
        params = tuple(zip(paths, combo, strict=True))
        digest = hashlib.sha256(json.dumps(params, default=str, sort_keys=True).encode()).digest()
        key = (*(int.from_bytes(digest[k:k + 4], "big") for k in range(0, 16, 4)), rep)
        run_seed = int(np.random.SeedSequence(seed, spawn_key=key)
                       .generate_state(1, dtype=np.uint32)[0])
        specs.append(RunSpec(i, params, rep, run_seed))
    return specs


def run_one(text: str, source: str, base_dir: str | None, spec: RunSpec) -> list[dict]:
    """One run → one row per client (or one row with the error). Runs in a worker."""
    base = {"run_id": spec.run_id, "replication": spec.replication, "seed": spec.seed,
            **dict(spec.params)}
    try:
        with warnings.catch_warnings():   # said once, when the sweep checked every run
            warnings.simplefilter("ignore", ImplausibleValue)
            scenario = parse_scenario(text, source, Path(base_dir) if base_dir else None,
                                      overrides=dict(spec.params))
        result = Fleet(scenario, seed=spec.seed).run(workers=1)   # the sweep is parallel
    except Exception as exc:  # reported with its parameters; the sweep goes on
        return [{**base, "client": None, "network": None, "site": None, "location": None,
                 "method": None,
                 "connected": None, "time_to_connect_s": None, "probes_answered": None,
                 "probes_unanswered": None, "degraded": None, "last_error": None,
                 "directaccess": None, "ike_error": None,
                 "error": f"{type(exc).__name__}: {exc}"}]
    return [{**base, "client": c.name, "network": c.network, "site": c.site,
             "location": c.location, "method": c.method,
             "connected": c.connected, "time_to_connect_s": c.time_to_connect_s,
             "probes_answered": c.probes[0] if c.probes else None,
             "probes_unanswered": c.probes[1] if c.probes else None,
             "degraded": c.degraded if c.probes else None,
             "last_error": c.last_error,
             "directaccess": c.directaccess["status"] if c.directaccess else None,
             "ike_error": c.directaccess["error"] if c.directaccess else None,
             "error": None} for c in result.clients]


class Journal:
    """Append-only record of completed runs (one JSON line each) after a first line naming the
    sweep it belongs to. A torn last line from an interrupted write is ignored; a failed run is
    recorded but not counted as done, so that resuming retries it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._header: str | None = None   # written with the first run, so that a sweep
        #                                    that never starts leaves no file behind

    def load(self, sweep: dict[str, Any]) -> dict[int, list[dict]]:
        """The completed runs of ``sweep`` (see :func:`identity`). A journal of another sweep
        is refused: its runs have the same ids but other parameters or seeds."""
        done: dict[int, list[dict]] = {}
        lines = self.path.read_text().splitlines() if self.path.exists() else []
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        if not entries:
            self._header = json.dumps({"sweep": sweep}) + "\n"
            return done
        recorded = entries[0].get("sweep") if isinstance(entries[0], dict) else None
        if recorded is None:
            raise InputError(f"{self.path}: not a sweep journal of this dasim (no sweep on its "
                             "first line); delete it to start over, or choose another --out")
        if recorded != sweep:
            differ = [SWEEP_KEYS[k] for k in sweep if recorded.get(k) != sweep[k]]
            raise InputError(
                f"{self.path}: this journal is of another sweep (other {' and '.join(differ)});"
                " delete it to start over, or choose another --out")
        for entry in entries[1:]:
            rows = entry.get("rows") if isinstance(entry, dict) else None
            if rows and not any(row.get("error") for row in rows):
                done.setdefault(entry["run_id"], rows)
        return done

    def append(self, run_id: int, rows: list[dict]) -> None:
        with self.path.open("w" if self._header else "a") as f:
            if self._header:
                f.write(self._header)
                self._header = None
            f.write(json.dumps({"run_id": run_id, "rows": rows}, default=str) + "\n")
            f.flush()
            os.fsync(f.fileno())


# what identifies a sweep, as an error message names it
SWEEP_KEYS = {"scenario_sha256": "scenario text", "sets": "--set values",
              "replications": "replications", "seed": "seed"}


def identity(text: str, sets: list[tuple[str, list[Any]]], replications: int,
             seed: int) -> dict[str, Any]:
    """What makes two sweeps the same: the scenario's text, the --set paths and values, the
    replications and the seed (a run id means the same run only under all four)."""
    return {"scenario_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "sets": [[p, [value_text(v) for v in values]] for p, values in sets],
            "replications": replications, "seed": seed}


def local_executor(workers: int | None) -> Executor:
    return local_pool(workers)


def dask_executor(scheduler: str) -> tuple[Executor, Any]:
    """The executor of a Dask distributed cluster at ``scheduler`` (tcp://HOST:8786)."""
    try:
        from dask.distributed import Client  # optional: dasim[cluster]
    except ImportError:
        raise InputError("--scheduler needs dask[distributed] (pip install "
                         "'dasim[cluster]')") from None
    try:
        client = Client(scheduler, timeout="10s")
    except OSError as exc:
        raise InputError(f"--scheduler {scheduler}: cannot reach the scheduler ({exc})") from None
    return client.get_executor(), client


def run_sweep(scenario_path: str | Path, sets: list[tuple[str, list[Any]]], replications: int,
              seed: int, executor: Executor, journal: Journal | None,
              progress: Callable[[int, int], Any] | None = None) -> list[dict]:
    """Run what the journal lacks (every run, without one) on ``executor``; return every row,
    sorted by run id."""
    path = Path(scenario_path)
    specs = plan(sets, replications, seed)
    checked: set[str] = set()
    for spec in specs:   # every combination must be a valid scenario before any run starts
        if repr(spec.params) not in checked:   # (a value may be a list: not hashable)
            load_scenario(path, dict(spec.params))
            checked.add(repr(spec.params))
    text = path.read_text()
    done = journal.load(identity(text, sets, replications, seed)) if journal else {}
    pending = [s for s in specs if s.run_id not in done]
    bar = progress(len(specs), len(specs) - len(pending)) if progress else None
    futures = {executor.submit(run_one, text, str(path), str(path.resolve().parent), s): s
               for s in pending}
    for fut in finishing(futures):
        spec = futures[fut]
        try:
            rows = fut.result()
        except Exception as exc:  # a worker died: report the run, keep the others
            rows = [{"run_id": spec.run_id, "replication": spec.replication,
                     "seed": spec.seed, **dict(spec.params), "client": None,
                     "error": f"worker failed: {type(exc).__name__}: {exc}"}]
        if journal is not None:
            journal.append(spec.run_id, rows)
        done[spec.run_id] = rows
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return [row for run_id in sorted(done) if run_id < len(specs) for row in done[run_id]]


def sweep(scenario: str | Path, sets: dict[str, list[Any]], replications: int = 1,
          seed: int = 1, workers: int | None = None, executor: Executor | None = None) -> Any:
    """``dasim sweep`` from Python: the table (pandas) of every run of ``sets`` (path →
    values) × ``replications``, on ``executor`` or a local pool of ``workers`` processes."""
    pairs = list(sets.items())
    own = executor is None
    executor = local_executor(workers) if own else executor
    try:
        rows = run_sweep(scenario, pairs, replications, seed, executor, None)
    except BaseException:
        if own:
            stop_now(executor)
        raise
    else:
        if own:
            executor.shutdown()
    return table(rows, [p for p, _ in pairs])


def table(rows: Iterable[dict], params: list[str]):
    """The rows as a pandas DataFrame with a stable column order. A parameter whose values
    are all numbers, all booleans or all text keeps that type; one that mixes them (``1,20,
    null``; ``60,2m``) or holds lists or mappings (``[teredo, iphttps]``) is written as the
    text of each value, so that no value turns into ``1.0`` or ``NaN``, parquet can store the
    column and the summary can group by it."""
    import pandas as pd  # 0.6 s to import: only a sweep's table needs it

    rows = list(rows)
    df = pd.DataFrame(rows)
    cols = ["run_id", *params, "replication", "seed"] + [c for c in COLUMNS[3:]]
    for c in cols:
        if c not in df.columns:
            df[c] = None
    for p in params:   # from the rows: the frame has already made 1 and None into 1.0, NaN
        values = [row.get(p) for row in rows]
        kinds = {bool if isinstance(v, bool) else float if isinstance(v, int | float) else
                 type(v) for v in values}
        if len(kinds) > 1 or kinds & {list, dict}:
            df[p] = [value_text(v) for v in values]
    for c in ("probes_answered", "probes_unanswered"):   # counts, empty without checks
        df[c] = df[c].astype("Int64")
    return df[cols]


def replications_differ(df: Any, params: list[str]) -> bool:
    """Whether any combination's replications gave different rows. A scenario that draws
    nothing at random (no latency ranges, jitter or loss, no ``share``) gives the same run
    for every seed, and its replications only cost time."""
    runs = df[df["error"].isna()]
    if runs["replication"].nunique() < 2:
        return True
    outcome = [c for c in COLUMNS if c not in ("run_id", "replication", "seed", "error")]
    seen: dict[tuple, set] = {}
    for _, rows in runs.groupby("run_id", sort=False):
        combo = tuple(str(rows.iloc[0][p]) for p in params)
        seen.setdefault(combo, set()).add(tuple(map(tuple, rows[outcome].astype(str).values)))
    return any(len(results) > 1 for results in seen.values())


def value_text(value: Any) -> str:
    """A --set value as it is written in YAML (``null``, ``true``, ``20``, ``2m``,
    ``[teredo, iphttps]``)."""
    if isinstance(value, list | dict):
        return yaml.safe_dump(value, default_flow_style=True, sort_keys=False).strip()
    if value is None or isinstance(value, bool):
        return yaml.safe_dump(value).split("\n")[0]
    return str(value)


def write_table(df: Any, out: Path) -> None:
    if out.suffix == ".parquet":
        df.to_parquet(out, index=False)
    elif out.suffix == ".csv":
        df.to_csv(out, index=False)
    else:
        raise InputError(f"--out {out}: use a .csv or .parquet file")


def varied_and_fixed(sets: list[tuple[str, list[Any]]]) -> tuple[list[str], dict[str, Any]]:
    """The paths a sweep varies, and its constants: a --set with one value is named once,
    not on every combination."""
    varied = [p for p, values in sets if len(values) > 1]
    fixed = {p: values[0] for p, values in sets if len(values) == 1}
    return varied, fixed


def summary_lines(ok: Any, varied: list[str], fixed: dict[str, Any]) -> list[str]:
    """The sweep's summary, per combination of the completed runs' rows ``ok`` (in --set
    order): the share connected, by which method, the share inside the office, the last
    errors of the rest and the share of connectivity checks answered."""
    lines = []
    if fixed:
        lines.append("with " + ", ".join(f"{p}={v}" for p, v in fixed.items()) + ":")
    groups = ok.groupby(varied, sort=False) if varied else [((), ok)]   # in --set order
    for combo, runs in groups:
        label = combo if isinstance(combo, tuple) else (combo,)
        name = ", ".join(f"{p}={v}" for p, v in zip(varied, label, strict=True))
        lines.append(f"  {name or 'all runs'}: " + _combination_summary(runs))
    return lines


def _combination_summary(runs: Any) -> str:
    """``80% connected (teredo 50%, iphttps 30%), 5% inside; not connected: …; checks …``"""
    split = ", ".join(f"{m} {n / len(runs):.0%}"
                      for m, n in runs["method"].value_counts().items())
    checks = runs["probes_answered"].sum() + runs["probes_unanswered"].sum()
    degraded = runs["degraded"].fillna(False).astype(bool).mean()
    answered = (f"; connectivity checks answered "
                f"{runs['probes_answered'].sum() / checks:.1%}, degraded {degraded:.0%}"
                if checks else "")
    connected = runs["connected"].astype(bool)
    inside = ((runs["location"] == "inside") & ~connected).mean()
    errors = runs[~connected & (runs["location"] != "inside")]
    errors = ", ".join(f"{e} {n / len(runs):.0%}" for e, n in
                       errors["last_error"].fillna("no error").value_counts().items())
    above = ""
    if runs["directaccess"].notna().any():   # IPsec modelled: the tunnel is not enough
        outside = runs[runs["location"] != "inside"]
        remote = (outside["directaccess"] == "ConnectedRemotely").sum() / len(runs)
        refused = ", ".join(f"{e} {n / len(runs):.0%}" for e, n in
                            outside["ike_error"].dropna().value_counts().items())
        above = (f"; DirectAccess connected {remote:.0%}"
                 + (f" (IKE errors: {refused})" if refused else ""))
    return (f"{runs['connected'].mean():.0%} {'tunnel up' if above else 'connected'}"
            + (f" ({split})" if split else "")
            + (f", {inside:.0%} inside" if inside else "")
            + (f"; not connected: {errors}" if errors else "") + above + answered)
