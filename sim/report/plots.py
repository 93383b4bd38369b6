"""Figures for design documents (matplotlib; PNG, SVG or PDF by the file's suffix), in the
style of ``sim.report.figstyle``.

- ``timeline``: each client's attempts per method as bars, with interface states;
- (the sequence diagram of one client's packets is ``sim.report.sequence``'s);
- ``outcome_by_network``: stacked bars of the method (or error) each network's clients ended on;
- ``ttc_cdf``: time-to-connect distributions by method;
- ``connected_share``: the share of clients that reach the intranet over time, on a
  tunnel or inside (a rollout);
- ``sweep_summary``: per combination of a sweep's parameters, the share on each method.

matplotlib is imported here only, so commands that draw nothing never pay for it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation

from sim.report import ipsec_plot
from sim.report.figstyle import (
    METHODS,
    PLAIN,
    RESULT_HATCH,
    STYLE,
    TTC_TICKS,
    Look,
    colour,
    label,
    outcome_order,
    save,
    time_unit,
    ttc_axis,
)

_outcome_order = outcome_order


def _save(fig: Any, path: str) -> str:
    return save(fig, path)


def _error_runs(attempts: list[dict[str, Any]]) -> list[tuple[float, str, int]]:
    """(start, error, count) of each run of consecutive failures with the same error code:
    a back-off that keeps failing the same way is one story, told once. Attempts that were
    not eligible are instantaneous and do not break a run."""
    runs: list[list] = []
    current = None
    for a in attempts:
        if a["result"] == "not_eligible":
            continue
        error = a.get("error") if a["result"] == "failed" else None
        if error and error == current:
            runs[-1][2] += 1
        elif error:
            runs.append([a["start_s"], error, 1])
        current = error
    return [tuple(r) for r in runs]


ROW_IN = 0.42      # height of a timeline row (inches)
LABEL_Y = 0.33     # an error label's baseline, above its row's bars (bars are 0.6 high)


def _place_labels(fig: Any, ax: Any, labels: dict[int, list[tuple[float, str]]],
                  end: float, lift: float = 0.0) -> None:
    """Write each row's error labels above its bars, each at its first failure, none over
    another: a label that would run into the one before joins it (``A ×6 → B``: the errors
    in turn), and the last moves left rather than leave the axes."""
    renderer = fig.canvas.get_renderer()
    x_per_px = end / ax.get_window_extent(renderer).width
    pad = 6 * x_per_px

    def right(t: Any) -> float:
        return t.get_position()[0] + t.get_window_extent(renderer).width * x_per_px

    for row, items in labels.items():
        placed: list[Any] = []   # this row's texts, left to right
        for start, text in items:
            if placed and start < right(placed[-1]) + pad:
                placed[-1].set_text(f"{placed[-1].get_text()} → {text}")
            else:
                placed.append(ax.text(start, row + LABEL_Y + lift, text, ha="left", va="bottom",
                                      fontsize=6, color="#333333"))
        while placed:
            last = placed[-1]
            x = min(last.get_position()[0], end - (right(last) - last.get_position()[0]))
            last.set_x(max(x, 0.0))
            if len(placed) < 2 or x >= right(placed[-2]) + pad:
                break
            placed[-2].set_text(f"{placed[-2].get_text()} → {last.get_text()}")
            last.remove()
            placed.pop()


def timeline(result: dict[str, Any], path: str, clients: int = 12, look: Look = PLAIN) -> str:
    """Attempts of the first ``clients`` clients: one row per client, one bar per attempt;
    a cross marks a method that was not eligible, and each run of failures with the same
    error code carries one label (the code and how many times)."""
    with plt.rc_context(STYLE):
        everyone = result["clients"]
        shown = everyone[:clients]
        rows = max(len(shown), 1)
        title = look.heading(f"{result['scenario']}: connection attempts by method")
        if len(shown) < len(everyone):
            title += f"\nthe first {len(shown)} of {len(everyone)} clients"
        # fixed margins in inches: the title, the axis and the legend keep their place
        # whatever the number of rows (no blank band, no label in the title)
        top_in = 0.35 + 0.18 * title.count("\n")
        axes_in = ROW_IN * rows + 0.1
        bottom_in = 0.72
        width, height = look.figsize(8, top_in + axes_in + bottom_in)
        fig, ax = plt.subplots(figsize=(width, height))
        fig.subplots_adjust(left=0.14, right=0.98, top=1 - top_in / height,
                            bottom=bottom_in / height)
        end = result["duration_s"]
        methods, results, labels, ipsec = set(), set(), {}, set()
        lift = ipsec_plot.LIFT if any("directaccess" in c for c in shown) else 0.0
        for row, c in enumerate(reversed(shown)):
            _timeline_row(fig, ax, row, c["attempts"], _uses(c), end, methods, results)
            if "directaccess" in c:   # the IPsec layer above the transition bars
                ipsec_plot.draw_strip(ax, row, c["directaccess"]["history"], end, ipsec)
            runs = _error_runs(c["attempts"])
            if runs:
                labels[row] = [(s, e if n == 1 else f"{e} ×{n}") for s, e, n in runs]
        ax.set_yticks(range(len(shown)), [c["name"] for c in reversed(shown)])
        ax.set_ylim(-0.45, rows - 1 + LABEL_Y + lift + 0.32)
        ax.set_xlabel("simulated time (s)")
        ax.set_xlim(0, end)
        ax.set_title(title)
        _place_labels(fig, ax, labels, end, lift)
        _timeline_legend(fig, methods, results, height, ipsec)
        return _save(fig, path)


def _uses(client: dict[str, Any]) -> list[tuple[float, str | None]]:
    """When each method took the traffic over; from the connected attempts for a run saved
    before results carried ``uses``."""
    if "uses" in client:
        return [(u["t"], u["method"]) for u in client["uses"]]
    return sorted((a["end_s"], a["method"]) for a in client["attempts"]
                  if a["result"] == "connected")


def _timeline_row(fig: Any, ax: Any, row: int, attempts: list[dict[str, Any]],
                  uses: list[tuple[float, str | None]], end: float,
                  methods: set, results: set) -> None:
    """One client's bars (and crosses), adding the methods and results drawn to the sets."""
    blocked = 0
    for a in attempts:
        start = a["start_s"]
        if a["result"] == "not_eligible":
            # instantaneous, and at the start of the next method's bar: a cross
            # drawn over that bar's left end, stacked when several fall together
            shift = ScaledTranslation(4 / 72, (5 - 6.5 * blocked) / 72,
                                      fig.dpi_scale_trans)
            ax.plot([start], [row], marker="X", markersize=5.5, linestyle="none",
                    color=colour(a["method"]), markeredgecolor="white",
                    markeredgewidth=0.6, transform=ax.transData + shift,
                    clip_on=False, zorder=4)
            blocked += 1
            methods.add(a["method"])
            results.add("not_eligible")
            continue
        blocked = 0
        stop = a["end_s"] if a["end_s"] is not None else end
        width = max(stop - start, end * 0.004)
        if a["result"] == "connected":   # its set-up: light; its traffic: drawn from uses
            ax.barh(row, width, left=start, height=0.6, color=colour(a["method"]),
                    edgecolor="white", alpha=0.3)
        else:
            ax.barh(row, width, left=start, height=0.6, color=colour(a["method"]),
                    hatch=RESULT_HATCH.get(a["result"], ""), edgecolor="white", alpha=0.55)
        methods.add(a["method"])
        if a["result"] != "connected" or stop - start > end * 0.004:   # visible
            results.add("connecting" if a["result"] == "connected" else a["result"])
    untils = [u[0] for u in uses[1:]] + [end]
    for (t, method), until in zip(uses, untils[:len(uses)], strict=True):
        if method is not None and until > t:   # the method that carried the traffic
            ax.barh(row, until - t, left=t, height=0.6, color=colour(method),
                    edgecolor="white", alpha=0.95, zorder=3)
            methods.add(method)


def _timeline_legend(fig: Any, methods: set, results: set, height: float,
                     ipsec: set = frozenset()) -> None:
    """The methods drawn, then failed and not eligible if any were, then the IPsec states."""
    shown_methods = [m for m in METHODS if m in methods]
    handles = [Rectangle((0, 0), 1, 1, color=colour(m)) for m in shown_methods]
    names = [label(m) for m in shown_methods]
    if "connecting" in results:
        handles.append(Rectangle((0, 0), 1, 1, color="grey", alpha=0.3))
        names.append("connecting")
    if "failed" in results:
        handles.append(Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="grey",
                                 hatch=RESULT_HATCH["failed"]))
        names.append("failed")
    if "not_eligible" in results:
        handles.append(Line2D([], [], marker="X", color="grey", linestyle="none",
                              markersize=6))
        names.append("not eligible")
    more, more_names = ipsec_plot.legend_entries(ipsec)
    handles, names = handles + more, names + more_names
    fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=7,
               frameon=False, bbox_to_anchor=(0.5, 0.02 / height))


def _outcome(method: str | None, last_error: str | None, location: str | None = None,
             directaccess: dict[str, Any] | None = None) -> str:
    """How a client ended: the method that carries its traffic, inside the corporate network
    (no tunnel needed), or none and why; with IPsec modelled, a tunnel that DirectAccess
    does not connect over reaches nothing (``none (Teredo up, IKE 13801)``)."""
    if (method and directaccess is not None and location != "inside"
            and directaccess["status"] != "ConnectedRemotely"):
        why = f"IKE {directaccess['error']}" if directaccess.get("error") \
            else directaccess["status"]
        return f"none ({label(method)} up, {why})"
    if method:
        return method
    if location == "inside":
        return "inside"
    return f"none ({last_error})" if last_error else "none"


def outcome_by_network(result: dict[str, Any], path: str, look: Look = PLAIN) -> str:
    """Stacked bars: how each network's clients ended (method, or the last error), each
    segment with its count and each bar with its total."""
    with plt.rc_context(STYLE):
        counts: dict[str, Counter] = defaultdict(Counter)
        for c in result["clients"]:
            counts[c["network"]][_outcome(c["method"], c["last_error"], c["location"],
                                          c.get("directaccess"))] += 1
        networks = sorted(counts)
        outcomes = _outcome_order({o for cnt in counts.values() for o in cnt})
        nones = [o for o in outcomes if o.startswith("none")]
        fig, ax = plt.subplots(figsize=look.figsize(max(5, 1.1 * len(networks)), 3.6))
        bottom = [0] * len(networks)
        mixed = [len(+counts[n]) > 1 for n in networks]   # bars of more than one outcome
        for outcome in outcomes:
            values = [counts[n][outcome] for n in networks]
            bars = ax.bar(networks, values, bottom=bottom, label=label(outcome),
                          color=colour(outcome, nones))
            # the count inside its segment, where a bar has several (the total is on top)
            ax.bar_label(bars, labels=[str(v) if v and m else "" for v, m in
                                       zip(values, mixed, strict=True)],
                         label_type="center", fontsize=6, color="white")
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        for x, total in enumerate(bottom):
            ax.text(x, total, str(total), ha="center", va="bottom", fontsize=7)
        ax.set_ylabel("clients")
        # whole clients only, and room above the tallest bar
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, max(bottom) * 1.12 if bottom else 1)
        total = len(result["clients"])
        ax.set_title(look.heading(f"{result['scenario']}: outcome by network "
                                  f"({total} client{'' if total == 1 else 's'})"))
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
        return _save(fig, path)


def ttc_cdf(result: dict[str, Any], path: str, look: Look = PLAIN) -> str:
    """The share of all the run's clients connected by each time, one curve per method:
    each curve ends at the share its method carries, and the curves sum to the share that
    connected at all (the rest never did, or needed no tunnel)."""
    with plt.rc_context(STYLE):
        everyone = result["clients"]
        total = len(everyone)
        by_method: dict[str, list[float]] = defaultdict(list)
        for c in everyone:
            if c["method"] and c["time_to_connect_s"] is not None:
                by_method[c["method"]].append(c["time_to_connect_s"])
        title = look.heading(f"{result['scenario']}: time to connect "
                             f"({total} client{'' if total == 1 else 's'})")
        if not by_method:
            fig, ax = plt.subplots(figsize=look.figsize(5.5, 2.2))
            errors = Counter(c["last_error"] or "no error" for c in everyone
                             if c["location"] != "inside")
            why = ", ".join(f"{e} ×{n}" if n > 1 else e for e, n in sorted(errors.items()))
            note = f"\n(last error: {why})" if why else ""
            ax.text(0.5, 0.5, f"no client connected{note}",
                    ha="center", va="center", fontsize=10, transform=ax.transAxes)
            ax.set_axis_off()
            ax.set_title(title)
            return _save(fig, path)
        fig, ax = plt.subplots(figsize=look.figsize(6.8, 3.4))
        latest = max(t for times in by_method.values() for t in times)
        right = next((t for t in TTC_TICKS if t >= latest * 1.25), latest * 1.25)
        curves = [(m, sorted(by_method[m])) for m in _outcome_order(by_method)]
        if len(curves) > 1:
            curves.append(("any", sorted(t for times in by_method.values() for t in times)))
        for method, times in curves:
            # from the origin, one step per client, and on to the axis' end: the plateau
            # is the share this method carries
            xs = [0.0, *times, right]
            ys = [0.0, *((i + 1) / total for i in range(len(times))), len(times) / total]
            name = "any method" if method == "any" else label(method)
            ax.step(xs, ys, where="post", color="black" if method == "any" else colour(method),
                    lw=0.9 if method == "any" else 1.6, ls="--" if method == "any" else "-",
                    label=f"{name}: {len(times)} of {total} ({len(times) / total:.0%})")
        connected = sum(len(t) for t in by_method.values())
        inside = sum(1 for c in result["clients"] if c["location"] == "inside"
                     and c["time_to_connect_s"] is None)
        for n, what in ((inside, "inside, no tunnel needed"),
                        (total - connected - inside, "no tunnel")):
            if n > 0:
                ax.plot([], [], " ", label=f"{what}: {n} of {total} ({n / total:.0%})")
        ttc_axis(ax, right)
        ax.set_ylabel("share of all clients")
        ax.set_ylim(0, 1.02)
        ax.set_title(title)
        ax.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
        return _save(fig, path)


def connected_share(series: list[tuple], path: str, title: str,
                    events: list[tuple[float, str]] = (), look: Look = PLAIN) -> str:
    """The share of clients on a DirectAccess tunnel over time, stacked by method, and on
    them the share inside the corporate network (in the office, where no tunnel is needed):
    together, the laptops that reach the intranet. The run's events are marked. Rows are
    ``Fleet.series``'s ``(t, tunnel, inside, by method)``."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=look.figsize(6.5, 3.2))
        unit, name = time_unit(series[-1][0] if series else 0.0)
        ts = [t / unit for t, *_ in series]
        bottom = [0.0] * len(series)
        for i, method in enumerate(METHODS):
            top = [b + row[3][i] for b, row in zip(bottom, series, strict=True)]
            if any(row[3][i] for row in series):
                ax.fill_between(ts, bottom, top, step="post", color=colour(method),
                                label=label(method), lw=0)
            bottom = top
        reach = [b + row[2] for b, row in zip(bottom, series, strict=True)]
        if any(row[2] for row in series):
            ax.fill_between(ts, bottom, reach, step="post", color=colour("inside"),
                            label=label("inside"), lw=0)
        ax.step(ts, reach, where="post", color="black", lw=0.8, label="in all")
        ax.set_xlim(0, ts[-1] if ts and ts[-1] > 0 else None)
        for t, text in events:
            ax.axvline(t / unit, color="grey", ls="--", lw=0.8)
            ax.text(t / unit, 1.0, text, rotation=90, va="top", ha="right", fontsize=6)
        ax.set_xlabel(f"simulated time ({name})")
        ax.set_ylabel("share of clients")
        ax.set_ylim(0, 1.05)
        ax.set_title(look.heading(title))
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
        return _save(fig, path)


def _above_rows(df: Any) -> list[dict[str, Any] | None]:
    """Each sweep row's DirectAccess status and IKE error, as a result's ``directaccess``
    (None for rows without the IPsec layer)."""
    import pandas as pd

    if "directaccess" not in df:
        return [None] * len(df)
    return [None if pd.isna(st) else {"status": st, "error": None if pd.isna(ike) else ike}
            for st, ike in zip(df["directaccess"], df["ike_error"], strict=True)]


def sweep_summary(df: Any, params: list[str], path: str,
                  fixed: dict[str, Any] | None = None, scenario: str | None = None) -> str:
    """Per parameter combination, the share of clients on each method (or without one, by
    their last error), stacked, with the spread of the connected share over replications:
    how many connect, and by which method, as a parameter changes. ``fixed``: the sweep's
    constants, named under the title."""
    import pandas as pd  # 0.6 s to import: only a sweep's figure (of its table) needs it

    with plt.rc_context(STYLE):
        where = df["location"] if "location" in df else [None] * len(df)
        above = _above_rows(df)
        df = df.assign(outcome=[_outcome(None if pd.isna(m) else m,
                                         None if pd.isna(e) else e,
                                         None if pd.isna(w) else w, da)
                                for m, e, w, da in zip(df["method"], df["last_error"], where,
                                                       above, strict=True)])
        keys = params or [df["run_id"].map(lambda _: "all runs")]
        # combinations in the order of the --set values, as the runs were planned
        shares = (df.groupby(keys, sort=False)["outcome"].value_counts(normalize=True)
                  .unstack(fill_value=0.0))
        # reaching the intranet: on a tunnel, or inside the office (no tunnel needed)
        df = df.assign(reach=~df["outcome"].str.startswith("none"))
        spread = (df.groupby([*keys, "run_id"], sort=False)["reach"].mean()
                  .groupby(level=list(range(len(keys))), sort=False).agg(["min", "max"]))
        labels = [", ".join(map(str, k if isinstance(k, tuple) else (k,)))
                  for k in shares.index]
        outcomes = _outcome_order(shares.columns)
        nones = [o for o in outcomes if o.startswith("none")]
        fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(labels)), 3.4))
        bottom = [0.0] * len(labels)
        for outcome in outcomes:
            values = shares[outcome].to_list()
            ax.bar(labels, values, bottom=bottom, label=label(outcome),
                   color=colour(outcome, nones))
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        reach = sum((shares[o] for o in outcomes if not o.startswith("none")),
                    start=pd.Series(0.0, index=shares.index))
        if df.groupby(keys, sort=False)["run_id"].nunique().max() > 1:   # replications
            ax.errorbar(labels, reach.to_list(), fmt="none", ecolor="black", capsize=3,
                        yerr=[(reach - spread["min"]).clip(lower=0).to_list(),
                              (spread["max"] - reach).clip(lower=0).to_list()],
                        label="reaching the intranet: min–max over replications")
        if "probes_answered" in df and df["probes_answered"].notna().any():
            # a tunnel can be up and still lose traffic (a NAT binding that expires between
            # Teredo refreshes): the connectivity assistant's checks show it
            sums = df.groupby(keys, sort=False)[["probes_answered", "probes_unanswered"]].sum()
            answered = sums["probes_answered"] / sums.sum(axis=1)
            ax.plot(labels, answered.reindex(shares.index).to_list(), "D", color="white",
                    markeredgecolor="black", label="connectivity checks answered")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("share")
        title = " × ".join(params) if params else "sweep"
        title = f"{scenario}: {title}" if scenario else title
        if fixed:
            title += "\nwith " + ", ".join(f"{p}={v}" for p, v in fixed.items())
        ax.set_title(title)
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
        return _save(fig, path)
