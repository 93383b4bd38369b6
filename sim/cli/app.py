"""The ``dasim`` group and its entry point: bad input gives one message and exit status 2.

Heavy modules (scapy, matplotlib, pandas) are imported inside the commands that need them,
so that a plain ``dasim run`` starts fast.
"""

from __future__ import annotations

import sys

import click

from sim.cli import certs, explain, figures, netsh, runs, sweeps
from sim.cli.common import INPUT_ERRORS
from sim.fleet.shards import WorkerLost


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dasim")
def cli() -> None:
    """Simulate how Windows DirectAccess clients reach their server."""


for command in (certs.check_cert, runs.run, runs.list_scenarios, runs.pcap, netsh.netsh,
                explain.explain, figures.plot, sweeps.sweep):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input gives one message on stderr and exit status 2."""
    try:
        cli.main(args=argv, prog_name="dasim", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except INPUT_ERRORS as exc:
        click.echo(f"dasim: error: {exc}", err=True)
        sys.exit(2)
    except WorkerLost as exc:   # not the input's fault, and not a bug to trace
        click.echo(f"dasim: error: {exc}", err=True)
        sys.exit(1)
    sys.exit(0)
