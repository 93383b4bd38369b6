"""A run saved once (``dasim run FILE --save RUN.json``) and drawn many times: the same
figures as drawn from the scenario, in PNG, SVG (text kept as text) and PDF, byte-identical
on every render, with the title and size asked for, titles that say what ``--set`` changed,
and outcome bars that carry their counts."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCEN = Path(__file__).resolve().parents[2] / "scenarios"
FLEET = [str(SCEN / "mixed-fleet.yaml"), "--set", "clients.0.count=30", "--workers", "1"]
KINDS = ("timeline", "outcomes", "ttc", "connected")


def dasim(*args):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True,
                          text=True, check=False)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "run.json"
    out = dasim("run", *FLEET, "--save", str(path))
    assert out.returncode == 0, out.stderr
    assert f"wrote {path}" in out.stdout
    return path


def test_a_saved_run_keeps_the_result_series_events_and_how_it_was_made(saved):
    data = json.loads(saved.read_text())
    assert data["schema"] == "dasim.run/1"
    assert data["sets"] == ["clients.0.count=30"] and data["seed"] == 7
    assert len(data["result"]["clients"]) == 30
    assert data["series"] and len(data["series"][0]) == 4
    assert "sequence diagrams, pcaps, netsh and explain" in data["not_kept"]
    assert data["result"] == json.loads(dasim("run", *FLEET, "--json").stdout)


def test_figures_from_a_saved_run_are_those_drawn_from_the_scenario(saved, tmp_path):
    out = dasim("plot", str(saved), "--kind", ",".join(KINDS), "--out",
                str(tmp_path / "saved-{kind}.svg"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("wrote ") == 4
    direct = dasim("plot", *FLEET, *[a for k in KINDS for a in ("--kind", k)],
                   *[a for k in KINDS for a in ("--out", str(tmp_path / f"direct-{k}.svg"))])
    assert direct.returncode == 0, direct.stderr
    for kind in KINDS:
        assert (tmp_path / f"saved-{kind}.svg").read_bytes() == \
            (tmp_path / f"direct-{kind}.svg").read_bytes(), kind


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_every_format_is_the_same_file_on_every_render(saved, tmp_path, suffix):
    files = [tmp_path / f"o{n}{suffix}" for n in (1, 2)]
    for f in files:
        assert dasim("plot", str(saved), "--kind", "outcomes", "--out", str(f)).returncode == 0
    assert files[0].read_bytes() == files[1].read_bytes()
    head = files[0].read_bytes()[:8]
    assert head.startswith({".png": b"\x89PNG", ".svg": b"<?xml", ".pdf": b"%PDF"}[suffix])


def svg_texts(path):
    return re.findall(r"<text[^>]*>([^<]*)", path.read_text())


def test_svg_text_is_text_and_titles_follow_set_and_bars_carry_counts(saved, tmp_path):
    out = tmp_path / "o.svg"
    assert dasim("plot", str(saved), "--kind", "outcomes", "--out", str(out)).returncode == 0
    texts = svg_texts(out)
    assert "mixed-fleet: outcome by network (30 clients)" in texts
    assert "with clients.0.count=30" in texts   # the title says what --set changed
    result = json.loads(saved.read_text())["result"]
    per_network = {}
    for c in result["clients"]:
        per_network[c["network"]] = per_network.get(c["network"], 0) + 1
    # each bar's total above it
    numbers = [t for t in texts if t.isdigit()]
    for n in per_network.values():
        assert str(n) in numbers


def test_title_and_size_are_the_users(saved, tmp_path):
    sizes = {}
    for w in (5, 10):
        out = tmp_path / f"t{w}.svg"
        res = dasim("plot", str(saved), "--kind", "ttc", "--out", str(out), "--title",
                    "Field trial, week 1", "--size", f"{w}x3")
        assert res.returncode == 0, res.stderr
        assert "Field trial, week 1" in svg_texts(out)
        sizes[w] = float(re.search(r'<svg[^>]*width="([\d.]+)pt"', out.read_text()).group(1))
    assert sizes[10] - sizes[5] > 0.7 * 5 * 72   # five inches wider (less what tight bbox trims)


@pytest.mark.parametrize(("args", "message"), [
    (["--kind", "sequence"], "--kind sequence: sequence diagrams, pcaps"),
    (["--kind", "ttc", "--set", "clients.0.count=3"], "a saved run is drawn as it was run"),
    (["--kind", "ttc", "--size", "big"], "--size big: expected WIDTHxHEIGHT"),
    (["--kind", "ttc", "--kind", "outcomes"], "2 --kind for 1 --out"),
    (["--kind", "pie"], "--kind pie: expected one of"),
])
def test_bad_plot_options_are_refused_before_anything_is_written(saved, tmp_path, args,
                                                                  message):
    out = dasim("plot", str(saved), *args, "--out", str(tmp_path / "x.svg"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert message in out.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("text", "message"), [
    ("{", "x.json:1:2: not JSON"), ('{"schema": "dasim.result/1"}', "not a saved run"),
    ('{"schema": "dasim.run/1", "result": {}}', "a saved run with a missing"),
])
def test_a_file_that_is_not_a_saved_run_is_named(tmp_path, text, message):
    bad = tmp_path / "x.json"
    bad.write_text(text)
    out = dasim("plot", str(bad), "--kind", "ttc", "--out", str(tmp_path / "x.svg"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert message in out.stderr


def test_save_wants_a_json_name(tmp_path):
    out = dasim("run", str(SCEN / "home-nat.yaml"), "--save", str(tmp_path / "run.yaml"))
    assert out.returncode == 2 and "a saved run is JSON" in out.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", [["explain"], ["netsh", "--client", "laptop-00001",
                                                   "interface", "teredo", "show", "state"],
                                     ["pcap", "--out", "x.pcap"]])
def test_commands_that_need_the_packets_say_how_to_run_them_again(saved, command):
    out = dasim(command[0], str(saved), *command[1:])
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "a saved run keeps what figures and comparisons need" in out.stderr
    assert "mixed-fleet.yaml --seed 7 --set 'clients.0.count=30'" in out.stderr


@pytest.mark.parametrize("command", [
    ["run", str(SCEN / "home-nat.yaml"), "--plot"],
    ["sweep", str(SCEN / "home-nat.yaml"), "--set", "seed=1,2", "--out", "s.csv", "--plot"],
])
def test_a_figure_in_another_format_is_refused_before_anything_runs(tmp_path, command):
    command = [c.replace("s.csv", str(tmp_path / "s.csv")) for c in command]
    out = dasim(*command, str(tmp_path / "f.txt"))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "the file must end in .png, .svg or .pdf" in out.stderr
    assert not list(tmp_path.iterdir())
