"""The IPsec layer of the timeline figure: a thin strip above each client's transition bars,
coloured by what Get-DAConnectionStatus said over time (connected, connecting, failed), so a
reader sees the tunnel up and DirectAccess not, or DirectAccess lost during an outage."""

from __future__ import annotations

from typing import Any

from matplotlib.patches import Rectangle

STRIP_Y, STRIP_H = 0.34, 0.14   # above the transition bars (0.6 high, centred on the row)
LIFT = 0.2                       # how much higher the error labels go when a strip is drawn
STATES = {"ConnectedRemotely": ("IPsec: DirectAccess connected", "#264653"),
          "Connecting": ("IPsec: connecting", "#b0b0b0"),
          "failed": ("IPsec: not connected", "#c62828")}


def state_of(status: str) -> str:
    return status if status in STATES else "failed"


def draw_strip(ax: Any, row: int, history: list[dict[str, Any]], end: float,
               seen: set) -> None:
    """One client's strip: a segment per status from its time to the next change."""
    for i, h in enumerate(history):
        stop = history[i + 1]["t"] if i + 1 < len(history) else end
        if stop <= h["t"]:
            continue
        state = state_of(h["status"])
        ax.barh(row + STRIP_Y + STRIP_H / 2, stop - h["t"], left=h["t"], height=STRIP_H,
                color=STATES[state][1], edgecolor="none")
        seen.add(state)


def legend_entries(seen: set) -> tuple[list, list[str]]:
    """Handles and names of the strip's states drawn, in a fixed order."""
    shown = [s for s in STATES if s in seen]
    return ([Rectangle((0, 0), 1, 1, color=STATES[s][1]) for s in shown],
            [STATES[s][0] for s in shown])
