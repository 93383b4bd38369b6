"""Sweep speed-up: the same 200-run sweep on 1 and on 2 local worker processes, timed in one
run, with a check that both give the identical table (issue 6: speed-up of 2 workers over 1).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd

from sim.fleet import sweep as sw

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "hotel-captive-portal.yaml"
SETS = [("networks.hotel.captive_portal.login_at", [30, 60, 90, 120]),
        ("clients.0.profile", ["windows7", "windows10"])]
REPLICATIONS = 25   # 4 × 2 × 25 = 200 runs


def timed(workers: int, folder: Path) -> tuple[float, pd.DataFrame]:
    start = time.perf_counter()
    executor = sw.local_executor(workers)
    rows = sw.run_sweep(SCENARIO, SETS, REPLICATIONS, 1, executor,
                        sw.Journal(folder / f"w{workers}.journal"))
    executor.shutdown()
    return time.perf_counter() - start, sw.table(rows, [p for p, _ in SETS])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t1, df1 = timed(1, folder)
        t2, df2 = timed(2, folder)
    runs = df1["run_id"].nunique()
    print(f"{runs} runs: 1 worker {t1:.1f} s, 2 workers {t2:.1f} s, speed-up {t1 / t2:.2f}x; "
          f"identical tables: {df1.equals(df2)}")


if __name__ == "__main__":
    main()
