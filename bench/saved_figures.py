"""Four figures of a fleet: four ``dasim plot FILE`` runs (one simulation each) against one
``dasim run FILE --save`` and one ``dasim plot RUN.json`` of the four kinds.

Measured in alternation (old, new, old, new …) so that the machine's drift falls on both;
prints the medians of wall and CPU time (the children's), the ratios, and whether the
figures of the two ways are byte-identical. ``--count`` sets the fleet (default 2,000 laptops
of scenarios/mixed-fleet.yaml, the issue's case; the target is a third of the old time).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "mixed-fleet.yaml"
KINDS = ("timeline", "outcomes", "ttc", "connected")


def timed(cmds: list[list[str]]) -> tuple[float, float]:
    """Wall and CPU seconds (of the children) of running ``cmds`` one after another."""
    before = os.times()
    start = time.perf_counter()
    for cmd in cmds:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    after = os.times()
    cpu = (after.children_user - before.children_user) + \
        (after.children_system - before.children_system)
    return time.perf_counter() - start, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    dasim = [sys.executable, "-m", "sim.cli"]
    fleet = [str(SCENARIO), "--set", f"clients.0.count={args.count}"]
    with tempfile.TemporaryDirectory() as tmp:
        old = [[*dasim, "plot", *fleet, "--kind", k, "--out", f"{tmp}/old-{k}.svg"]
               for k in KINDS]
        new = [[*dasim, "run", *fleet, "--save", f"{tmp}/run.json"],
               [*dasim, "plot", f"{tmp}/run.json", "--kind", ",".join(KINDS), "--out",
                f"{tmp}/new-{{kind}}.svg"]]
        results: dict[str, list[tuple[float, float]]] = {"old": [], "new": [], "plot": []}
        for _ in range(args.pairs):
            results["old"].append(timed(old))
            results["new"].append(timed(new))
            results["plot"].append(timed(new[1:]))
        same = all(filecmp.cmp(f"{tmp}/old-{k}.svg", f"{tmp}/new-{k}.svg", shallow=False)
                   for k in KINDS)
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for k, v in results.items()}
    print(f"four figures of {args.count} laptops, medians of {args.pairs} alternating runs:")
    print(f"  four dasim plot FILE runs:          {med['old'][0]:7.1f} s wall "
          f"{med['old'][1]:7.1f} s CPU")
    print(f"  run --save + one plot of four:      {med['new'][0]:7.1f} s wall "
          f"{med['new'][1]:7.1f} s CPU  (ratio {med['new'][1] / med['old'][1]:.2f} CPU)")
    print(f"  the plot from the saved run alone:  {med['plot'][0]:7.1f} s wall "
          f"{med['plot'][1]:7.1f} s CPU  (ratio {med['plot'][1] / med['old'][1]:.3f} CPU; "
          f"target < 0.33)")
    print(f"  figures byte-identical both ways: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
