"""How long a person waits: `dasim run` of the KB 2980667 scenario from process start.

Prints the median of several runs next to the bare interpreter start-up measured in the same
run (target: under 1.5 s on the project machine; scapy and matplotlib are only imported when a
pcap or a figure is asked for).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "kb2980667-untrusted-root.yaml"
RUNS = 7


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def main() -> None:
    dasim = [sys.executable, "-m", "sim.cli", "run", str(SCENARIO)]
    bare = [sys.executable, "-c", "pass"]
    timed(dasim)  # warm the file cache
    runs = [timed(dasim) for _ in range(RUNS)]
    python = [timed(bare) for _ in range(RUNS)]
    median = statistics.median(runs)
    print(f"dasim run {SCENARIO.name}: median {median:.3f} s over {RUNS} runs "
          f"(min {min(runs):.3f}, max {max(runs):.3f})")
    print(f"bare python start-up: median {statistics.median(python):.3f} s")
    print(f"target < 1.5 s: {'met' if median < 1.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
