"""``python -m sim.cli``: the ``dasim`` command."""

from sim.cli.app import main

main()
