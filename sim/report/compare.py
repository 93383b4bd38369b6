"""``dasim compare``: what changed between two runs (two scenarios, one scenario with other
``--set`` values, or saved runs), as tables: per client, the outcome, method and time to
connect on each side; per network, how many connected and on which method.

An outcome is what a figure calls it: the method that carries the client's traffic (marked
degraded when its connectivity checks are mostly lost), inside the corporate network, or
``none (last error)``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sim.report.text import _columns, _rank


def outcome(c: dict[str, Any]) -> str:
    """The method (``teredo (degraded)`` when its checks lose more than DEGRADED_LOSS),
    inside, or none and why; with IPsec modelled, a tunnel DirectAccess does not connect
    over is ``none (teredo up, IKE 13801)``."""
    da = c.get("directaccess")
    if c["method"] and da is not None and c["location"] != "inside" \
            and da["status"] != "ConnectedRemotely":
        why = f"IKE {da['error']}" if da.get("error") else da["status"]
        return f"none ({c['method']} up, {why})"
    if c["method"]:
        degraded = (c.get("probes") or {}).get("degraded")
        return f"{c['method']} (degraded)" if degraded else c["method"]
    if c["location"] == "inside":
        return "inside"
    return f"none ({c['last_error']})" if c["last_error"] else "none"


def _ttc(c: dict[str, Any] | None) -> str:
    if c is None or c["time_to_connect_s"] is None or not c["connected"]:
        return "-"
    return f"{c['time_to_connect_s']:.1f}"


def client_rows(a: dict, b: dict, everyone: bool = False) -> tuple[list[tuple], int, int]:
    """Rows of the per-client table (changed ones only, unless ``everyone``), how many
    clients changed their outcome, and how many there are on either side."""
    left = {c["name"]: c for c in a["clients"]}
    right = {c["name"]: c for c in b["clients"]}
    names = list(dict.fromkeys([*left, *right]))
    rows = [("client", "network", "A", "B", "A connect (s)", "B connect (s)", "changed")]
    changed = 0
    for name in names:
        ca, cb = left.get(name), right.get(name)
        oa = outcome(ca) if ca else "(not in A)"
        ob = outcome(cb) if cb else "(not in B)"
        network = (ca or cb)["network"]
        if cb and ca and cb["network"] != ca["network"]:
            network = f"{ca['network']} → {cb['network']}"
        differs = oa != ob
        changed += differs
        slower = _ttc(ca) != _ttc(cb)
        if differs or everyone or slower:
            what = "outcome" if differs else "time" if slower else "-"
            rows.append((name, network, oa, ob, _ttc(ca), _ttc(cb), what))
    return rows, changed, len(names)


def network_rows(a: dict, b: dict) -> list[tuple]:
    """One row per network: clients, connected, the outcomes and the median time to
    connect, A → B."""
    groups: dict[str, list[list]] = defaultdict(lambda: [[], []])
    for side, result in enumerate((a, b)):
        for c in result["clients"]:
            groups[c["network"]][side].append(c)
    rows = [("network", "clients A → B", "connected A → B", "outcomes A → B",
             "median connect (s) A → B")]
    for name in sorted(groups):
        ga, gb = groups[name]
        oa, ob = Counter(map(outcome, ga)), Counter(map(outcome, gb))
        moved = [f"{o} {oa[o]} → {ob[o]}" for o in sorted(set(oa) | set(ob))
                 if oa[o] != ob[o]]
        times = [sorted(c["time_to_connect_s"] for c in g if c["connected"]
                        and c["time_to_connect_s"] is not None) for g in (ga, gb)]
        rows.append((name, f"{len(ga)} → {len(gb)}",
                     f"{sum(c['connected'] for c in ga)} → {sum(c['connected'] for c in gb)}",
                     ", ".join(moved) or "same", f"{_rank(times[0], 0.5)} → "
                     f"{_rank(times[1], 0.5)}"))
    return rows


def comparison(a: dict, b: dict, label_a: str, label_b: str, by: str = "auto",
               everyone: bool = False) -> str:
    """The comparison as text: the two sides named, then the per-client table (a run of up
    to 40 clients, or ``by="client"``) or the per-network one, and the totals."""
    lines = [f"A: {label_a}", f"B: {label_b}", ""]
    rows, changed, total = client_rows(a, b, everyone)
    per_client = by == "client" or (by == "auto" and total <= 40)
    if per_client:
        lines += _columns(rows) if len(rows) > 1 else ["no client's outcome or time to "
                                                        "connect changed"]
    else:
        lines += _columns(network_rows(a, b))
    connected = [sum(c["connected"] for c in r["clients"]) for r in (a, b)]
    lines += ["", f"{changed} of {total} clients changed outcome; connected "
              f"{connected[0]} of {len(a['clients'])} → {connected[1]} of {len(b['clients'])}"]
    return "\n".join(lines) + "\n"
