"""``dasim report``: one self-contained, printable HTML page of a run — its figures inline as
SVG, the narrative, netsh panels at chosen times, the attempts, the fleet's table by network
and the capture embedded for download — drawn by a Jinja2 template
(``templates/page.html.j2``), so that the page's shape lives in one file and every value is
escaped.

The page needs no network to open: no script, font, style sheet or image is fetched; the pcap
is a ``data:`` URI. :class:`Page` is what the template reads; ``scenario_page`` fills one from
a run, and ``sim.exercise.page`` fills one for an exercise (student and trainer versions).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from sim.report import netsh
from sim.report.text import by_network

NETSH_COMMANDS = ("interface httpstunnel show interfaces", "interface teredo show state",
                  "interface 6to4 show state")
ATTEMPT_HEADER = ("method", "start (s)", "end (s)", "result", "error")


@dataclass
class Table:
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    caption: str = ""


@dataclass
class Panel:
    """A block of console text (netsh, PowerShell, a story) with its heading."""

    title: str
    text: str


@dataclass
class Figure:
    title: str
    svg: Markup


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)   # (summary, text): hints
    download: tuple[str, str, str] | None = None   # (file name, data: URI, what it is)
    columns: int = 0   # panels side by side in this many columns (0: as many as fit)
    css: str = ""   # a class for the section (trainer: the cause, in a box)


@dataclass
class Page:
    title: str
    subtitle: str
    facts: list[tuple[str, str]]
    sections: list[Section]
    badge: str = ""   # "student" / "trainer" on an exercise's page


def render(page: Page) -> str:
    """The page as HTML, from the template."""
    env = Environment(loader=PackageLoader("sim.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, keep_trailing_newline=True)
    return env.get_template("page.html.j2").render(page=page)


def svg(draw: Callable[[str], Any]) -> Markup:
    """The SVG markup that ``draw(path)`` writes, ready to sit inline in the page."""
    with tempfile.TemporaryDirectory(prefix="dasim-") as folder:
        path = os.path.join(folder, "figure.svg")
        draw(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
    text = re.sub(r"^<\?xml[^>]*>\s*|<!DOCTYPE[^>]*>\s*", "", text, flags=re.M)
    return Markup(text.strip())


def pcap_uri(records: list, start: dt.datetime) -> str:
    """The capture as a ``data:`` URI that a browser saves as a .pcap file."""
    from sim.report.pcap import write_pcap  # scapy: only when a page embeds a capture

    with tempfile.TemporaryDirectory(prefix="dasim-") as folder:
        path = os.path.join(folder, "capture.pcap")
        write_pcap(path, records, start)
        with open(path, "rb") as f:
            data = base64.b64encode(f.read()).decode("ascii")
    return f"data:application/vnd.tcpdump.pcap;base64,{data}"


def netsh_panels(view: Any, client: str, times: list[float]) -> list[Panel]:
    """What netsh's three status commands print on ``client`` at each time."""
    return [Panel(f"C:\\> netsh {command}   (at {clock(t)})",
                  netsh.show(view, client, t, tuple(command.split())))
            for command in NETSH_COMMANDS for t in times]


def attempt_table(attempts: list[dict[str, Any]], reasons: bool) -> Table:
    """The client's attempts; ``reasons``: with each one's reason (which tells the cause)."""
    header = ATTEMPT_HEADER + (("reason",) if reasons else ())
    rows = []
    for a in attempts:
        row = (a["method"], f"{a['start_s']:.1f}",
               "-" if a["end_s"] is None else f"{a['end_s']:.1f}", a["result"],
               a.get("error") or "-")
        rows.append(row + ((a["reason"],) if reasons else ()))
    return Table(header, rows)


def fleet_table(result: dict[str, Any]) -> Table | None:
    """The fleet's table by network (as ``dasim run`` prints it), or None for a few
    laptops on one network."""
    clients = result["clients"]
    if len({c["network"] for c in clients}) < 2 or len(clients) < 10:
        return None
    rows = by_network(clients)
    return Table(rows[0], rows[1:], "time to connect of the connected: median and 90th "
                 "percentile")


def clock(t: float) -> str:
    minutes, seconds = divmod(round(t, 1), 60)
    if not minutes:
        return f"{seconds:g} s"
    return f"{minutes:g} min" + (f" {seconds:g} s" if seconds else "")


def summary_rows(result: dict[str, Any], limit: int = 40) -> Table:
    rows = [(c["name"], c["network"], c["location"] or "-", c["method"] or "none",
             "-" if c["time_to_connect_s"] is None else f"{c['time_to_connect_s']:.1f}",
             c["last_error"] or "-") for c in result["clients"][:limit]]
    more = len(result["clients"]) - limit
    return Table(("client", "network", "location", "method", "connect (s)", "last error"),
                 rows, f"… and {more} more" if more > 0 else "")
