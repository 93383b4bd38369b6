"""Run every lesson top to bottom and keep its outputs in the file (``make lessons``): the
figures inline, no timings recorded, so that the committed notebooks are what a run gives
(tests/test_notebooks.py checks that they still do)."""

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as out:
        NotebookClient(nb, timeout=900, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": out}}).execute(
            env={**os.environ, "DASIM_ROOT": str(HERE.parent), "DASIM_OUT": out})
    nbformat.write(nb, path)


if __name__ == "__main__":
    for path in sorted(HERE.glob("*.ipynb")) if len(sys.argv) < 2 else map(Path, sys.argv[1:]):
        print("running", path.name, flush=True)
        execute(path)
