"""A laptop that keeps switching between inside and outside: the NLS's name without its NRPT
exemption (B3, B8). Its timeline repeats one cycle (tunnel up, NLS reached through it,
DirectAccess off, outside again) for the rest of the run; the story tells two cycles and how
often the rest happened, and names the missing exemption."""

from __future__ import annotations

# the client's note when the NLS answered through the tunnel (sim.directaccess.client)
THROUGH_TUNNEL = "through the DirectAccess tunnel: the NRPT sends the NLS's name"
KEEP = 2   # cycles told in full

NLS_NOT_EXEMPT = (
    "The NRPT sends the NLS's name {name} to the DNS64, so once a tunnel is up the laptop "
    "reaches the NLS through it, concludes it is inside and turns DirectAccess off; without "
    "the tunnel the NLS is gone, it is outside again, and so on ({count} times in this run). "
    "Add an NRPT exemption for {name} (the rule the Remote Access wizard creates): "
    "outside, the NLS's name must not resolve. Check with netsh namespace show "
    "effectivepolicy and netsh dnsclient show state.")


def flips(events: list[tuple[float, str]]) -> list[int]:
    """Where in the timeline the laptop found the NLS through its tunnel."""
    return [i for i, (_t, text) in enumerate(events) if THROUGH_TUNNEL in text]


def fold(events: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """The timeline with the repeated cycles after the first ``KEEP`` told as one line."""
    found = flips(events)
    if len(found) <= KEEP + 1:
        return events
    first, last = found[KEEP], found[-1]
    outside = [i for i, (_t, text) in enumerate(events) if "network location: outside" in text]
    start = max((i for i in outside if i < first), default=first)
    end = max((i for i in outside if start <= i < last), default=start)
    t0, t1 = events[start][0], events[end][0]
    every = (t1 - t0) / (len(found) - KEEP - 1)
    said = (t0, f"… the same cycle {len(found) - KEEP - 1} more times, about every "
                f"{every:.1f} s, until t={t1:.1f} s:")
    return [*events[:start], said, *events[end:]]


def remedy(events: list[tuple[float, str]]) -> str | None:
    """The remedy when the laptop found the NLS through its tunnel (None otherwise)."""
    found = flips(events)
    if not found:
        return None
    text = events[found[0]][1]
    name = text.split("NLS ", 1)[1].split(" ", 1)[0] if "NLS " in text else "the NLS"
    return NLS_NOT_EXEMPT.format(name=name, count=len(found))
