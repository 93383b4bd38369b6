"""A big fleet as independent shards, run side by side.

A scenario's fleet is cut, in client order, into shards of ``shard_size`` laptops. Each shard
is a whole simulation — the DirectAccess server, the Internet and one instance of every
network — carrying its slice of the laptops behind its own public addresses (the address
plan's shard blocks) with its own random streams. Laptops in different shards never share a
NAT, a hotel or a carrier pool, which is what a fleet spread over many homes and hotels looks
like; laptops of one shard and one network kind share that network, as before.

Because a shard depends only on (scenario, seed, shard index), a fleet's result is the same
whether its shards run in this process, on a local process pool of any size or on a Dask
cluster's executor: results are merged in shard order. Memory is bounded by the shards in
flight, not by the fleet, and the cost per laptop does not grow with the fleet.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sim.directaccess.client import METHOD_ORDER
from sim.directaccess.ipsec.session import CONNECTED
from sim.fleet.pool import local_pool, outcome, stop_now
from sim.scenario.build import Simulation
from sim.scenario.view import PreparedRun, prepared

if TYPE_CHECKING:
    from sim.directaccess.result import RunResult

# the connected-share figure samples the run this many times
SERIES_POINTS = 400


class WorkerLost(RuntimeError):
    """A worker process died while it ran a shard (killed, or out of memory)."""


@dataclass
class ShardRun:
    """What one shard sends back: its clients' results, how many simulation events it
    scheduled, and optionally its connected-client counts over time."""

    shard: int
    result: RunResult
    events: int
    # (t, on DirectAccess, inside, on each method in METHOD_ORDER)
    series: list[tuple[float, int, int, tuple[int, ...]]] | None = None


def series_step(duration: float) -> float:
    """The sampling step of the connected-share series (the same in every shard)."""
    return max(duration / SERIES_POINTS, 1.0)


def _sample_connected(run: PreparedRun, out: list) -> None:
    """Count, at each step, the laptops on a DirectAccess tunnel (in all, and by method) and
    those inside the corporate network without one (in the office: they reach it, and need
    no tunnel)."""
    laptops = run.client_views()

    def sample(now: float) -> None:
        on = dict.fromkeys(METHOD_ORDER, 0)
        inside = 0
        for c in laptops:
            method = c.method
            ipsec = c.ipsec
            if method is not None:
                # with IPsec modelled, a tunnel reaches the intranet only once DirectAccess
                # is connected above it (a certificate refused by IKE reaches nothing)
                if ipsec is None or ipsec.status == CONNECTED:
                    on[method] += 1
            elif c.location == "inside":
                inside += 1
        out.append((now, sum(on.values()), inside, tuple(on.values())))

    run.every(series_step(run.duration), sample)


def run_shard(scenario: Any, seed: int | None, shard: int, series: bool = False) -> ShardRun:
    """Build and run one shard (in whichever process calls it)."""

    return run_simulation(Simulation(scenario, seed=seed, shard=shard), series)


def run_simulation(sim: Simulation | PreparedRun, series: bool = False) -> ShardRun:
    """Run an already built shard (one the caller may have prepared, e.g. for a capture)."""
    run = prepared(sim)
    counts: list | None = [] if series else None
    if counts is not None:
        _sample_connected(run, counts)
    result = run.run()
    return ShardRun(run.shard, result, run.events(), counts)


class Fleet:
    """Every shard of a scenario; ``run`` merges them into one :class:`RunResult`."""

    def __init__(self, scenario: Any, seed: int | None = None) -> None:
        self.scenario = scenario
        self.seed = seed
        self.size = scenario.laptops_per_shard
        self.clients = scenario.laptops
        self.shards = scenario.shard_count
        self.events = 0
        # (t, share on a DirectAccess tunnel, share inside the corporate network, share on
        # each method of METHOD_ORDER)
        self.series: list[tuple[float, float, float, tuple[float, ...]]] | None = None

    def shard_of(self, client: str | None) -> int:
        """The shard that carries the named laptop (shard 0 for None or an unknown name)."""
        index = self.scenario.fleet_index(client) if client else None
        return 0 if index is None else index // self.size

    def simulation(self, client: str | None = None, trace: bool = False,
                   shard: int | None = None) -> Simulation:
        """The shard of ``client`` (or shard number ``shard``) as a live simulation, for what
        needs one: a capture, a netsh view, a client's story."""
        return Simulation(self.scenario, seed=self.seed, trace=trace,
                          shard=self.shard_of(client) if shard is None else shard)

    def runs(self, executor: Executor | None = None, workers: int | None = None,
             series: bool = False, local: Simulation | PreparedRun | None = None,
             ) -> Iterator[ShardRun]:
        """Each shard's run, in shard order: in this process for one shard or one worker,
        else on ``executor`` (a local process pool of ``workers`` if none is given).
        ``local``: one shard already built here (with a capture attached, say), run in this
        process while the others run on the executor."""
        mine = None if local is None else local.shard
        if executor is None and (self.shards == 1 or workers == 1):
            for k in range(self.shards):
                yield run_simulation(local, series) if k == mine else \
                    run_shard(self.scenario, self.seed, k, series)
            return
        own = None
        if executor is None:
            own = executor = local_pool(min(workers or os.cpu_count() or 1, self.shards))
        try:
            futures = {k: executor.submit(run_shard, self.scenario, self.seed, k, series)
                       for k in range(self.shards) if k != mine}
            here = run_simulation(local, series) if local is not None else None
            for k in range(self.shards):
                yield here if k == mine else self._collect(futures[k], k)
        except BaseException:
            if own is not None:
                stop_now(own)   # Ctrl-C or a failure: no shard is worth waiting for
                own = None
            raise
        finally:
            if own is not None:
                own.shutdown(cancel_futures=True)

    def _collect(self, future: Any, shard: int) -> ShardRun:

        try:
            return outcome(future)
        except BrokenExecutor as exc:
            raise WorkerLost(
                f"shard {shard + 1} of {self.shards}: a worker process died (killed, or out of "
                f"memory: a shard of 1,000 laptops needs about 80 MiB); run again with fewer "
                f"workers or a smaller shard_size") from exc

    def run(self, executor: Executor | None = None, workers: int | None = None,
            series: bool = False, progress: Callable[[int], Any] | None = None,
            local: Simulation | PreparedRun | None = None) -> RunResult:
        """The whole fleet's result, identical for any executor and number of workers.
        ``series`` also gathers the shares of clients on a tunnel and inside over time
        (``self.series``: ``(t, on a tunnel, inside, on each method of METHOD_ORDER)``);
        ``progress(total)`` makes a bar that is updated once per finished shard."""

        # one shard needs no bar (and the run no tqdm)
        bar = progress(self.shards) if progress is not None and self.shards > 1 else None
        merged: RunResult | None = None
        totals: list[list] = []
        self.events = 0
        try:
            for shard in self.runs(executor, workers, series, local):
                self.events += shard.events
                if merged is None:
                    merged = shard.result
                else:
                    merged.clients.extend(shard.result.clients)
                for i, (t, tunnel, inside, on) in enumerate(shard.series or ()):
                    if i == len(totals):
                        totals.append([t, 0, 0, [0] * len(on)])
                    totals[i][1] += tunnel
                    totals[i][2] += inside
                    totals[i][3] = [a + b for a, b in zip(totals[i][3], on, strict=True)]
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        assert merged is not None
        if series:
            n = max(self.clients, 1)
            self.series = [(t, tunnel / n, inside / n, tuple(k / n for k in on))
                           for t, tunnel, inside, on in totals]
        return merged
