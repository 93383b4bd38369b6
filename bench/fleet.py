"""Fleet scale: the mixed fleet at 1,000 / 10,000 / 100,000 clients for one simulated hour
(Teredo qualification and refreshes every ~26 s, IP-HTTPS connections, retries and the
connectivity assistant's intranet check every 30 s through whichever tunnel is up), each size
in its own process, its shards (``shard_size``, 250 laptops by default) on a local process
pool of ``--workers`` processes.

Prints, per size: wall time; simulated events per wall second and per CPU second; peak memory
(this process plus each worker at its largest); the cost per client in wall and in CPU time.

The cost of a laptop-hour in bare-SimPy events (issue 22): the run's CPU seconds × the bare
SimPy loop's events per CPU second ÷ laptop-hours, i.e. how many events of a bare loop
(``env.timeout`` in one process) the same CPU time would have run. It does not reward doing
more work per event: fewer events and less work per event both lower it. The bare loop's rate
is measured in alternation with the simulator: one shard per worker runs the hour in slices
of ``--slice`` simulated seconds, and after each slice a bare SimPy loop runs as many events
as the slice did. Alternating every few tens of milliseconds cancels the machine's drift in
speed, which on a shared machine reaches a factor of two within minutes; the workers run at
once, as in the fleet (a core is slower when its neighbour is busy too). The measurement runs
before and after the sizes; the bare rate is their pooled rate, printed beside the cost so
that a slow day can be told from a slow simulator (the simulator's rate over the bare loop's,
for the same events, is printed too). The same alternation gives a second figure of the cost
that does not depend on the sizes' runs at all: the shards' own CPU × the bare rate of the
same moments ÷ their laptop-hours. Ends with one summary line
fleet10k_wall_s=… mem100k_mib=… scaling=… bare_events_per_laptop_hour=…
where scaling is the CPU cost per client at the largest size over that at the smallest, and
the cost is that of 10,000 laptops (of the largest size when 10,000 is not among the sizes).
Targets (issue 22): 10k under 30 s, 100k under 2 GiB, scaling ≤ 1.3, cost ≤ 2,000.
``--quick`` tries it on small sizes (250 and 1,000 laptops, a quarter of an hour).
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
from sim.fleet.shards import Fleet
from sim.scenario import load_scenario
n, hours, path, probe, workers, ipsec = sys.argv[1:7]
n, hours, probe, workers = int(n), float(hours), float(probe), int(workers)
overrides = {"clients.0.count": n, "duration": hours * 3600,
             "clients.0.connectivity_probe": probe or None}
if ipsec != "none":   # the IPsec layer above the tunnel (issue 20)
    overrides["server.ipsec"] = {"authentication": ipsec}
def usage():
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me, kids, me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
cpu0 = usage()[2]
t0 = time.perf_counter()
fleet = Fleet(load_scenario(path, overrides))
result = fleet.run(workers=workers)
wall = time.perf_counter() - t0
me, kids, cpu1 = usage()
pool = min(workers, fleet.shards) if fleet.shards > 1 else 0
peak = (me.ru_maxrss + pool * kids.ru_maxrss) / 1024
print(json.dumps({"n": n, "wall": wall, "cpu": cpu1 - cpu0, "events": fleet.events,
                  "shards": fleet.shards, "peak_mib": peak,
                  "connected": result.summary()["connected"]}))
"""

RATIO = r"""
import json, multiprocessing, random, sys, time
from concurrent.futures import ProcessPoolExecutor
import simpy
from sim.net.kernel import long_lived_build
from sim.scenario import load_scenario
from sim.scenario.build import Simulation
hours, path, probe, workers, step = sys.argv[1:6]
hours, probe, workers, step = float(hours), float(probe), int(workers), float(step)
def bare_cpu(events):
    # CPU seconds of a bare SimPy loop of `events` timeouts
    env = simpy.Environment()
    draw = random.Random(events).expovariate
    def loop():
        for _ in range(events):
            yield env.timeout(draw(1.0))
    env.process(loop())
    c0 = time.process_time()
    env.run()
    return time.process_time() - c0
def alternate(shard):
    size = load_scenario(path).laptops_per_shard
    scenario = load_scenario(path, {"clients.0.count": size * workers,
                                    "duration": hours * 3600,
                                    "clients.0.connectivity_probe": probe or None})
    sim = Simulation(scenario, shard=shard)
    env, end = sim.kernel.env, sim.duration
    events, sim_cpu, bare = 0, 0.0, 0.0
    with long_lived_build():
        t = 0.0
        while t < end:
            t = min(t + step, end)
            e0 = next(env._eid)
            c0 = time.process_time()
            env.run(until=t)
            c1 = time.process_time()
            n = next(env._eid) - e0 - 1
            sim_cpu += c1 - c0
            events += n
            bare += bare_cpu(n)
    return {"events": events, "sim_cpu": sim_cpu, "bare_cpu": bare, "laptops": size}
with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as ex:
    print(json.dumps(list(ex.map(alternate, range(workers)))))
"""


def scenario_path() -> str:
    return str(ROOT / "scenarios" / "mixed-fleet.yaml")


def child(script: str, *args: object) -> object:
    out = subprocess.run([sys.executable, "-c", script, *map(str, args)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def ratio(args: argparse.Namespace, when: str) -> dict:
    """The simulator's event rate over a bare SimPy loop's, measured in alternation: the
    events, the bare loops' and the simulator's CPU seconds, and the laptop-hours."""
    parts = child(RATIO, args.hours, scenario_path(), args.probe, args.workers, args.slice)
    events = sum(p["events"] for p in parts)
    sim_cpu = sum(p["sim_cpu"] for p in parts)
    bare_cpu = sum(p["bare_cpu"] for p in parts)
    each = ", ".join(f"{p['bare_cpu'] / p['sim_cpu']:.3f}" for p in parts)
    print(f"simpy ratio {when}: {bare_cpu / sim_cpu:.3f} ({len(parts)} shard(s) of "
          f"{parts[0]['laptops']} at once, each {each}; {events:,} events, simulator "
          f"{events / sim_cpu:,.0f} and bare loop {events / bare_cpu:,.0f} events per CPU s)",
          flush=True)
    return {"events": events, "bare_cpu": bare_cpu, "sim_cpu": sim_cpu,
            "laptop_hours": sum(p["laptops"] for p in parts) * args.hours}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--probe", type=float, default=30.0,
                    help="connectivity-assistant interval in seconds (0: no checks)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="processes for the shards (default: one per core)")
    ap.add_argument("--ipsec", default="none", choices=["none", "kerberos_proxy"],
                    help="model IPsec above the tunnel (server.ipsec); bench/ipsec_cost.py "
                         "compares the two in alternation")
    ap.add_argument("--slice", type=float, default=30.0,
                    help="simulated seconds between two bare loops in the ratio measurement")
    ap.add_argument("--quick", action="store_true",
                    help="small sizes for trying it: 250,1000 laptops for 0.25 h (unless "
                         "--sizes or --hours are given)")
    args = ap.parse_args()
    if args.quick:
        given = set(sys.argv[1:])
        if "--sizes" not in given and not any(a.startswith("--sizes=") for a in given):
            args.sizes = "250,1000"
        if "--hours" not in given and not any(a.startswith("--hours=") for a in given):
            args.hours = 0.25
    checks = f"connectivity check every {args.probe:g} s" if args.probe \
        else "no connectivity checks"
    print(f"mixed-fleet, {args.hours:g} simulated hour(s), {checks}, {args.workers} worker(s)",
          flush=True)
    bare = [ratio(args, "before")]
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        r = child(CHILD, n, args.hours, scenario_path(), args.probe, args.workers, args.ipsec)
        r.update(wall_ms=r["wall"] / n * 1000, cpu_ms=r["cpu"] / n * 1000)
        rows.append(r)
        print(f"{n:>7} clients, {r['shards']:>3} shard(s): wall {r['wall']:7.1f} s, "
              f"{r['events']:>11,} events, {r['events'] / r['wall']:>9,.0f} events/s "
              f"({r['events'] / r['cpu']:,.0f} per CPU s), peak {r['peak_mib']:6.0f} MiB, "
              f"{r['wall_ms']:.2f} ms/client wall, {r['cpu_ms']:.2f} CPU, "
              f"connected {r['connected']}", flush=True)
    bare.append(ratio(args, "after"))
    bare_rate = sum(b["events"] for b in bare) / sum(b["bare_cpu"] for b in bare)
    side = sum(b["sim_cpu"] for b in bare) * bare_rate / sum(b["laptop_hours"] for b in bare)
    print(f"bare SimPy loop: {bare_rate:,.0f} events per CPU s (pooled, before and after); "
          f"the alternating shards alone: {side:,.0f} bare-SimPy events per laptop-hour")
    for r in rows:
        r["cost"] = r["cpu"] * bare_rate / (r["n"] * args.hours)
        print(f"{r['n']:>7} clients: {r['cost']:,.0f} bare-SimPy events per laptop-hour "
              f"({r['events'] / (r['n'] * args.hours):,.0f} simulated events per laptop-hour, "
              f"bare loop {bare_rate:,.0f} events per CPU s)", flush=True)
    by_n = {r["n"]: r for r in rows}
    small, large = rows[0], rows[-1]
    scaling = large["cpu_ms"] / small["cpu_ms"]
    print(f"(wall cost per client, largest ÷ smallest: {large['wall_ms'] / small['wall_ms']:.2f})")
    print(f"fleet10k_wall_s={by_n.get(10000, {}).get('wall', float('nan')):.1f} "
          f"mem100k_mib={by_n.get(100000, {}).get('peak_mib', float('nan')):.0f} "
          f"scaling={scaling:.2f} "
          f"bare_events_per_laptop_hour={by_n.get(10000, large)['cost']:.0f}")


if __name__ == "__main__":
    main()
