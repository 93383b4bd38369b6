"""The ``dasim`` group and its entry point: bad input gives one message and exit status 2.

Heavy modules (scapy, matplotlib, pandas) are imported inside the commands that need them,
so that a plain ``dasim run`` starts fast.
"""

from __future__ import annotations

import importlib
import sys
import warnings

import click

from sim.cli.common import INPUT_ERRORS
from sim.errors import ImplausibleValue
from sim.fleet.shards import WorkerLost

# each command and where it is defined: a command's module is imported when it runs (or
# when the help lists them all), so that ``dasim run`` loads no other command's modules
COMMANDS = {
    "check-cert": "sim.cli.certs:check_cert",
    "compare": "sim.cli.compare:compare",
    "exercise": "sim.cli.exercise:exercise",
    "explain": "sim.cli.explain:explain",
    "list": "sim.cli.runs:list_scenarios",
    "netsh": "sim.cli.netsh:netsh",
    "pcap": "sim.cli.runs:pcap",
    "plot": "sim.cli.figures:plot",
    "powershell": "sim.cli.powershell:powershell",
    "report": "sim.cli.report:report",
    "run": "sim.cli.runs:run",
    "sweep": "sim.cli.sweeps:sweep",
    "topology": "sim.cli.topology:topology",
    "trace": "sim.cli.trace:trace",
}


class Commands(click.Group):
    """The ``dasim`` group, its commands loaded from ``COMMANDS`` when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = COMMANDS.get(cmd_name)
        if where is None:
            return None
        module, _, name = where.partition(":")
        return getattr(importlib.import_module(module), name)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dasim")
def cli() -> None:
    """Simulate how Windows DirectAccess clients reach their server."""


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """An implausible value: ``dasim: warning: FILE:LINE:COL: KEY: …`` on stderr (other
    warnings as Python shows them)."""
    if issubclass(category, ImplausibleValue):
        click.echo(f"dasim: warning: {message}", err=True)
    else:
        _python_warning(message, category, filename, lineno, file, line)


_python_warning = warnings.showwarning


def main(argv: list[str] | None = None) -> None:
    """Entry point: bad input gives one message on stderr and exit status 2; implausible
    values a warning each."""
    warnings.showwarning = _show_warning
    warnings.simplefilter("default", ImplausibleValue)
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
