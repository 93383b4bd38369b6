"""Fleet scale: the mixed fleet at 1,000 / 10,000 / 100,000 clients for one simulated hour
(Teredo qualification and refreshes every ~26 s, IP-HTTPS connections, retries and the
connectivity assistant's intranet check every 30 s through whichever tunnel is up), each size
in its own process, its shards (``shard_size``, 250 laptops by default) on a local process
pool of ``--workers`` processes.

Prints, per size: wall time; simulated events per wall second and per CPU second; peak memory
(this process plus each worker at its largest); the cost per client in wall and in CPU time;
the ratio of the simulator's event rate per CPU second to a bare SimPy loop of the same number
of events measured in the same run. Ends with one summary line
fleet10k_wall_s=… mem100k_mib=… scaling=… simpy_ratio=…
where scaling is the CPU cost per client at the largest size over that at the smallest and
simpy_ratio the mean per-CPU ratio (the wall-clock ratio, which counts every core, is printed
beside it). Targets (issue 6): 10k under 30 s, 100k under 2 GiB, scaling ≤ 1.3,
simpy_ratio ≥ 0.3.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
import simpy
from sim.fleet.shards import Fleet
from sim.scenario import load_scenario
n, hours, path, probe, workers = sys.argv[1:6]
n, hours, probe, workers = int(n), float(hours), float(probe), int(workers)
overrides = {"clients.0.count": n, "duration": hours * 3600,
             "clients.0.connectivity_probe": probe or None}
t0 = time.perf_counter()
fleet = Fleet(load_scenario(path, overrides))
result = fleet.run(workers=workers)
wall = time.perf_counter() - t0
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
pool = min(workers, fleet.shards) if fleet.shards > 1 else 0
peak = (me.ru_maxrss + pool * kids.ru_maxrss) / 1024
# a bare SimPy loop scheduling the same number of events (at most 5 M, timed and scaled:
# its rate does not depend on the count), in the same process
env = simpy.Environment()
def loop(k):
    for _ in range(k):
        yield env.timeout(1)
k = min(fleet.events, 5_000_000)
env.process(loop(k))
b0 = time.perf_counter()
env.run()
bare = (time.perf_counter() - b0) * fleet.events / k
print(json.dumps({"n": n, "wall": wall, "cpu": cpu, "events": fleet.events, "bare": bare,
                  "shards": fleet.shards, "peak_mib": peak,
                  "connected": result.summary()["connected"]}))
"""


def measure(n: int, hours: float, probe: float, workers: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(hours),
                          str(ROOT / "scenarios" / "mixed-fleet.yaml"), str(probe),
                          str(workers)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--probe", type=float, default=30.0,
                    help="connectivity-assistant interval in seconds (0: no checks)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="processes for the shards (default: one per core)")
    args = ap.parse_args()
    checks = f"connectivity check every {args.probe:g} s" if args.probe \
        else "no connectivity checks"
    print(f"mixed-fleet, {args.hours:g} simulated hour(s), {checks}, {args.workers} worker(s)",
          flush=True)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        r = measure(n, args.hours, args.probe, args.workers)
        bare_rate = r["events"] / r["bare"]
        r.update(wall_ms=r["wall"] / n * 1000, cpu_ms=r["cpu"] / n * 1000,
                 ratio=r["events"] / r["cpu"] / bare_rate,
                 wall_ratio=r["events"] / r["wall"] / bare_rate)
        rows.append(r)
        print(f"{n:>7} clients, {r['shards']:>3} shard(s): wall {r['wall']:7.1f} s, "
              f"{r['events']:>11,} events, {r['events'] / r['wall']:>9,.0f} events/s "
              f"({r['events'] / r['cpu']:,.0f} per CPU s), peak {r['peak_mib']:6.0f} MiB, "
              f"{r['wall_ms']:.2f} ms/client wall, {r['cpu_ms']:.2f} CPU, simpy ratio "
              f"{r['ratio']:.2f} per CPU ({r['wall_ratio']:.2f} wall), "
              f"connected {r['connected']}", flush=True)
    by_n = {r["n"]: r for r in rows}
    small, large = rows[0], rows[-1]
    scaling = large["cpu_ms"] / small["cpu_ms"]
    ratio = sum(r["ratio"] for r in rows) / len(rows)
    print(f"(wall cost per client, largest ÷ smallest: {large['wall_ms'] / small['wall_ms']:.2f})")
    print(f"fleet10k_wall_s={by_n.get(10000, {}).get('wall', float('nan')):.1f} "
          f"mem100k_mib={by_n.get(100000, {}).get('peak_mib', float('nan')):.0f} "
          f"scaling={scaling:.2f} simpy_ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
