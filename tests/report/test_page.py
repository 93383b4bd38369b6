"""``dasim report``: one self-contained page, the same bytes for the same run; an exercise's
student page tells no cause, its trainer page tells the cause and checks the solution."""

import base64
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sim.exercise.load import load_exercise

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = sorted((ROOT / "exercises").glob("*.yaml"))


def report(tmp_path, *args, name="page.html"):
    out = tmp_path / name
    done = subprocess.run([sys.executable, "-m", "sim.cli", "report", *args, "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    return done, out


def test_a_scenario_page_holds_figures_panels_attempts_and_the_capture(tmp_path):
    done, out = report(tmp_path, "scenarios/kb2980667-untrusted-root.yaml", "--at", "5m")
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    assert html.count("<svg") == 2   # the timeline and the sequence diagram
    assert "netsh interface httpstunnel show interfaces   (at 5 min)" in html
    assert "0x800b0109" in html and "Why it failed and what to do" in html
    uri = re.search(r'href="data:application/vnd.tcpdump.pcap;base64,([^"]+)"', html)
    assert base64.b64decode(uri.group(1))[:4] == bytes.fromhex("d4c3b2a1")   # a pcap


def test_the_same_run_gives_the_same_page(tmp_path):
    a = report(tmp_path, "scenarios/hotel-udp-blocked.yaml", name="a.html")[1]
    b = report(tmp_path, "scenarios/hotel-udp-blocked.yaml", name="b.html")[1]
    assert a.read_bytes() == b.read_bytes()


def test_a_fleet_page_has_its_table_by_network(tmp_path):
    done, out = report(tmp_path, "scenarios/mixed-fleet.yaml", "--set", "clients.0.count=40")
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    assert "<th>median (s)</th>" in html and html.count("<svg") == 3


@pytest.mark.parametrize("path", EXERCISES, ids=[p.stem for p in EXERCISES])
def test_an_exercise_student_page_tells_no_cause(tmp_path, path):
    exercise = load_exercise(path)
    done, out = report(tmp_path, str(path))
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    # the figures are the timeline and the capture the exercise allows, whose packets a
    # student may read (the CRL the laptop fetches is a clue, not the answer); the hints,
    # folded, lead towards the cause on purpose; the style sheet names fonts
    text = re.sub(r"<svg.*?</svg>|<details>.*?</details>|<style>.*?</style>", "", html,
                  flags=re.S).lower()
    for word in [*exercise.fault.words, exercise.exercise, "remedy:", "trainer only"]:
        assert not re.search(rf"\b{re.escape(word.lower())}", text), word
    assert "student" in text and "<summary>Hint 1</summary>" in html


def test_an_exercise_trainer_page_tells_the_cause_and_checks_the_solution(tmp_path):
    done, out = report(tmp_path, "exercises/crl-inside-only.yaml", "--trainer")
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    assert "The cause (trainer only)" in html and "crl.corp.contoso.com" in html
    for said in ("the documented remedy", "a workaround", "wrong"):
        assert f"<td>{said}</td>" in html


def test_a_time_after_the_run_is_an_input_error(tmp_path):
    done, out = report(tmp_path, "scenarios/home-nat.yaml", "--at", "1h")
    assert done.returncode == 2 and "after the run's end" in done.stderr
    assert not out.exists()
