"""The ``dasim`` command: thin wrappers over the package's public API, one module per group
of commands (``app`` puts them together)."""

from sim.cli.app import cli, main

__all__ = ["cli", "main"]
