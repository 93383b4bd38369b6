"""What a design document's reader sees in the figures: labels that can be read (none over
another, over the title or outside the axes), every legend entry drawn, axes that say what
they count, and one name and colour per method in every figure."""

import json
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner
from matplotlib.colors import to_hex

from sim.cli import cli
from sim.report import plots

ROOT = Path(__file__).resolve().parents[2]
SCEN = ROOT / "scenarios"
ERROR = "0x800b0109"


def run(scenario: str, *sets: str) -> dict:
    args = ["run", str(SCEN / f"{scenario}.yaml"), "--json", "--workers", "1"]
    for s in sets:
        args += ["--set", s]
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    return json.loads(res.output)


@pytest.fixture(scope="module")
def kb():
    return run("kb2980667-untrusted-root")


@pytest.fixture(scope="module")
def fleet():
    return run("mixed-fleet", "clients.0.count=30")


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plot functions draw, kept (drawn) for inspection after saving."""
    figs = []
    save = plots._save

    def keep(fig, path):
        fig.canvas.draw()
        fig.test_renderer = fig.canvas.get_renderer()   # saving swaps the canvas
        figs.append(fig)
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", keep)
    return figs


def boxes(fig, texts):
    return [t.get_window_extent(fig.test_renderer) for t in texts]


def error_labels(ax):
    return [t for t in ax.texts if "0x" in t.get_text()]


def attempt(method, start, end, result, error=None):
    return {"method": method, "start_s": start, "end_s": end, "result": result,
            "reason": "", **({"error": error} if error else {})}


def crowded_client(name):
    """Runs of different errors close together, the last one near the end of the run."""
    attempts = [attempt("native", 0.1, 0.1, "not_eligible"),
                attempt("6to4", 0.1, 0.1, "not_eligible"),
                attempt("teredo", 0.1, 24.1, "failed")]
    t = 24.1
    for error in ("0x800b0109", "0x800b0109", "0x80092013", "0x800b0101", "0x80090325",
                  "0x80072ee7"):
        attempts.append(attempt("iphttps", t, t + 0.2, "failed", error))
        t += 15
    attempts.append(attempt("iphttps", 590, 590.2, "failed", "0x800b010f"))
    return {"name": name, "network": "hotel", "location": "outside", "connected": False,
            "method": None, "time_to_connect_s": None, "last_error": "0x800b010f",
            "attempts": attempts}


def assert_readable(fig):
    ax = fig.axes[0]
    labels = error_labels(ax)
    assert labels
    found = boxes(fig, labels)
    for i, a in enumerate(found):
        for b in found[i + 1:]:
            assert not a.overlaps(b), "two error labels overlap"
    frame = ax.get_window_extent(fig.test_renderer)
    title = boxes(fig, [ax.title])[0]
    for box in found:
        assert not box.overlaps(title), "an error label runs into the title"
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 + 0.5
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1 + 0.5, "a label leaves the axes"


def test_a_run_of_the_same_error_is_labelled_once_inside_the_axes(kb, drawn, tmp_path):
    plots.timeline(kb, str(tmp_path / "kb.png"))
    ax = drawn[0].axes[0]
    failures = [a for a in kb["clients"][0]["attempts"] if a.get("error") == ERROR]
    assert len(failures) > 1
    assert [t.get_text() for t in error_labels(ax)] == [f"{ERROR} ×{len(failures)}"]
    assert_readable(drawn[0])


@pytest.mark.parametrize("rows", [1, 12])
def test_error_labels_never_overlap_each_other_the_title_or_the_edge(drawn, tmp_path, rows):
    result = {"scenario": "crowded", "duration_s": 600.0,
              "clients": [crowded_client(f"laptop-{i}") for i in range(rows)]}
    plots.timeline(result, str(tmp_path / "c.png"))
    assert_readable(drawn[0])
    text = " ".join(t.get_text() for t in error_labels(drawn[0].axes[0]))
    for error in ("0x80092013", "0x800b0101", "0x800b010f"):   # every error is told
        assert error in text


def test_not_eligible_methods_are_drawn_and_the_legend_names_only_what_is_drawn(
        kb, drawn, tmp_path):
    plots.timeline(kb, str(tmp_path / "kb.png"))
    fig = drawn[0]
    ax = fig.axes[0]
    crosses = [ln for ln in ax.lines if ln.get_marker() == "X"]
    blocked = [a for a in kb["clients"][0]["attempts"] if a["result"] == "not_eligible"]
    assert len(crosses) == len(blocked) == 2
    assert {to_hex(ln.get_color()) for ln in crosses} == {plots.colour("native"),
                                                          plots.colour("6to4")}
    # drawn on top of the Teredo bar that starts at the same time, and apart
    assert all(ln.get_zorder() > 2 for ln in crosses)
    a, b = (ln.get_window_extent(fig.test_renderer) for ln in crosses)
    assert not a.overlaps(b)
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "not eligible" in names and "failed" in names
    assert names[:4] == ["native IPv6", "6to4", "Teredo", "IP-HTTPS"]

    quiet = {"scenario": "s", "duration_s": 60.0, "clients": [
        {"name": "a", "attempts": [attempt("teredo", 0.1, 2.0, "connected")]}]}
    plots.timeline(quiet, str(tmp_path / "q.png"))
    # its set-up is drawn light ("connecting"), then it carries the traffic to the end
    assert [t.get_text() for t in drawn[1].legends[0].get_texts()] == ["Teredo",
                                                                        "connecting"]
    spans = sorted((round(p.get_x(), 3), round(p.get_x() + p.get_width(), 3), p.get_alpha())
                   for p in drawn[1].axes[0].patches)
    assert spans == [(0.1, 2.0, 0.3), (2.0, 60.0, 0.95)]


def test_a_fleet_timeline_says_how_many_clients_it_shows(fleet, drawn, tmp_path):
    plots.timeline(fleet, str(tmp_path / "f.png"))
    ax = drawn[0].axes[0]
    assert "the first 12 of 30 clients" in ax.get_title()
    assert len(ax.get_yticks()) == 12
    plots.timeline(fleet, str(tmp_path / "f.png"), clients=30)
    assert "of 30" not in drawn[1].axes[0].get_title()


@pytest.mark.parametrize("rows", [1, 12])
def test_the_legend_sits_just_below_the_axis_label(drawn, tmp_path, rows):
    result = {"scenario": "s", "duration_s": 600.0,
              "clients": [crowded_client(f"laptop-{i}") for i in range(rows)]}
    plots.timeline(result, str(tmp_path / "t.png"))
    fig = drawn[0]
    renderer = fig.test_renderer
    xlabel = fig.axes[0].xaxis.label.get_window_extent(renderer)
    legend = fig.legends[0].get_window_extent(renderer)
    gap_in = (xlabel.y0 - legend.y1) / fig.dpi
    assert 0 <= gap_in < 0.25, f"a blank band of {gap_in:.2f} in above the legend"


def curve_ends(ax):
    return {line.get_label().split(":")[0]: line.get_ydata()[-1] for line in ax.lines
            if line.get_label().split(":")[0] not in ("no tunnel",)}


def test_time_to_connect_curves_end_at_each_methods_share_of_all_clients(
        fleet, drawn, tmp_path):
    plots.ttc_cdf(fleet, str(tmp_path / "ttc.png"))
    ax = drawn[0].axes[0]
    total = len(fleet["clients"])
    by_method = fleet["summary"]["by_method"]
    ends = curve_ends(ax)
    assert ends["Teredo"] == pytest.approx(by_method["teredo"] / total)
    assert ends["IP-HTTPS"] == pytest.approx(by_method["iphttps"] / total)
    assert ends["any method"] == pytest.approx(fleet["summary"]["connected"] / total)
    assert ends["any method"] < 1   # some never connected: no curve claims they did
    assert ax.get_ylabel() == "share of all clients"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"no tunnel: {total - fleet['summary']['connected']} of {total}" in " ".join(legend)


def test_time_to_connect_ticks_let_the_readme_steps_be_read(fleet, drawn, tmp_path):
    plots.ttc_cdf(fleet, str(tmp_path / "ttc.png"))
    ax = drawn[0].axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    for tick in ("0.1", "0.2", "0.5", "1", "2", "5", "10"):
        assert tick in ticks
    assert ax.get_xlim()[1] >= max(c["time_to_connect_s"] for c in fleet["clients"]
                                   if c["time_to_connect_s"] is not None)


def test_when_no_client_connects_the_figure_says_so_without_warnings(drawn, tmp_path):
    result = run("expired-certificate")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots.ttc_cdf(result, str(tmp_path / "none.png"))
    texts = " ".join(t.get_text() for t in drawn[0].axes[0].texts)
    assert "no client connected" in texts and "0x800b0101" in texts


def test_outcome_counts_are_whole_clients_with_room_above_the_tallest_bar(drawn, tmp_path):
    result = run("nls-outage")
    plots.outcome_by_network(result, str(tmp_path / "o.png"))
    ax = drawn[0].axes[0]
    ticks = [t for t in ax.get_yticks() if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks)
    tallest = max(p.get_y() + p.get_height() for p in ax.patches)
    assert tallest == 1 and ax.get_ylim()[1] > tallest * 1.05


def test_every_figure_names_and_colours_a_method_the_same_way(kb, fleet, drawn, tmp_path):
    import pandas as pd

    plots.timeline(kb, str(tmp_path / "t.png"))
    plots.outcome_by_network(fleet, str(tmp_path / "o.png"))
    plots.ttc_cdf(fleet, str(tmp_path / "c.png"))
    df = pd.DataFrame([{"run_id": 0, "method": "teredo", "last_error": None, "connected": True},
                       {"run_id": 0, "method": "iphttps", "last_error": None,
                        "connected": True}])
    plots.sweep_summary(df, [], str(tmp_path / "s.png"))
    timeline, outcome, ttc, sweep = drawn
    seen = {}
    legends = [timeline.legends[0], outcome.axes[0].get_legend(), ttc.axes[0].get_legend(),
               sweep.axes[0].get_legend()]
    for legend in legends:
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
            name = text.get_text().split(":")[0]
            if name in ("Teredo", "IP-HTTPS"):
                c = handle.get_color() if hasattr(handle, "get_linestyle") and \
                    not hasattr(handle, "get_facecolor") else handle.get_facecolor()
                seen.setdefault(name, set()).add(to_hex(c))
            assert name not in ("teredo", "iphttps"), "a simulator key in a legend"
    assert seen == {"Teredo": {plots.colour("teredo")}, "IP-HTTPS": {plots.colour("iphttps")}}


def test_the_rollout_stacks_the_tunnels_by_method_in_their_colours(drawn, tmp_path):
    series = [(0.0, 0.0, 0.0, (0, 0, 0, 0)), (3600.0, 0.5, 0.0, (0, 0, 0.3, 0.2)),
              (7200.0, 0.4, 0.2, (0, 0, 0.3, 0.1))]
    plots.connected_share(series, str(tmp_path / "r.png"), "rollout")
    ax = drawn[0].axes[0]
    fills = [to_hex(c.get_facecolor()[0]) for c in ax.collections]
    assert fills == [plots.colour("teredo"), plots.colour("iphttps"), plots.colour("inside")]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Teredo", "IP-HTTPS", plots.label("inside"), "in all"]


@pytest.mark.parametrize("kind,scenario,sets", [
    ("timeline", "mixed-fleet", ["clients.0.count=30"]),
    ("ttc", "expired-certificate", []), ("outcomes", "nls-outage", [])])
def test_the_new_cases_are_the_same_every_time(tmp_path, kind, scenario, sets):
    for suffix in (".png", ".svg"):
        made = []
        for n in (1, 2):
            out = tmp_path / f"{kind}{n}{suffix}"
            args = ["plot", str(SCEN / f"{scenario}.yaml"), "--kind", kind, "--out", str(out),
                    "--workers", "1"]
            for s in sets:
                args += ["--set", s]
            res = CliRunner().invoke(cli, args)
            assert res.exit_code == 0, res.output
            made.append(out.read_bytes())
        assert made[0] == made[1], f"{kind}{suffix} differs between two renders"


def test_the_timeline_shows_which_method_carried_the_traffic_when(drawn, tmp_path):
    """A Windows 10 laptop at home runs Teredo and IP-HTTPS side by side: IP-HTTPS carries
    the traffic from its connection until Teredo qualifies, then Teredo does; the figure
    draws those spans from the result's ``uses``, not both bars to the end."""
    result = run("home-nat")
    laptop = result["clients"][0]
    uses = [(u["t"], u["method"]) for u in laptop["uses"]]
    # IP-HTTPS goes offline when Teredo qualifies (F1.6): a moment with neither
    assert [m for _, m in uses] == ["iphttps", None, "teredo"]
    plots.timeline(result, str(tmp_path / "t.png"))
    solid = sorted((round(p.get_x(), 3), round(p.get_x() + p.get_width(), 3),
                    to_hex(p.get_facecolor())) for p in drawn[0].axes[0].patches
                   if p.get_alpha() == 0.95)
    end = result["duration_s"]
    assert solid == [(uses[0][0], uses[1][0], to_hex(plots.colour("iphttps"))),
                     (uses[2][0], end, to_hex(plots.colour("teredo")))]


def test_a_long_time_to_connect_axis_reads_in_minutes_hours_and_days(drawn, tmp_path):
    """gpo-rollout's laptops connect over three days: ticks a decade or so apart in min, h
    and d (600 1200 1800 3600 … ran together), and the office's laptops are named apart
    from those without a tunnel."""
    result = run("gpo-rollout")
    plots.ttc_cdf(result, str(tmp_path / "g.png"))
    ax = drawn[0].axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["0", "0.1", "1", "10", "1 min", "10 min", "1 h", "8 h", "1 d", "3 d"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "inside, no tunnel needed: 10 of 50 (20%)" in legend
    assert "no tunnel: 15 of 50 (30%)" in legend
