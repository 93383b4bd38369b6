"""The summary people read after ``dasim run``: one line per client, then the totals."""

from __future__ import annotations

from typing import Any


def summary_table(result: dict[str, Any], limit: int = 40) -> str:
    """A fixed-width table of the run's clients (the first ``limit``) and the summary."""
    rows = [("client", "network", "location", "method", "connect (s)", "last error")]
    for c in result["clients"][:limit]:
        ttc = c["time_to_connect_s"]
        rows.append((c["name"], c["network"], c["location"] or "-", c["method"] or "none",
                     "-" if ttc is None else f"{ttc:.1f}", c["last_error"] or "-"))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = [f"Scenario {result['scenario']}  seed {result['seed']}  "
             f"simulated {result['duration_s']:g} s", ""]
    for n, row in enumerate(rows):
        lines.append("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True))
                     .rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
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
    return "\n".join(lines) + "\n"
