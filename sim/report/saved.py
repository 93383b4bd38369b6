"""A saved run (``dasim run FILE --save run.json``): what the figures of a run need, kept so
that any number of them are drawn without simulating again.

It holds the ``dasim.result/1`` result, the connected-share series, the scenario's events as
the rollout figure marks them, and what the run was made of (the scenario file and a hash of
its text, the seed, the ``--set`` values) so that a figure's note and a re-run say the same.
What it does not hold (packets, the trace, the laptops' interface state) is what
``--kind sequence``, ``pcap``, ``netsh`` and ``explain`` need: they simulate the scenario
again, and a saved run says so (``RERUN``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.errors import InputError

SCHEMA = "dasim.run/1"
RERUN = ("sequence diagrams, pcaps, netsh and explain need the packets and the laptops' "
         "state, which a saved run does not keep: run them on the scenario (its file, seed "
         "and --set values are in this file)")


@dataclass(frozen=True)
class SavedRun:
    """A saved run, read back: the result dict, the series, the events and the run's
    making."""

    result: dict[str, Any]
    series: list[tuple]
    events: list[tuple[float, str]]
    scenario_file: str
    sets: tuple[str, ...]

    def note(self) -> str | None:
        """What a figure says under its title: the ``--set`` values of the run."""
        return set_note(self.sets)


def set_note(sets: tuple[str, ...] | list[str]) -> str | None:
    """``with clients.0.count=300, …`` (None without ``--set``)."""
    return "with " + ", ".join(sets) if sets else None


def is_saved_run(path: str) -> bool:
    """Whether ``path`` names a saved run rather than a scenario (by its suffix)."""
    return path.lower().endswith(".json")


def rerun_message(path: str) -> str:
    """What a command that needs a run says when given a saved one: how to run it again."""
    try:
        saved = load_saved(path)
    except InputError as exc:
        return str(exc)
    sets = "".join(f" --set '{s}'" for s in saved.sets)
    return (f"{path}: a saved run keeps what figures and comparisons need (dasim plot, "
            "dasim compare), not the packets and the laptops' state this command reads; "
            f"give it the scenario: {saved.scenario_file} --seed {saved.result['seed']}{sets}")


def saved_run(result: dict[str, Any], series: list[tuple] | None,
              events: list[tuple[float, str]], scenario_file: str,
              sets: tuple[str, ...]) -> dict[str, Any]:
    """The saved run as a JSON-ready dict (its key order fixed: the same run, the same
    bytes)."""
    text = Path(scenario_file).read_bytes()
    return {"schema": SCHEMA, "scenario_file": scenario_file,
            "scenario_sha256": hashlib.sha256(text).hexdigest(), "seed": result["seed"],
            "sets": list(sets), "not_kept": RERUN,
            "events": [[at, what] for at, what in events],
            "series": [[t, on, inside, list(by_method)]
                       for t, on, inside, by_method in series or ()],
            "result": result}


def write_saved(path: str, saved: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        json.dump(saved, out, separators=(",", ":"))
        out.write("\n")


def load_saved(path: str) -> SavedRun:
    """Read a saved run; an input error naming the file and what is wrong with it."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: not JSON ({exc.msg}); a saved "
                         "run is written by dasim run FILE --save RUN.json") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise InputError(f"{path}: not a saved run (schema {found!r}, expected {SCHEMA!r}); "
                         "dasim run FILE --save RUN.json writes one")
    try:
        result = data["result"]
        _ = result["clients"], result["scenario"], result["duration_s"]
        series = [(t, on, inside, tuple(by)) for t, on, inside, by in data["series"]]
        events = [(float(at), str(what)) for at, what in data["events"]]
        return SavedRun(result, series, events, str(data["scenario_file"]),
                        tuple(data["sets"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: a saved run with a missing or malformed part ({exc}); "
                         "save it again with dasim run FILE --save RUN.json") from None
