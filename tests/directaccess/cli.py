"""The command line as the tests of this folder run it: in a process of its own."""

import subprocess
import sys


def dasim(*args: str, code: int = 0) -> str:
    """``dasim ARGS``: its stdout when it exits with ``code`` 0, else its stderr."""
    res = subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True,
                         text=True, check=False)
    assert res.returncode == code, res.stderr
    return res.stdout if code == 0 else res.stderr
