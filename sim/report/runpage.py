"""The page of a scenario's run (``dasim report SCENARIO``): the summary, the timeline and,
for a fleet, the outcomes by network and the table by network; then one laptop's story, its
sequence diagram, netsh at the chosen times, its attempts and its capture for download."""

from __future__ import annotations

from typing import Any

from sim.report import plots, sequence
from sim.report.page import (
    Figure,
    Page,
    Section,
    attempt_table,
    clock,
    fleet_table,
    netsh_panels,
    pcap_uri,
    summary_rows,
    svg,
)
from sim.report.stories import story


def overview(result: dict[str, Any], title: str) -> Section:
    """The run at a glance: who connected, the timeline, and a fleet's outcomes."""
    s = result["summary"]
    methods = ", ".join(f"{m} {n}" for m, n in s["by_method"].items()) or "none"
    section = Section("The run", [f"Connected {s['connected']} of {s['clients']} ({methods})."])
    section.tables.append(summary_rows(result))
    shown = min(12, len(result["clients"]))
    section.figures.append(Figure(
        f"{title}: each laptop's attempts by method (the first {shown}); hatched bars "
        "failed, labelled with their error code", svg(lambda p: plots.timeline(result, p))))
    table = fleet_table(result)
    if table is not None:
        section.figures.append(Figure("how each network's laptops ended",
                                      svg(lambda p: plots.outcome_by_network(result, p))))
        section.tables.append(table)
    return section


def laptop_sections(view: Any, name: str, records: list, times: list[float],
                    reasons: bool = True, story_told: bool = True,
                    pcap_name: str | None = None,
                    crossings: list | None = None) -> list[Section]:
    """One laptop's sections: its story (``story_told``), sequence diagram (from the
    ``crossings`` its path's taps saw, when given), netsh panels, attempts (with their
    reasons, ``reasons``) and its capture (saved as ``pcap_name``)."""
    client = view.client(name)
    result = view.result_of(name).as_dict()
    sections = []
    if story_told:
        sections.append(Section(f"What happened to {name}", [],
                                panels=[_story(view, client)]))
    seq = Section(f"{name}'s packets")
    if crossings:
        journeys, total, lanes, labels = sequence.laptop_sequence(view, crossings, name)
        shown = (f" (its first {len(journeys)} of {total} packets)"
                 if total > len(journeys) else "")
        seq.figures.append(Figure(
            f"{name}'s packets across the devices on its path{shown}",
            svg(lambda p: sequence.draw(journeys, lanes, labels, p, name))))
    seq.download = (pcap_name or f"{view.scenario}-{name}.pcap", pcap_uri(records, view.start),
                    f"{len(records)} packets at {name}'s network card, for Wireshark")
    sections.append(seq)
    when = ", ".join(clock(t) for t in times)
    sections.append(Section(f"netsh on {name} at {when}", panels=netsh_panels(view, name, times),
                            columns=min(len(times), 3)))
    sections.append(Section(f"{name}'s attempts", tables=[attempt_table(result["attempts"],
                                                                        reasons)]))
    return sections


def _story(view: Any, client: Any):
    from sim.report.page import Panel

    return Panel("dasim explain", story(view, client))


def scenario_page(view: Any, result: dict[str, Any], name: str, records: list,
                  times: list[float], description: str,
                  crossings: list | None = None) -> Page:
    """The whole page of a scenario's run, ``name`` the laptop it looks at closely."""
    facts = [("seed", str(result["seed"])), ("simulated", clock(result["duration_s"])),
             ("start", view.start.isoformat()), ("laptops", str(len(result["clients"]))),
             ("looked at closely", name)]
    sections = [overview(result, result["scenario"]),
                *laptop_sections(view, name, records, times, crossings=crossings)]
    return Page(f"Scenario {result['scenario']}", description, facts, sections)
