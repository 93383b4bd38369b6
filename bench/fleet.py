"""Fleet scale: the mixed fleet at 1,000 / 10,000 / 100,000 clients for one simulated hour
(Teredo qualification and refreshes every ~26 s, IP-HTTPS connections, retries and the
connectivity assistant's intranet check every 30 s through whichever tunnel is up), each size
in its own process, its shards (``shard_size``, 250 laptops by default) on a local process
pool of ``--workers`` processes.

Prints, per size: wall time; simulated events per wall second and per CPU second; peak memory
(this process plus each worker at its largest); the cost per client in wall and in CPU time;
the ratio of the simulator's event rate per CPU second to a bare SimPy loop's, measured just
before and just after the fleet (their mean: the machine's speed drifts over a long run; the
drift is printed) on as many processes at once as the fleet has workers (a core is slower
when its neighbour is busy too, and the fleet kept both busy). Beside it, for reading the gap
rather than for the target, the same ratio against a bare loop that keeps as many events
pending as a shard does (SimPy's heap then costs it what it costs the simulator). Ends with
one summary line
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
import json, multiprocessing, random, resource, sys, time
from concurrent.futures import ProcessPoolExecutor
import simpy
from sim.fleet.shards import Fleet
from sim.scenario import load_scenario
n, hours, path, probe, workers, depth = sys.argv[1:7]
n, hours, probe, workers, depth = int(n), float(hours), float(probe), int(workers), int(depth)
overrides = {"clients.0.count": n, "duration": hours * 3600,
             "clients.0.connectivity_probe": probe or None}
def bare_rate(pending, events=2_000_000):
    # events per CPU second of a bare SimPy loop: `pending` processes each waiting on a
    # timeout (so that many events in the heap); its rate does not depend on the count
    env = simpy.Environment()
    draw = random.Random(1).expovariate
    def loop(k):
        for _ in range(k):
            yield env.timeout(draw(1.0))
    k = events // pending
    for _ in range(pending):
        env.process(loop(k))
    b0 = time.process_time()
    env.run()
    return k * pending / (time.process_time() - b0)
def bare_rates(pending):
    # the bare loop on as many processes at once as the fleet's workers, so that it runs
    # under the same load as the simulator did (two busy cores are each slower than one)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as ex:
        rates = list(ex.map(bare_rate, [pending] * workers))
    return sum(rates) / len(rates)
def usage():
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me, kids, me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
# the bare loops run just before and just after the fleet and count as their mean: the
# machine's speed drifts over a long run
before = bare_rates(1), bare_rates(depth)
cpu0 = usage()[2]
t0 = time.perf_counter()
fleet = Fleet(load_scenario(path, overrides))
result = fleet.run(workers=workers)
wall = time.perf_counter() - t0
me, kids, cpu1 = usage()
after = bare_rates(1), bare_rates(depth)
pool = min(workers, fleet.shards) if fleet.shards > 1 else 0
peak = (me.ru_maxrss + pool * kids.ru_maxrss) / 1024
print(json.dumps({"n": n, "wall": wall, "cpu": cpu1 - cpu0, "events": fleet.events,
                  "bare_rate": (before[0] + after[0]) / 2,
                  "bare_deep_rate": (before[1] + after[1]) / 2,
                  "bare_drift": after[0] / before[0],
                  "shards": fleet.shards, "peak_mib": peak,
                  "connected": result.summary()["connected"]}))
"""


DEPTH = r"""
import sys
from sim.scenario import load_scenario
from sim.scenario.build import Simulation
hours, path, probe = float(sys.argv[1]), sys.argv[2], float(sys.argv[3])
sim = Simulation(load_scenario(path, {"clients.0.count": 1000, "duration": hours * 3600,
                                      "clients.0.connectivity_probe": probe or None}), shard=0)
env, depths = sim.kernel.env, []
def sample():
    while True:
        depths.append(env.pending)
        yield env.timeout(10)
env.process(sample())
sim.run()
print(round(sum(depths) / len(depths)))
"""


def scenario_path() -> str:
    return str(ROOT / "scenarios" / "mixed-fleet.yaml")


def queue_depth(hours: float, probe: float) -> int:
    """The mean number of events pending in one shard's heap over the run."""
    out = subprocess.run([sys.executable, "-c", DEPTH, str(hours), scenario_path(), str(probe)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return int(out.stdout.strip().splitlines()[-1])


def measure(n: int, hours: float, probe: float, workers: int, depth: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(hours), scenario_path(),
                          str(probe), str(workers), str(depth)],
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
    depth = queue_depth(args.hours, args.probe)
    print(f"a shard keeps {depth} events pending on average", flush=True)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        r = measure(n, args.hours, args.probe, args.workers, depth)
        bare_rate = r["bare_rate"]
        r.update(wall_ms=r["wall"] / n * 1000, cpu_ms=r["cpu"] / n * 1000,
                 ratio=r["events"] / r["cpu"] / bare_rate,
                 wall_ratio=r["events"] / r["wall"] / bare_rate,
                 deep_ratio=r["events"] / r["cpu"] / r["bare_deep_rate"])
        rows.append(r)
        print(f"{n:>7} clients, {r['shards']:>3} shard(s): wall {r['wall']:7.1f} s, "
              f"{r['events']:>11,} events, {r['events'] / r['wall']:>9,.0f} events/s "
              f"({r['events'] / r['cpu']:,.0f} per CPU s), peak {r['peak_mib']:6.0f} MiB, "
              f"{r['wall_ms']:.2f} ms/client wall, {r['cpu_ms']:.2f} CPU, simpy ratio "
              f"{r['ratio']:.2f} per CPU ({r['wall_ratio']:.2f} wall; "
              f"{r['deep_ratio']:.2f} against a loop with {depth} pending; bare loop "
              f"{bare_rate:,.0f} events per CPU s, after/before {r['bare_drift']:.2f}), "
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
