"""Packet hops per second through link + firewall + NAT + Internet, against bare SimPy.

A UDP ping-pong: client — LAN — gateway (firewall, then NAT) — access link — Internet —
server link — server, and back: six link hops per round trip, each one SimPy event whose
callback hands the packet on. The baseline does the same number of hand-offs with nothing
else: a timeout whose callback schedules the next timeout with the same object. The ratio
(ours / bare) says what the network model costs on top of the event loop.

The network schedules a hop by pushing the packet itself, as its own light event, straight on
SimPy's queue (``sim.net.link``), not as a ``Timeout``; so the bench also prints the ratio to a
bare loop that reschedules its event object the same way, the like-for-like figure for the
model's own cost.
Each figure is the best of ``--repeat`` interleaved runs (timeit's rule: the least disturbed).

    .venv/bin/python bench/packet_hops.py [--hops 1000000] [--flows 8] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from heapq import heappush
from ipaddress import ip_address

import simpy
from simpy.core import NORMAL
from simpy.events import Timeout

from sim.net.firewall import Firewall
from sim.net.kernel import Kernel
from sim.net.link import Hop
from sim.net.nat import Nat, nat_config
from sim.net.topology import Topology

HOPS_PER_ROUND_TRIP = 6
SERVER = ip_address("131.107.0.1")


def network_run(hops: int, flows: int, stages: bool = True) -> tuple[int, float]:
    """Push ``hops`` link hops of UDP ping-pong through the modelled edge; (hops, seconds).
    Without ``stages`` the edge is a plain router for a public prefix (for comparison)."""
    k = Kernel(seed=1, trace=False)
    topo = Topology(k)
    net = topo.add_network("home", "192.168.1.0/24", outside=["198.51.100.2"],
                           routed=not stages)
    if stages:
        net.gateway.add_stage(Firewall(k, "fw", ["udp/3478", "tcp/443"], default="deny"))
        net.gateway.add_stage(Nat(k, "nat", ["198.51.100.2"],
                                  nat_config("linux-masquerade")))
    client = net.add_host("client")
    server = topo.add_public_host("server", [SERVER])
    echo = server.udp_open(3478)
    echo.on_packet = lambda p: echo.sendto(p.src, p.sport, None, 32, src=p.dst)
    client_addr = client.interfaces[0].address
    round_trips = hops // HOPS_PER_ROUND_TRIP
    per_flow = round_trips // flows
    done = [0]

    def make_flow():
        sock = client.udp_open()
        left = [per_flow]

        def on_reply(_pkt):
            done[0] += 1
            left[0] -= 1
            if left[0] > 0:
                sock.sendto(SERVER, 3478, None, 32, src=client_addr)

        sock.on_packet = on_reply
        return sock

    socks = [make_flow() for _ in range(flows)]
    start = time.perf_counter()
    for sock in socks:
        sock.sendto(SERVER, 3478, None, 32)
    k.run()
    elapsed = time.perf_counter() - start
    assert done[0] == per_flow * flows, (done[0], k.drops)
    return done[0] * HOPS_PER_ROUND_TRIP, elapsed


def bare_run(hops: int, flows: int) -> tuple[int, float]:
    """The same number of hand-offs in bare SimPy: timeout, callback, next timeout."""
    env = simpy.Environment()
    per_flow = hops // flows
    count = [0]

    def make_flow():
        left = [per_flow]

        def hand_on(event):
            count[0] += 1
            left[0] -= 1
            if left[0] > 0:
                Timeout(env, 0.001, event._value).callbacks.append(hand_on)

        return hand_on

    start = time.perf_counter()
    for _ in range(flows):
        Timeout(env, 0.001, object()).callbacks.append(make_flow())
    env.run()
    elapsed = time.perf_counter() - start
    return count[0], elapsed


def bare_hop_run(hops: int, flows: int) -> tuple[int, float]:
    """The same hand-offs scheduled as the network schedules its hops: the event object
    pushed back on SimPy's queue with the next callbacks (what ``Node.send`` does with a
    packet on a cable's fast path)."""
    env = simpy.Environment()
    per_flow = hops // flows
    count = [0]
    new = object.__new__

    def make_flow():
        left = [per_flow]

        def hand_on(event):
            count[0] += 1
            left[0] -= 1
            if left[0] > 0:
                event.callbacks = callbacks
                heappush(env._queue, (env._now + 0.001, NORMAL, next(env._eid), event))

        callbacks = [hand_on]
        return hand_on

    start = time.perf_counter()
    for _ in range(flows):
        hop = new(Hop)
        hop.callbacks = [make_flow()]
        hop._value = None
        heappush(env._queue, (env._now + 0.001, NORMAL, next(env._eid), hop))
    env.run()
    elapsed = time.perf_counter() - start
    return count[0], elapsed


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hops", type=int, default=1_000_000)
    ap.add_argument("--flows", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs; best of each")
    ap.add_argument("--profile", action="store_true", help="cProfile the network run")
    args = ap.parse_args(argv)
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        network_run(args.hops // 5, args.flows)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    best: dict[str, tuple[int, float]] = {}

    def keep(name: str, result: tuple[int, float]) -> None:
        if name not in best or result[0] / result[1] > best[name][0] / best[name][1]:
            best[name] = result

    for _ in range(max(1, args.repeat)):
        keep("net", network_run(args.hops, args.flows))
        n = best["net"][0]
        keep("bare", bare_run(n, args.flows))
        keep("plain", network_run(args.hops, args.flows, stages=False))
        keep("bare_hop", bare_hop_run(n, args.flows))
    (net_hops, net_s), (bare_hops, bare_s) = best["net"], best["bare"]
    rate = {k: h / s for k, (h, s) in best.items()}
    net_rate, bare_rate = rate["net"], rate["bare"]
    print(f"network: {net_hops:,} hops in {net_s:.2f} s = {net_rate:,.0f} hops/s "
          "(link + firewall + NAT + Internet, UDP ping-pong)")
    print(f"bare simpy: {bare_hops:,} hand-offs in {bare_s:.2f} s = {bare_rate:,.0f} /s")
    print(f"same path, plain router instead of firewall + NAT: {rate['plain']:,.0f} hops/s "
          f"(ratio {rate['plain'] / bare_rate:.2f})")
    print(f"bare simpy rescheduling its events like the network: {rate['bare_hop']:,.0f} /s "
          f"(network / it: {net_rate / rate['bare_hop']:.2f})")
    print(f"ratio: {net_rate / bare_rate:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
