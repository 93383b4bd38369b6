"""What ``dasim explain`` tells of a run: each client's story, or for a fleet one story for
each network and outcome, with how many laptops it stands for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.report.causes import TraceIndex
from sim.report.narrative import narrate

if TYPE_CHECKING:
    from sim.scenario.view import ClientView, RunView

# above this many laptops, explain tells one story for each network and outcome
FLEET_STORIES = 20


def story(view: RunView, client: ClientView, index: TraceIndex | None = None) -> str:
    """One client's story, its drops read from the run's trace (``index``: the trace
    indexed once for several stories)."""
    return narrate(view.result_of(client.name).as_dict(), client.timeline,
                   index or TraceIndex(view.trace), client, site=client.site,
                   corporate=client.corporate)


def explain(view: RunView, client: str | None = None) -> str:
    """The story of ``client``, or of every client; of a fleet (more than
    ``FLEET_STORIES``), one for each network and outcome."""
    index = TraceIndex(view.trace)
    if client or len(view.clients) <= FLEET_STORIES:
        targets = [view.client(client)] if client else view.clients
        return "\n".join(story(view, c, index) for c in targets)
    groups: dict[tuple[str, str], list[ClientView]] = {}
    for c in view.clients:
        r = view.result_of(c.name)
        outcome = r.method or ("inside the corporate network" if r.location == "inside" else
                               f"no tunnel, last error {r.last_error}" if r.last_error else
                               "no tunnel")
        if r.method and r.degraded:
            outcome += ", degraded"
        groups.setdefault((c.network, outcome), []).append(c)
    where = f" in shard {view.shard + 1} of {view.shards}" if view.shards > 1 else ""
    text = (f"{len(view.clients)} laptops{where}: one story for each network and outcome "
            f"({len(groups)}); --client NAME tells any laptop's own.\n")
    for (network, outcome), members in sorted(groups.items()):
        text += (f"\n== {len(members)} on {network}: {outcome} (for example "
                 f"{members[0].name})\n\n")
        text += story(view, members[0], index)
    return text
