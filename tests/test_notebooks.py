"""The lessons in notebooks/: they run top to bottom with only the public API, draw their
figures inline, keep their outputs in the committed files, and a run gives those outputs
again (the simulation is deterministic). What a lesson claims is checked here, on its
outputs, not by ``assert`` in its cells."""

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]
# what a lesson may not reach into: the simulator's internals, or checks in its cells
INTERNALS = (".da.", "Fleet(", "load_scenario", "sim.scenario", "sim.fleet", "sim.report",
             "sim.exercise", "assert ")


def outputs(nb) -> list[str]:
    """Every cell's outputs as text: streams (a cell's pieces of one stream joined: the
    kernel cuts them where it flushes), plain text and the SVG figures."""
    out = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        streams: dict[str, str] = {}
        for o in cell.get("outputs", []):
            if o["output_type"] == "stream":
                streams[o["name"]] = streams.get(o["name"], "") + o["text"]
            elif o["output_type"] == "error":
                out.append(f"error: {o['ename']}: {o['evalue']}")
            else:
                data = o.get("data", {})
                out += [f"{kind}: {data[kind]}" for kind in ("text/plain", "image/svg+xml")
                        if kind in data]
        out += [f"{name}: {text}" for name, text in sorted(streams.items())]
    return out


def text_of(nb) -> str:
    return "\n".join(o for o in outputs(nb) if not o.startswith("image/svg+xml"))


def test_there_is_a_lesson_for_each_topic_and_one_runs_an_exercise():
    assert len(NOTEBOOKS) >= 4
    assert any("exercise(" in c.source for p in NOTEBOOKS
               for c in nbformat.read(p, as_version=4).cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_a_lesson_uses_only_the_public_api(path):
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert not [word for word in INTERNALS if word in code]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_a_committed_lesson_keeps_its_outputs_and_figures(path):
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1))
    assert any(o.startswith("image/svg+xml: <svg") for o in outputs(nb))
    assert not [o for o in outputs(nb) if o.startswith(("error", "stderr"))]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Each lesson run again, in a copy (the committed file is left as it is)."""
    done = {}

    def run(path):
        if path not in done:
            out = tmp_path_factory.mktemp(path.stem)
            nb = nbformat.read(path, as_version=4)
            NotebookClient(nb, timeout=900, kernel_name="python3", record_timing=False,
                           resources={"metadata": {"path": str(out)}}).execute(
                env={**os.environ, "DASIM_ROOT": str(ROOT), "DASIM_OUT": str(out)})
            done[path] = nb
        return done[path]
    return run


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_a_lesson_runs_and_gives_its_committed_outputs(path, executed):
    committed = nbformat.read(path, as_version=4)
    assert outputs(executed(path)) == outputs(committed)


def _lesson(executed, stem):
    return text_of(executed(ROOT / "notebooks" / f"{stem}.ipynb"))


def test_the_fallback_lesson_shows_each_network_s_method(executed):
    text = _lesson(executed, "01-fallback-order")
    for name, method in [("home-public-ipv4", "6to4"), ("home-nat", "teredo"),
                         ("mobile-symmetric-nat", "iphttps"), ("cgn-pseudo-public", "iphttps")]:
        assert re.search(rf"{name}\s+{method}\s", text)


def test_the_kb_lesson_shows_the_fix_and_the_restart(executed):
    text = _lesson(executed, "02-kb2980667-untrusted-root")
    assert "Last Error Code            : 0x800b0109" in text
    assert "0x800b0109 CERT_E_UNTRUSTEDROOT" in text
    assert "connected at 610.252 s instead of 965.754 s" in text


def test_the_fleet_lesson_s_claims(executed):
    text = _lesson(executed, "03-hotel-and-cgn-fleets")
    assert "home laptops on Teredo: [1.0, 1.0, 1.0, 1.0]" in text
    shares = re.search(r"connected: ([\d.]+) of 5,000 against ([\d.]+) of 240", text)
    assert shares and shares.group(1) == shares.group(2)
    home = re.search(r"home laptops on Teredo: (\d+) of (\d+)", text)
    assert home and home.group(1) == home.group(2)
    answered, timeout = {}, None
    for row in re.findall(r"^(\d+)?\s+(preservation|random)\s+\d+\s+\d+\s+([\d.]+)$", text,
                          re.M):   # pandas names the timeout once for its two rows
        timeout = row[0] or timeout
        answered[(timeout, row[1])] = float(row[2])
    assert len(answered) == 4
    assert answered[("10", "random")] < 0.95 <= min(
        v for k, v in answered.items() if k != ("10", "random"))


def test_the_exercise_lesson_judges_each_fix(executed):
    text = _lesson(executed, "04-exercise-end-to-end")
    assert "wrong — DirectAccess still does not work" in text
    assert "workaround — DirectAccess works from" in text
    assert re.search(r"import_root contoso-root\s+remedy\s+from t=965.8 s", text)
    # the restart, the fix's second step, comes 1 s after the import (IFX1)
    assert re.search(r"restart_ip_helper\s+remedy\s+from t=601.3 s", text)
    assert "Cause: " in text and "self-contained" in text
    shown = [o for o in outputs(executed(ROOT / "notebooks" / "04-exercise-end-to-end.ipynb"))
             if "Exercise: From the hotel" in o]
    assert shown and not [o for o in shown if "contoso-root" in o or "UNTRUSTED" in o]
