"""``dasim topology``'s picture: the devices of a scenario and their links, as a tree from the
Internet — the servers on its right; on its left each network's edge (its firewall, portal
and NAT named, its outside address given), the networks behind another network's edge
further left (NAT444: the home behind the carrier), and each network's laptops and hosts.

A network with sites (``laptops_per_site``) is drawn once, its first site, with how many
there are; a network's laptops are one box with their count.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

from sim.report.figstyle import PLAIN, STAGE_NAMES, STYLE, Look, save

FILL = {"internet": "#dfe7f3", "edge": "#fbe3cf", "host": "#e4f1e4", "laptop": "#f3f3f3",
        "proxy": "#efe0f5", "router": "#eeeeee"}


def _base(network: str | None) -> str | None:
    return network.split("#", 1)[0] if network else network


def nodes(devices: list[Any]) -> tuple[dict[str, dict], dict[str, str]]:
    """The boxes to draw (name -> its kind, heading and detail) and each box's parent,
    with sites and laptops folded as the module says."""
    sites = Counter(_base(d.network) for d in devices if d.kind == "edge")
    kept = [d for d in devices if d.network is None or "#" not in d.network]
    by_name = {d.name: d for d in kept}
    laptops: dict[str, list[str]] = {}
    boxes: dict[str, dict] = {}
    parent: dict[str, str] = {}
    for d in kept:
        if d.kind == "laptop":
            laptops.setdefault(d.network, []).append(d.name)
            continue
        many = sites.get(_base(d.network), 1) if d.kind == "edge" else 1
        head = d.name if many == 1 else f"{d.name} (×{many} sites)"
        boxes[d.name] = {"kind": d.kind, "head": head, "detail": _detail(d)}
        up = _up(d, by_name)
        if up is not None:
            parent[d.name] = up
    for network, names in laptops.items():
        key = f"laptops:{network}"
        head = names[0] if len(names) == 1 else f"{len(names)} laptops"
        detail = _detail(by_name[names[0]]) if len(names) == 1 else f"{names[0]} …"
        if sites.get(network, 1) > 1:
            detail += "\n(its first site's)"
        boxes[key] = {"kind": "laptop", "head": head, "detail": detail}
        gateway = next((d.name for d in kept if d.kind == "edge" and d.network == network),
                       None)
        if gateway is not None:
            parent[key] = gateway
    return boxes, parent


def _detail(d: Any) -> str:
    if d.kind == "edge":
        stages = " · ".join(STAGE_NAMES.get(k, k) for k, _n in d.stages) or "router"
        v4 = [a for a in d.addresses if "." in a]
        sides = f"{v4[0]} | {v4[-1]}" if len(v4) > 1 else "".join(v4)
        return f"{stages}\ninside | outside: {sides}"
    if d.kind == "internet":
        return "routes public space only"
    return next((a for a in d.addresses if "." in a), d.addresses[0] if d.addresses else "")


def _up(d: Any, by_name: dict[str, Any]) -> str | None:
    """The box a device hangs from: a gateway's uplink, a host's LAN gateway, the Internet
    for a public host."""
    if d.kind == "internet":
        return None
    own = f"{_base(d.network)}-uplink" if d.kind == "edge" else None
    for peer, link in d.links:
        other = by_name.get(peer)
        if other is None:
            continue
        if d.kind == "edge" and link == own:
            return peer
        if d.kind != "edge" and other.kind in ("edge", "internet"):
            return peer
    return None


def layout(boxes: dict[str, dict], parent: dict[str, str]) -> dict[str, tuple[float, float]]:
    """x: the Internet at 0, public hosts at +1, each network level further left; y: the
    leaves in order, each parent centred on its children."""
    children: dict[str, list[str]] = {}
    for child, up in parent.items():
        children.setdefault(up, []).append(child)
    root = next((n for n, b in boxes.items() if b["kind"] == "internet"), None)
    pos: dict[str, tuple[float, float]] = {}
    if root is None:
        return pos
    below = children.get(root, [])
    public = [c for c in below if boxes[c]["kind"] != "edge"]
    edges = [c for c in below if boxes[c]["kind"] == "edge"]
    row = [0.0]

    def place(name: str, depth: int) -> float:
        kids = children.get(name, [])
        if not kids:
            y = row[0]
            row[0] -= 1
        else:
            ys = [place(k, depth + 1) for k in kids]
            y = sum(ys) / len(ys)
        pos[name] = (-1.6 * depth, y)
        return y

    for name in edges:
        place(name, 1)
    centre = (row[0] + 1) / 2 if edges else 0.0
    pos[root] = (0.0, centre)
    for i, name in enumerate(public):   # the servers beside the Internet, centred on it
        pos[name] = (1.6, centre + (len(public) - 1) / 2 - i)
    return pos


def draw(devices: list[Any], path: str, title: str, look: Look = PLAIN) -> str:
    """Draw the topology of ``devices`` (``RunView.devices``)."""
    boxes, parent = nodes(devices)
    pos = layout(boxes, parent)
    with plt.rc_context({**STYLE, "axes.grid": False}):
        xs = [x for x, _y in pos.values()] or [0]
        ys = [y for _x, y in pos.values()] or [0]
        width = 2.0 * (max(xs) - min(xs) + 2)
        height = 0.75 * (max(ys) - min(ys) + 2)
        fig, ax = plt.subplots(figsize=look.figsize(max(width, 6), max(height, 3)))
        for child, up in parent.items():
            if child in pos and up in pos:
                (x0, y0), (x1, y1) = pos[child], pos[up]
                mid = (x0 + x1) / 2   # an elbow in the gap between two columns of boxes
                ax.plot([x0, mid, mid, x1], [y0, y0, y1, y1], color="#888888", lw=1,
                        zorder=1)
        for name, (x, y) in pos.items():
            box = boxes[name]
            ax.add_patch(FancyBboxPatch((x - 0.62, y - 0.3), 1.24, 0.6,
                                        boxstyle="round,pad=0.02", zorder=2,
                                        facecolor=FILL.get(box["kind"], "#ffffff"),
                                        edgecolor="#666666", lw=0.8))
            ax.text(x, y + 0.12, box["head"], ha="center", va="center", fontsize=7,
                    fontweight="bold", zorder=3)
            ax.text(x, y - 0.05, box["detail"], ha="center", va="top", fontsize=5.5,
                    zorder=3, linespacing=1.1)
        ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
        ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
        ax.set_axis_off()
        ax.set_title(look.heading(title))
        return save(fig, path)
