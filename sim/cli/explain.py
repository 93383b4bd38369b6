"""``dasim explain``: each client's story, with causes and remedies."""

from __future__ import annotations

import click

from sim.cli.common import SCENARIO, SEED, SETS, fleet
from sim.fleet.prepare import prepare
from sim.report.stories import explain as stories


@click.command()
@SCENARIO
@click.option("--client", "client_name", default=None,
              help="The client (default: all, or one for each network and outcome of a fleet).")
@SEED
@SETS
def explain(scenario_file: str, client_name: str | None, seed: int | None,
            sets: tuple[str, ...]) -> None:
    """Tell each client's story in plain sentences, with causes and remedies; for a fleet,
    one story for each network and outcome, with how many laptops it stands for."""
    prepared = prepare(fleet(scenario_file, seed, sets), client_name, trace=True)
    prepared.run()
    click.echo(stories(prepared.view(), client_name), nl=False)
