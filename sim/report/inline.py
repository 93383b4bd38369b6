"""Figures for notebooks: each kind of ``dasim plot`` drawn as SVG markup that Jupyter shows
inline (``_repr_svg_``) and that can be saved, so a lesson draws its figures in its cells and
keeps them in its outputs (the same bytes on every run: the figures' ids come from a fixed
salt)."""

from __future__ import annotations

from typing import Any

from sim.report import plots
from sim.report.page import svg


class Svg:
    """One figure as SVG markup: shown inline by Jupyter, written by :meth:`save`."""

    __slots__ = ("markup",)

    def __init__(self, markup: str) -> None:
        self.markup = markup

    def _repr_svg_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return f"<Svg figure, {len(self.markup)} characters>"

    def save(self, path: str) -> str:
        """Write the figure as an SVG file."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.markup + "\n")
        return path


def draw(kind: str, data: Any, **options: Any) -> Svg:
    """Figure ``kind`` of ``data``: ``timeline``, ``outcomes`` and ``ttc`` of a result (its
    JSON dict), ``connected`` of a fleet's series (``title`` and ``events`` options),
    ``sweep`` of a sweep's table (``params``)."""
    drawers = {
        "timeline": lambda p: plots.timeline(data, p, **options),
        "outcomes": lambda p: plots.outcome_by_network(data, p),
        "ttc": lambda p: plots.ttc_cdf(data, p),
        "connected": lambda p: plots.connected_share(data, p, options.get("title", ""),
                                                     options.get("events", ())),
        "sweep": lambda p: plots.sweep_summary(data, options["params"], p),
    }
    if kind not in drawers:
        raise ValueError(f"no figure {kind!r}; figures: {', '.join(drawers)}")
    return Svg(str(svg(drawers[kind])))
