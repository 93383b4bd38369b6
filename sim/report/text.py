"""The summary people read after ``dasim run``: one line per client, the totals and, for a
fleet, the outcome of each network."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

METHODS = ("native", "6to4", "teredo", "iphttps")


def summary_table(result: dict[str, Any], limit: int = 40) -> str:
    """A fixed-width table of the run's clients (the first ``limit``) and the summary."""
    rows = [("client", "network", "location", "method", "connect (s)", "last error")]
    for c in result["clients"][:limit]:
        ttc = c["time_to_connect_s"]
        rows.append((c["name"], c["network"], c["location"] or "-", c["method"] or "none",
                     "-" if ttc is None else f"{ttc:.1f}", c["last_error"] or "-"))
    lines = [f"Scenario {result['scenario']}  seed {result['seed']}  "
             f"simulated {result['duration_s']:g} s", ""]
    lines += _columns(rows)
    hidden = len(result["clients"]) - limit
    if hidden > 0:
        lines.append(f"... and {hidden} more clients (use --json for all)")
    s = result["summary"]
    lines.append("")
    methods = ", ".join(f"{m} {n}" for m, n in s["by_method"].items()) or "none"
    lines.append(f"Connected {s['connected']} of {s['clients']} ({methods})")
    if s["by_error"]:
        errors = ", ".join(f"{e} x{n}" for e, n in s["by_error"].items())
        lines.append(f"Not connected, by last error: {errors}")
    inside = sum(c["location"] == "inside" and not c["connected"] for c in result["clients"])
    if inside:
        lines.append(f"Inside the corporate network, no tunnel needed: {inside}")
    networks = {c["network"] for c in result["clients"]}
    if len(networks) > 1 and len(result["clients"]) >= 10:
        lines += ["", "By network (time to connect of the connected: median and 90th "
                  "percentile)", *_columns(by_network(result["clients"]))]
    return "\n".join(lines) + "\n"


def by_network(clients: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """One row per network: clients, connected, how many on each method that occurs, the
    median and 90th-percentile time to connect, and why the others are not connected (their
    last error, or inside: on the corporate network, where no tunnel is needed)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in clients:
        groups[c["network"]].append(c)
    methods = [m for m in METHODS if any(c["method"] == m for c in clients)]
    rows = [("network", "clients", "connected", *methods, "median (s)", "p90 (s)",
             "not connected")]
    for name in sorted(groups):
        group = groups[name]
        on = Counter(c["method"] for c in group)
        times = sorted(c["time_to_connect_s"] for c in group if c["connected"]
                       and c["time_to_connect_s"] is not None)
        errors = Counter("inside" if c["location"] == "inside" else c["last_error"] or "no error"
                         for c in group if not c["connected"])
        rows.append((name, str(len(group)), str(sum(c["connected"] for c in group)),
                     *[str(on[m]) if on[m] else "-" for m in methods],
                     _rank(times, 0.5), _rank(times, 0.9),
                     ", ".join(f"{e} x{n}" for e, n in errors.most_common()) or "-"))
    return rows


def _rank(times: list[float], q: float) -> str:
    """The nearest-rank ``q`` quantile of sorted ``times`` (a value that occurred)."""
    if not times:
        return "-"
    return f"{times[max(0, math.ceil(len(times) * q) - 1)]:.1f}"


def _columns(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows as fixed-width columns, the first one a heading underlined."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True))
                     .rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines
