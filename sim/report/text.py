"""The summary people read after ``dasim run``: one line per client, the totals and, for a
fleet, the outcome of each network."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any

from sim.directaccess.result import DEGRADED_LOSS

METHODS = ("native", "6to4", "teredo", "iphttps")


# above this many clients the run's table gives one row per network, not per client
FLEET_ROWS = 20


def summary_table(result: dict[str, Any], limit: int | None = None) -> str:
    """A fixed-width table of the run's clients and the summary. A fleet (more than
    ``FLEET_ROWS`` clients) is summarised by network; ``limit`` lists that many clients
    (``None``: each one of a run up to ``FLEET_ROWS``, none of a fleet)."""
    clients = result["clients"]
    if limit is None:
        limit = len(clients) if len(clients) <= FLEET_ROWS else 0
    checks = any("probes" in c for c in clients)
    ipsec = any("directaccess" in c for c in clients)
    lines = [f"Scenario {result['scenario']}  seed {result['seed']}  "
             f"simulated {result['duration_s']:g} s", ""]
    if limit:
        lines += _columns(_client_rows(clients[:limit], checks, ipsec))
    hidden = len(clients) - limit
    if hidden > 0 and limit:
        lines.append(f"... and {hidden} more clients (--all-clients lists each; --json "
                     "gives everything)")
    elif hidden > 0:
        lines.append(f"{len(clients)} clients, by network below (--all-clients lists each; "
                     "--json gives everything)")
    s = result["summary"]
    lines.append("")
    methods = ", ".join(f"{m} {n}" for m, n in s["by_method"].items()) or "none"
    if ipsec:   # the tunnel is one thing, DirectAccess working above it another
        remote = s["by_directaccess"].get("ConnectedRemotely", 0)
        lines.append(f"DirectAccess connected {remote} of {s['clients']}; transition tunnel "
                     f"up {s['connected']} of {s['clients']} ({methods})")
    else:
        lines.append(f"Connected {s['connected']} of {s['clients']} ({methods})")
    if checks:
        lines.append(_checks_line(s))
    if ipsec:
        statuses = ", ".join(f"{st} {n}" for st, n in s["by_directaccess"].items())
        lines.append(f"DirectAccess (IPsec above the tunnel): {statuses}")
    if s["by_error"]:
        errors = ", ".join(f"{e} x{n}" for e, n in s["by_error"].items())
        lines.append(f"Not connected, by last error: {errors}")
    flapping = [c for c in clients if c.get("nls_through_tunnel")]
    if flapping:
        times = sum(c["nls_through_tunnel"] for c in flapping)
        lines.append(f"Reached the NLS through their own tunnel and turned DirectAccess off "
                     f"as if inside: {len(flapping)} ({times} times; the NLS's name has no "
                     "NRPT exemption: dasim explain)")
    inside = sum(c["location"] == "inside" and not c["connected"] for c in clients)
    if inside:
        lines.append(f"Inside the corporate network, no tunnel needed: {inside}")
    networks = {c["network"] for c in clients}
    if hidden > 0 or (len(networks) > 1 and len(clients) >= 10):
        lines += ["", "By network (time to connect of the connected: median and 90th "
                  "percentile)", *_columns(by_network(clients))]
    return "\n".join(lines) + "\n"


def _client_rows(clients: list[dict[str, Any]], checks: bool,
                 ipsec: bool = False) -> list[tuple[str, ...]]:
    """One row per client; with connectivity checks, how many were lost and whether the
    tunnel is degraded; with the IPsec layer, DirectAccess's status and its IKE error."""
    head = ("client", "network", "location", "method", "connect (s)", "last error")
    rows = [head + (("checks lost", "quality") if checks else ())
            + (("directaccess", "ike error") if ipsec else ())]
    for c in clients:
        ttc = c["time_to_connect_s"]
        row = (c["name"], c["network"], c["location"] or "-", c["method"] or "none",
               "-" if ttc is None else f"{ttc:.1f}", c["last_error"] or "-")
        if checks:
            row += _quality(c.get("probes"))
        if ipsec:
            da = c.get("directaccess") or {}
            row += (da.get("status") or "-", da.get("error") or "-")
        rows.append(row)
    return rows


def _quality(probes: dict[str, Any] | None) -> tuple[str, str]:
    """``("17 of 34", "degraded")``; ``("-", "-")`` when no check was sent."""
    if not probes or not probes["answered"] + probes["unanswered"]:
        return ("-", "-")
    sent = probes["answered"] + probes["unanswered"]
    return (f"{probes['unanswered']} of {sent}",
            "degraded" if probes["degraded"] else "healthy")


def _checks_line(s: dict[str, Any]) -> str:
    """The connectivity checks of the whole run, and how many clients are degraded."""
    p = s.get("probes") or {"answered": 0, "unanswered": 0}
    sent = p["answered"] + p["unanswered"]
    lost = f" ({p['unanswered'] / sent:.0%})" if sent else ""
    return (f"Connectivity checks: {p['answered']} answered, {p['unanswered']} lost{lost}; "
            f"degraded {s.get('degraded', 0)} (more than {DEGRADED_LOSS:.0%} of their "
            "checks lost)")


def by_network(clients: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """One row per network: clients, connected, how many on each method that occurs, the
    median and 90th-percentile time to connect, and why the others are not connected (their
    last error, or inside: on the corporate network, where no tunnel is needed)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in clients:
        groups[c["network"]].append(c)
    methods = [m for m in METHODS if any(c["method"] == m for c in clients)]
    checks = any("probes" in c for c in clients)
    rows = [("network", "clients", "connected", *methods, "median (s)", "p90 (s)",
             *(("degraded", "checks lost") if checks else ()), "not connected")]
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
                     *(_network_checks(group) if checks else ()),
                     ", ".join(f"{e} x{n}" for e, n in errors.most_common()) or "-"))
    return rows


def _network_checks(group: list[dict[str, Any]]) -> tuple[str, str]:
    """A network's degraded clients and the share of its checks lost."""
    probes = [c["probes"] for c in group if c.get("probes")]
    sent = sum(p["answered"] + p["unanswered"] for p in probes)
    lost = sum(p["unanswered"] for p in probes)
    return (str(sum(p["degraded"] for p in probes)), f"{lost / sent:.0%}" if sent else "-")


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
