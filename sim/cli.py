"""The ``dasim`` command: thin wrappers over the package's public API.

Heavy modules (scapy, matplotlib) are imported inside the commands that need them, so that a
plain ``dasim run`` starts fast.
"""

from __future__ import annotations

import sys

import click

from sim.errors import InputError


def _input_errors() -> tuple[type[BaseException], ...]:
    from sim.pki.errors import PkiInputError

    return (InputError, PkiInputError)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dasim")
def cli() -> None:
    """Simulate how Windows DirectAccess clients reach their server."""


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
    except Exception as exc:
        if isinstance(exc, _input_errors()):
            click.echo(f"dasim: error: {exc}", err=True)
            sys.exit(2)
        raise
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
