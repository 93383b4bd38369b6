"""What every figure shares: one name and one colour per method (and per other way a client
can end), the style, the formats a figure is written in, and the title and size a user may
give it.

A design document's reader matches a colour across figures, and reads the names Microsoft
uses, not the simulator's keys. Files are byte-identical on every render: SVG element ids
come from a fixed salt and no format carries a date. SVG keeps its text as text
(``svg.fonttype: none``), so a figure's words can be searched and edited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from sim.directaccess.client import METHOD_ORDER

METHODS = METHOD_ORDER   # in the order Windows tries them
DISPLAY = {"native": ("native IPv6", "#4c72b0"), "6to4": ("6to4", "#8172b2"),
           "teredo": ("Teredo", "#55a868"), "iphttps": ("IP-HTTPS", "#dd8452"),
           # on the corporate network: no tunnel needed
           "inside": ("inside the corporate network", "#a1b3d3"),
           "none": ("none", "#c44e52")}
NONE_COLOURS = ("#c44e52", "#e3837f", "#8e2f33", "#f0b0a8", "#6b1f22")   # by error, in turn
RESULT_HATCH = {"failed": "////", "connected": "", "running": "", "standby": "xx"}
STYLE = {"figure.dpi": 120, "font.size": 9, "axes.spines.top": False,
         "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
         "savefig.bbox": "tight",
         # SVG element ids from a fixed salt, not a random one: the same figure twice is the
         # same file (else every re-render is a diff in the documentation's figures)
         "svg.hashsalt": "dasim",
         # text stays text in SVG (searchable, editable), and PDF embeds TrueType fonts
         "svg.fonttype": "none", "pdf.fonttype": 42}
FORMATS = (".png", ".svg", ".pdf")
# what a gateway's stages are called in a picture
STAGE_NAMES = {"firewall": "firewall", "portal": "captive portal", "nat": "NAT",
               "port-forward": "port forwarding"}
# what each format says about its maker, and no creation date (same figure, same bytes)
METADATA = {".png": {"Software": "dasim"}, ".svg": {"Creator": "dasim", "Date": None},
            ".pdf": {"Creator": "dasim", "Producer": "dasim", "CreationDate": None}}


@dataclass(frozen=True)
class Look:
    """What a user chose for a figure: its title (None: the figure's own), a note under the
    title (the ``--set`` values the run was made with) and its size in inches (None: the
    figure's own, which follows what it shows)."""

    title: str | None = None
    note: str | None = None
    size: tuple[float, float] | None = None

    def heading(self, default: str) -> str:
        """The title to draw: the user's, or ``default``; the note on a line below."""
        # a user's "$5 per laptop" is text, not matplotlib's math between two dollars
        text = self.title.replace("$", r"\$") if self.title is not None else default
        note = self.note.replace("$", r"\$") if self.note else None
        return f"{text}\n{note}" if note else text

    def figsize(self, width: float, height: float) -> tuple[float, float]:
        return self.size if self.size is not None else (width, height)


PLAIN = Look()


def label(key: str | None) -> str:
    """The name a figure gives a method or outcome (``teredo`` → ``Teredo``; ``none (E)``
    stays as it is)."""
    if key is None:
        return DISPLAY["none"][0]
    return DISPLAY[key][0] if key in DISPLAY else key


def colour(key: str | None, nones: list[str] = ()) -> str:
    """The colour of a method or outcome; outcomes without a method (``none (E)``) take a
    red each, in the order of ``nones``."""
    if key in DISPLAY:
        return DISPLAY[key][1]
    if key and key in nones:
        return NONE_COLOURS[list(nones).index(key) % len(NONE_COLOURS)]
    return DISPLAY["none"][1] if key is None or key.startswith("none") else "#999999"


def outcome_order(outcomes: Any) -> list[str]:
    """Methods in the order Windows tries them, then inside, then the failures by error."""
    rank = {m: i for i, m in enumerate((*METHODS, "inside"))}
    return sorted(outcomes, key=lambda o: (o.startswith("none"), rank.get(o, len(rank)), o))


def save(fig: Any, path: str, fmt: str | None = None) -> str:
    """Write ``fig`` to ``path`` in the format its suffix names (or ``fmt``: a temporary
    file's suffix may differ), then close it."""
    suffix = fmt or path[path.rfind("."):].lower()
    fig.savefig(path, format=suffix.lstrip("."), metadata=METADATA.get(suffix))
    plt.close(fig)
    return path


# -- time axes ----------------------------------------------------------------------------
TTC_TICKS = (0, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600,
             7200, 14400, 28800, 86400, 172800, 259200, 604800)
# beyond an hour the axis spans too many decades for every step: a decade or so apart
TTC_TICKS_LONG = (0, 0.1, 1, 10, 60, 600, 3600, 28800, 86400, 259200, 604800)


def tick_label(t: float) -> str:
    """Seconds up to a minute, then minutes, hours and days: 300 s reads "5 min"."""
    for unit, name in ((86400, "d"), (3600, "h"), (60, "min")):
        if t >= unit:
            return f"{t / unit:g} {name}"
    return f"{t:g}"


def ttc_axis(ax: Any, right: float) -> None:
    """A time-to-connect axis from 0 to ``right`` s: symlog (zero stays on the axis, and 0.1 s
    to an hour are decades of equal width), its ticks in s, min, h and d."""
    from matplotlib.ticker import FixedLocator, NullFormatter

    ax.set_xscale("symlog", linthresh=0.1, linscale=0.5)
    ax.set_xlim(0, right)
    ticks = [t for t in (TTC_TICKS_LONG if right > 3600 else TTC_TICKS) if t <= right]
    ax.set_xticks(ticks, [tick_label(t) for t in ticks])
    minor = [d * 10 ** k for k in range(-1, 5) for d in range(1, 10)]
    ax.xaxis.set_minor_locator(FixedLocator([t for t in minor if t <= right
                                             and t not in ticks]))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("time to connect (s)" if right <= 60 else "time to connect")


def time_unit(span_s: float) -> tuple[float, str]:
    """Seconds for a run of minutes, minutes for one of hours, hours beyond: the axis reads
    in whole numbers (a ten-minute run is not 0.000 to 0.167 h)."""
    if span_s <= 20 * 60:
        return 1.0, "s"
    if span_s <= 3 * 3600:
        return 60.0, "min"
    return 3600.0, "h"
