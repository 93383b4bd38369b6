"""The sequence diagram: one lifeline per device a laptop's packets cross (the laptop, its
proxy, each network edge with its firewall, portal and NAT, the Internet where it drops
something, the servers), one row per packet followed from device to device.

A row's arrows go lifeline to lifeline; where a NAT translated the packet, each leg carries
its own addresses, so both sides of the translation are read off the picture. A packet a
device dropped ends in a cross on that device's lifeline, the reason beside it.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt

from sim.report.figstyle import PLAIN, STAGE_NAMES, STYLE, Look, save
from sim.report.journeys import Journey, endpoints

DELIVERED, DROPPED, ADDRESS = "#4c72b0", "#c44e52", "#555555"


def lane_label(device: Any) -> str:
    """A lifeline's heading: the device's name, and what its stages are."""
    stages = [STAGE_NAMES.get(kind, kind) for kind, _name in getattr(device, "stages", ())]
    if getattr(device, "kind", None) == "proxy":
        stages = ["proxy"]
    return f"{device.name}\n({', '.join(stages)})" if stages else device.name


def lanes_for(journeys: list[Journey], first: list[str]) -> list[str]:
    """The lifelines: ``first`` (the laptop, then the devices on its path, nearest first)
    where a packet reached them, then every other device in the order packets reach it."""
    used = {n for j in journeys for leg in j.legs for n in (leg.src, leg.dst)}
    head = [n for i, n in enumerate(first) if i == 0 or n in used]
    rest = [n for j in journeys for leg in j.legs for n in (leg.src, leg.dst)
            if n not in head]
    return head + list(dict.fromkeys(rest))


def draw(journeys: list[Journey], lanes: list[str], labels: dict[str, str], path: str,
         title: str, look: Look = PLAIN) -> str:
    """Draw the diagram: ``lanes`` in order, headed by ``labels``."""
    with plt.rc_context({**STYLE, "axes.grid": False}):
        x = {n: i for i, n in enumerate(lanes)}
        rows = max(len(journeys), 1)
        fig, ax = plt.subplots(figsize=look.figsize(1.9 * max(len(lanes), 2),
                                                    0.42 * rows + 1.3))
        for i in range(len(lanes)):
            ax.axvline(i, color="grey", lw=0.8, zorder=0)
        for n, j in enumerate(journeys):
            _row(ax, -n, j, x)
        ax.set_xticks(range(len(lanes)), [labels.get(n, n) for n in lanes], fontsize=7)
        ax.xaxis.tick_top()
        ax.tick_params(axis="x", length=0)
        ax.set_yticks([])
        ax.set_xlim(-0.6, len(lanes) - 0.4)
        ax.set_ylim(-rows + 0.4, 0.8)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        ax.set_title(look.heading(title), pad=28)
        return save(fig, path)


def _row(ax: Any, y: float, j: Journey, x: dict[str, int]) -> None:
    """One packet: its legs as arrows, its name above the first, each leg's addresses
    under it when a NAT translated it, and a cross where it was dropped."""
    colour = DROPPED if j.dropped_by is not None else DELIVERED
    for k, leg in enumerate(j.legs):
        a, b = x[leg.src], x[leg.dst]
        last = k == len(j.legs) - 1
        end = b if not (last and j.dropped_by is not None) else x[j.dropped_by]
        ax.annotate("", xy=(end, y), xytext=(a, y),
                    arrowprops={"arrowstyle": "-" if end == a else "->", "color": colour,
                                "lw": 1, "shrinkA": 2, "shrinkB": 4})
        if j.translated:
            ax.text((a + end) / 2, y - 0.1, endpoints(leg.pkt), ha="center", va="top",
                    fontsize=4.5, color=ADDRESS)
    start = j.legs[0]
    text = f"{j.label}  (t={start.t:.2f} s)"
    if j.dropped_by is not None:
        cross = x[j.dropped_by]
        ax.plot(cross, y, "x", color=DROPPED, ms=6, mew=1.5, zorder=3)
        text += f" — dropped by {j.dropped_by}: {j.reason}"
    left = min(x[start.src], x[start.dst])
    ax.text(left + 0.05, y + 0.1, text, ha="left", va="bottom", fontsize=5.5,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.3, "alpha": 0.8})


SEQUENCE_LIMIT = 60   # packets a diagram draws; more would not be read


def laptop_sequence(view: Any, crossings: list, name: str, limit: int = SEQUENCE_LIMIT
                    ) -> tuple[list[Journey], int, list[str], dict[str, str]]:
    """What the diagram of laptop ``name`` draws, from a finished run's view and the
    crossings its path's taps saw (the run's trace on): the first ``limit`` journeys, how
    many there were, the lifelines and their headings."""
    from sim.report.journeys import laptop_journeys

    client = view.client(name)
    devices = view.devices()
    owner = {stage: d.name for d in devices for _kind, stage in d.stages}
    path = view.path_of(name)
    # a proxy that serves this laptop alone: its connections out are the laptop's too
    alone = sum(c.site == client.site for c in view.clients) == 1
    origins = frozenset(d.name for d in path if d.kind == "proxy" and alone)
    journeys = laptop_journeys(crossings, view.trace, name,
                               view.names_by_address(client.site), owner, origins=origins)
    shown = journeys[:limit]
    lanes = lanes_for(shown, [name, *(d.name for d in path)])
    return shown, len(journeys), lanes, {d.name: lane_label(d) for d in devices}
