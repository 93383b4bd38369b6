"""``dasim topology``: a picture of a scenario's devices and links (NAT chains included),
drawn from the topology the simulation builds (nothing runs)."""

from __future__ import annotations

import click

from sim.cli.common import SCENARIO, SEED, SETS, atomic_write, fleet
from sim.cli.figures import parse_size, plan
from sim.fleet.prepare import prepare
from sim.report.saved import set_note


@click.command()
@SCENARIO
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="The picture's file (.png, .svg or .pdf).")
@click.option("--title", default=None, help="The picture's title instead of its own.")
@click.option("--size", default=None, metavar="WxH", help="Width x height in inches.")
@SEED
@SETS
def topology(scenario_file: str, out: str, title: str | None, size: str | None,
             seed: int | None, sets: tuple[str, ...]) -> None:
    """Draw the devices of a scenario and their links: the Internet, the servers, each
    network's edge with its firewall, portal and NAT, the networks behind another's edge
    (NAT444), and the laptops."""
    from sim.report import topology as picture  # matplotlib: only for a figure
    from sim.report.figstyle import Look

    plan(("topology",), (out,), known=("topology",))
    dims = parse_size(size)
    runs = fleet(scenario_file, seed, sets)
    view = prepare(runs).view()
    heading = f"{runs.scenario.name}: devices and links"
    if runs.shards > 1:
        heading += f" (shard 1 of {runs.shards})"
    look = Look(title, set_note(sets), dims)
    atomic_write(out, lambda tmp: picture.draw(view.devices(), tmp, heading, look))
    click.echo(f"wrote {out}")
