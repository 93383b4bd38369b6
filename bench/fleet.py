"""Fleet scale: the mixed fleet at 1,000 / 10,000 / 100,000 clients for one simulated hour
(Teredo qualification and refreshes every ~26 s, IP-HTTPS connections, retries and the
connectivity assistant's intranet check every 30 s through whichever tunnel is up), each size
in its own process.

Prints wall time, simulated events per second, peak memory and the cost per client at each
size, the ratio of the simulator's event rate to a bare SimPy loop of the same number of
events measured in the same run, and one summary line:
fleet10k_wall_s=… mem100k_mib=… scaling=… simpy_ratio=…
Targets (issue 6): 10k under 30 s, 100k under 2 GiB, scaling ≤ 1.3, simpy_ratio ≥ 0.3.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
import simpy
from sim import simulate
n, hours, probe = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[4])
overrides = {"clients.0.count": n, "duration": hours * 3600,
             "clients.0.connectivity_probe": probe or None}
t0 = time.perf_counter()
sim = simulate(sys.argv[3], overrides=overrides)
built = time.perf_counter()
result = sim.run()
wall = time.perf_counter() - t0
events = next(sim.kernel.env._eid)
# a bare SimPy loop scheduling the same number of events, in the same process
env = simpy.Environment()
def loop(k):
    for _ in range(k):
        yield env.timeout(1)
env.process(loop(events))
b0 = time.perf_counter()
env.run()
bare = time.perf_counter() - b0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"n": n, "wall": wall, "build": built - t0, "events": events,
                  "bare": bare, "maxrss_mib": peak, "connected": result.summary()["connected"]}))
"""


def measure(n: int, hours: float, probe: float) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(hours),
                          str(ROOT / "scenarios" / "mixed-fleet.yaml"), str(probe)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--probe", type=float, default=30.0,
                    help="connectivity-assistant interval in seconds (0: no checks)")
    args = ap.parse_args()
    print(f"mixed-fleet, {args.hours:g} simulated hour(s), connectivity check every "
          f"{args.probe:g} s" if args.probe else "no connectivity checks", flush=True)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        r = measure(n, args.hours, args.probe)
        rate = r["events"] / r["wall"]
        bare_rate = r["events"] / r["bare"]
        r.update(rate=rate, ratio=rate / bare_rate, per_client_ms=r["wall"] / n * 1000)
        rows.append(r)
        print(f"{n:>7} clients: wall {r['wall']:7.1f} s (build {r['build']:.1f} s), "
              f"{r['events']:>10,} events, {rate:>9,.0f} events/s, peak {r['maxrss_mib']:7.0f} "
              f"MiB, {r['per_client_ms']:.2f} ms/client, simpy ratio {r['ratio']:.2f}, "
              f"connected {r['connected']}", flush=True)
    by_n = {r["n"]: r for r in rows}
    small, large = rows[0], rows[-1]
    scaling = large["per_client_ms"] / small["per_client_ms"]
    ratio = sum(r["ratio"] for r in rows) / len(rows)
    print(f"fleet10k_wall_s={by_n.get(10000, {}).get('wall', float('nan')):.1f} "
          f"mem100k_mib={by_n.get(100000, {}).get('maxrss_mib', float('nan')):.0f} "
          f"scaling={scaling:.2f} simpy_ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
