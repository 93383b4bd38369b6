"""What the IPsec layer costs a fleet: the mixed fleet for a simulated hour without IPsec
(today's model: the connectivity assistant pings the intranet every 30 s) and with
``server.ipsec`` (AuthIP negotiations, ESP, the assistant's web probe every 30 s, rekeys),
one shard each, run in alternation (A B A B …) so that the machine's drift cancels.

Prints the CPU per client of each run and the ratio with/without (issue 20's target:
at most 1.3), then one summary line ``ipsec_cpu_ratio=…``.
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
from sim.net.kernel import long_lived_build
from sim.scenario import load_scenario
from sim.scenario.build import Simulation
n, hours, ipsec = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
overrides = {"clients.0.count": n, "duration": hours * 3600, "shard_size": n}
if ipsec != "none":
    overrides["server.ipsec"] = {"authentication": ipsec}
sim = Simulation(load_scenario(sys.argv[4], overrides))
c0 = time.process_time()
result = sim.run()
cpu = time.process_time() - c0
clients = result.clients
print(json.dumps({"cpu": cpu, "events": next(sim.kernel.env._eid),
                  "connected": sum(c.connected for c in clients),
                  "da_connected": sum((c.directaccess or {}).get("status")
                                      == "ConnectedRemotely" for c in clients)}))
"""


def run(n: int, hours: float, ipsec: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(hours), ipsec,
                          str(ROOT / "scenarios" / "mixed-fleet.yaml")],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=250, help="laptops (one shard)")
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=3, help="A/B pairs")
    ap.add_argument("--ipsec", default="kerberos_proxy",
                    choices=["kerberos_proxy", "certificates"])
    args = ap.parse_args()
    if args.ipsec == "certificates":
        sys.exit("certificates needs a root in the scenario: use kerberos_proxy here")
    base, with_ipsec = [], []
    for i in range(args.rounds):
        for label, runs, mode in (("without", base, "none"), ("with", with_ipsec, args.ipsec)):
            r = run(args.clients, args.hours, mode)
            runs.append(r)
            print(f"round {i + 1} {label:>7} IPsec: {r['cpu']:6.2f} s CPU, "
                  f"{r['cpu'] / args.clients * 1000:6.2f} ms/client, {r['events']:>10,} "
                  f"events, transition connected {r['connected']}, DirectAccess "
                  f"connected {r['da_connected']}", flush=True)
    a = sum(r["cpu"] for r in base) / len(base)
    b = sum(r["cpu"] for r in with_ipsec) / len(with_ipsec)
    pairs = sorted(w["cpu"] / o["cpu"] for o, w in zip(base, with_ipsec, strict=True))
    median = pairs[len(pairs) // 2] if len(pairs) % 2 else \
        (pairs[len(pairs) // 2 - 1] + pairs[len(pairs) // 2]) / 2
    events = with_ipsec[0]["events"] / base[0]["events"]
    fastest = min(r["cpu"] for r in with_ipsec) / min(r["cpu"] for r in base)
    print(f"mean CPU per client: without {a / args.clients * 1000:.2f} ms, with "
          f"{b / args.clients * 1000:.2f} ms; events ×{events:.3f}")
    print("ratio of each pair: " + ", ".join(f"{x:.2f}" for x in pairs)
          + f"; fastest runs: {fastest:.2f}")
    print(f"ipsec_cpu_ratio={b / a:.2f} (median of pairs {median:.2f})")


if __name__ == "__main__":
    main()
