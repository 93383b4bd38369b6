"""Figures for design documents (matplotlib, PNG or SVG by the file's suffix), one style.

- ``timeline``: each client's attempts per method as bars, with interface states;
- ``sequence``: the exchanges of one client across the devices it crossed;
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

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

METHOD_COLOURS = {"native": "#4c72b0", "6to4": "#8172b2", "teredo": "#55a868",
                  "iphttps": "#dd8452", None: "#c44e52", "none": "#c44e52",
                  "inside": "#a1b3d3"}   # on the corporate network: no tunnel needed
RESULT_HATCH = {"failed": "////", "not_eligible": "..", "connected": "", "running": "",
                "standby": "xx"}
STYLE = {"figure.dpi": 120, "font.size": 9, "axes.spines.top": False,
         "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
         "savefig.bbox": "tight",
         # SVG element ids from a fixed salt, not a random one: the same figure twice is the
         # same file (else every re-render is a diff in the documentation's figures)
         "svg.hashsalt": "dasim"}


def _save(fig: Any, path: str) -> str:
    fig.savefig(path, metadata={"Software": "dasim"} if path.endswith(".png") else
                {"Creator": "dasim", "Date": None})
    plt.close(fig)
    return path


def timeline(result: dict[str, Any], path: str, clients: int = 12) -> str:
    """Attempts of the first ``clients`` clients: one row per client, one bar per attempt."""
    with plt.rc_context(STYLE):
        shown = result["clients"][:clients]
        fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * max(len(shown), 1)))
        end = result["duration_s"]
        for row, c in enumerate(reversed(shown)):
            last_label = -end
            for a in c["attempts"]:
                start = a["start_s"]
                stop = a["end_s"] if a["end_s"] is not None else end
                if a["result"] == "connected":
                    stop = end
                width = max(stop - start, end * 0.004)
                ax.barh(row, width, left=start, height=0.6,
                        color=METHOD_COLOURS.get(a["method"], "#999999"),
                        hatch=RESULT_HATCH.get(a["result"], ""), edgecolor="white",
                        alpha=0.9 if a["result"] == "connected" else 0.55)
                if a.get("error") and start - last_label > end * 0.09:
                    # one label per cluster of failures keeps the row readable
                    ax.text(start, row + 0.38, a["error"], ha="left", va="bottom",
                            fontsize=6, color="#333333")
                    last_label = start
        ax.set_yticks(range(len(shown)), [c["name"] for c in reversed(shown)])
        ax.set_xlabel("simulated time (s)")
        ax.set_xlim(0, end)
        ax.set_title(f"{result['scenario']}: connection attempts by method")
        handles = [plt.Rectangle((0, 0), 1, 1, color=METHOD_COLOURS[m]) for m in
                   ("native", "6to4", "teredo", "iphttps")]
        handles += [plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="grey",
                                  hatch=RESULT_HATCH[r]) for r in ("failed", "not_eligible")]
        ax.legend(handles, ["native", "6to4", "Teredo", "IP-HTTPS", "failed",
                            "not eligible"], loc="upper center", ncol=6, fontsize=7,
                  bbox_to_anchor=(0.5, -0.25 if len(shown) > 2 else -0.6), frameon=False)
        return _save(fig, path)


def sequence(records: list[tuple[float, str, str, str]], path: str, title: str) -> str:
    """A sequence diagram: ``records`` are (time, from, to, label) hops between devices."""
    with plt.rc_context({**STYLE, "axes.grid": False}):
        lanes = list(dict.fromkeys(n for r in records for n in (r[1], r[2])))
        x = {n: i for i, n in enumerate(lanes)}
        fig, ax = plt.subplots(figsize=(1.8 * max(len(lanes), 2), 0.3 * len(records) + 1.2))
        for i, _name in enumerate(lanes):
            ax.axvline(i, color="grey", lw=0.8)
        for n, (t, src, dst, label) in enumerate(records):
            y = -n
            ax.annotate("", xy=(x[dst], y), xytext=(x[src], y),
                        arrowprops={"arrowstyle": "->", "color": "#4c72b0", "lw": 1})
            ax.text((x[src] + x[dst]) / 2, y + 0.12, f"{label}  (t={t:.2f} s)",
                    ha="center", fontsize=6)
        ax.set_xticks(range(len(lanes)), lanes, fontsize=7)
        ax.xaxis.tick_top()
        ax.set_yticks([])
        ax.set_ylim(-len(records), 1)
        ax.set_title(title, pad=20)
        return _save(fig, path)


def _outcome(method: str | None, last_error: str | None, location: str | None = None) -> str:
    """How a client ended: the method that carries its traffic, inside the corporate network
    (no tunnel needed), or none and why."""
    if method:
        return method
    if location == "inside":
        return "inside"
    return f"none ({last_error})" if last_error else "none"


def outcome_by_network(result: dict[str, Any], path: str) -> str:
    """Stacked bars: how each network's clients ended (method, or the last error)."""
    with plt.rc_context(STYLE):
        counts: dict[str, Counter] = defaultdict(Counter)
        for c in result["clients"]:
            counts[c["network"]][_outcome(c["method"], c["last_error"], c["location"])] += 1
        networks = sorted(counts)
        outcomes = sorted({o for cnt in counts.values() for o in cnt},
                          key=lambda o: (o.startswith("none"), o))
        fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(networks)), 3.6))
        bottom = [0] * len(networks)
        palette = plt.get_cmap("Reds")
        for k, outcome in enumerate(outcomes):
            values = [counts[n][outcome] for n in networks]
            colour = METHOD_COLOURS.get(outcome) or palette(0.4 + 0.5 * k / len(outcomes))
            ax.bar(networks, values, bottom=bottom, label=outcome, color=colour)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_ylabel("clients")
        ax.set_title(f"{result['scenario']}: outcome by network")
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
        return _save(fig, path)


def ttc_cdf(result: dict[str, Any], path: str) -> str:
    """Cumulative share of clients connected by time, one curve per method."""
    with plt.rc_context(STYLE):
        by_method: dict[str, list[float]] = defaultdict(list)
        for c in result["clients"]:
            if c["method"] and c["time_to_connect_s"] is not None:
                by_method[c["method"]].append(c["time_to_connect_s"])
        fig, ax = plt.subplots(figsize=(5.5, 3.4))
        for method, times in sorted(by_method.items()):
            times.sort()
            ys = [(i + 1) / len(times) for i in range(len(times))]
            ax.step(times, ys, where="post", label=f"{method} (n={len(times)})",
                    color=METHOD_COLOURS.get(method))
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlabel("time to connect (s)")
        ax.set_ylabel("share of clients")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{result['scenario']}: time to connect")
        ax.legend(frameon=False, fontsize=7)
        return _save(fig, path)


def connected_share(series: list[tuple[float, float, float]], path: str, title: str,
                    events: list[tuple[float, str]] = ()) -> str:
    """The share of clients on a DirectAccess tunnel over time and, stacked on it, the share
    inside the corporate network (in the office, where no tunnel is needed): together, the
    laptops that reach the intranet. The run's events are marked."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(6.5, 3.2))
        ts = [t / 3600 for t, _, _ in series]
        tunnel = [s for _, s, _ in series]
        reach = [s + i for _, s, i in series]
        ax.fill_between(ts, 0, tunnel, step="post", color=METHOD_COLOURS["iphttps"],
                        label="on a DirectAccess tunnel", lw=0)
        if any(i for _, _, i in series):
            ax.fill_between(ts, tunnel, reach, step="post", color=METHOD_COLOURS["inside"],
                            label="inside the corporate network", lw=0)
        ax.step(ts, reach, where="post", color="black", lw=0.8)
        for t, label in events:
            ax.axvline(t / 3600, color="grey", ls="--", lw=0.8)
            ax.text(t / 3600, 1.0, label, rotation=90, va="top", ha="right", fontsize=6)
        ax.set_xlabel("simulated time (h)")
        ax.set_ylabel("share of clients")
        ax.set_ylim(0, 1.05)
        ax.set_title(title)
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
        return _save(fig, path)


def sweep_summary(df: Any, params: list[str], path: str,
                  fixed: dict[str, Any] | None = None) -> str:
    """Per parameter combination, the share of clients on each method (or without one, by
    their last error), stacked, with the spread of the connected share over replications:
    how many connect, and by which method, as a parameter changes. ``fixed``: the sweep's
    constants, named under the title."""
    import pandas as pd

    with plt.rc_context(STYLE):
        df = df.assign(outcome=[_outcome(None if pd.isna(m) else m,
                                         None if pd.isna(e) else e)
                                for m, e in zip(df["method"], df["last_error"], strict=True)])
        keys = params or [df["run_id"].map(lambda _: "all runs")]
        # combinations in the order of the --set values, as the runs were planned
        shares = (df.groupby(keys, sort=False)["outcome"].value_counts(normalize=True)
                  .unstack(fill_value=0.0))
        spread = (df.groupby([*keys, "run_id"], sort=False)["connected"].mean()
                  .groupby(level=list(range(len(keys))), sort=False).agg(["min", "max"]))
        labels = [", ".join(map(str, k if isinstance(k, tuple) else (k,)))
                  for k in shares.index]
        outcomes = sorted(shares.columns, key=lambda o: (o.startswith("none"), o))
        fig, ax = plt.subplots(figsize=(max(5, 0.9 * len(labels)), 3.4))
        bottom = [0.0] * len(labels)
        palette = plt.get_cmap("Reds")
        for k, outcome in enumerate(outcomes):
            values = shares[outcome].to_list()
            colour = METHOD_COLOURS.get(outcome) or palette(0.4 + 0.5 * k / len(outcomes))
            ax.bar(labels, values, bottom=bottom, label=outcome, color=colour)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        connected = sum((shares[o] for o in outcomes if not o.startswith("none")),
                        start=pd.Series(0.0, index=shares.index))
        ax.errorbar(labels, connected.to_list(), fmt="none", ecolor="black", capsize=3,
                    yerr=[(connected - spread["min"]).clip(lower=0).to_list(),
                          (spread["max"] - connected).clip(lower=0).to_list()],
                    label="connected: min–max over replications")
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
        if fixed:
            title += "\nwith " + ", ".join(f"{p}={v}" for p, v in fixed.items())
        ax.set_title(title)
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
        return _save(fig, path)
