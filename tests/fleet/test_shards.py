"""Fleets in shards: the same result in process, on a pool or on threads; shards as separate
sites with their own public addresses; outcomes that do not depend on where a fleet is cut."""

import json
import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sim import simulate
from sim.fleet.shards import Fleet
from sim.scenario import load_scenario
from sim.scenario.build import Simulation

ROOT = Path(__file__).resolve().parents[2]
MIXED = ROOT / "scenarios" / "mixed-fleet.yaml"
SHORT = {"duration": 300, "shard_size": 60}     # 240 laptops → 4 shards


def as_json(result) -> str:
    return json.dumps(result.as_dict(with_interfaces=True), sort_keys=True)


@pytest.fixture(scope="module")
def sharded():
    fleet = Fleet(load_scenario(MIXED, SHORT))
    return fleet, fleet.run(workers=1)


def test_a_fleet_is_cut_into_shards_of_shard_size_in_client_order(sharded):
    fleet, result = sharded
    assert fleet.shards == 4 and fleet.clients == 240
    assert [c.name for c in result.clients] == [f"laptop-{i:05d}" for i in range(1, 241)]
    one = Simulation(load_scenario(MIXED, SHORT), shard=1)
    assert [c.name for c in one.clients] == [f"laptop-{i:05d}" for i in range(61, 121)]
    # every shard gets about the fleet's mix (0.3 × 60 = 18 home laptops, 0.05 × 60 = 3 …)
    home = Counter(c.network for c in one.clients)
    assert home["home"] == 18 and home["hotel"] == 12 and home["hotel-inspecting"] == 3


def test_pool_threads_and_one_process_give_identical_results(sharded):
    _, alone = sharded
    scenario = load_scenario(MIXED, SHORT)
    pooled = Fleet(scenario).run(workers=2)
    with ThreadPoolExecutor(3) as pool:
        threaded = Fleet(scenario).run(executor=pool)
    assert as_json(pooled) == as_json(alone) == as_json(threaded)


def test_a_dask_local_cluster_gives_the_same_result(sharded):
    from dask.distributed import Client, LocalCluster

    _, alone = sharded
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None, processes=True) as cluster, \
            Client(cluster) as client:
        on_dask = Fleet(load_scenario(MIXED, SHORT)).run(executor=client.get_executor())
    assert as_json(on_dask) == as_json(alone)


def test_each_shard_is_its_own_site_with_its_own_public_addresses(sharded):
    _, result = sharded
    mappings = [c.interfaces["teredo"][-1]["external_mapping"] for c in result.clients
                if "teredo" in c.interfaces and c.interfaces["teredo"][-1]["external_mapping"]]
    edges = {m.split(":")[0] for m in mappings}
    # shard 0 keeps the documentation range, shard k uses 80.k.0.0/16
    assert {e.split(".")[0] for e in edges} == {"198", "80"}
    assert {e.split(".")[1] for e in edges if e.startswith("80.")} == {"1", "2", "3"}
    assert len(set(mappings)) == len(mappings)   # no two laptops share a Teredo mapping


def test_outcomes_by_network_do_not_depend_on_the_shard_size(sharded):
    _, cut = sharded
    whole = Simulation(load_scenario(MIXED, {"duration": 300})).run()

    def outcome(result):
        return Counter((c.network, c.method, c.last_error if not c.connected else None)
                       for c in result.clients)

    assert outcome(cut) == outcome(whole)
    assert cut.summary()["connected"] == whole.summary()["connected"] == 228


def test_an_event_for_one_laptop_reaches_it_in_its_shard(sharded):
    _, result = sharded
    target = next(c.name for c in result.clients[60:]
                  if c.network == "hotel-inspecting" and not c.connected)
    events = [{"at": 1, "action": "import_root", "client": target,
               "authority": "hotel-inspection-ca"}]
    after = Fleet(load_scenario(MIXED, {**SHORT, "events": events})).run(workers=1)
    by_name = {c.name: c for c in after.clients}
    assert by_name[target].connected and by_name[target].method == "iphttps"
    assert after.summary()["connected"] == 229


def test_simulate_returns_a_fleet_only_when_the_scenario_needs_shards():
    assert isinstance(simulate(MIXED), Simulation)
    fleet = simulate(MIXED, overrides={"shard_size": 100})
    assert isinstance(fleet, Fleet) and fleet.shards == 3
    assert fleet.shard_of("laptop-00101") == 1 and fleet.shard_of("laptop-00240") == 2
    assert fleet.simulation("laptop-00201").clients[0].name == "laptop-00201"


def test_connected_share_series_sums_the_shards():
    scenario = load_scenario(MIXED, SHORT)
    fleet = Fleet(scenario)
    fleet.run(workers=1, series=True)
    whole = Fleet(load_scenario(MIXED, {"duration": 300}))
    whole.run(series=True)
    assert [t for t, *_ in fleet.series] == [t for t, *_ in whole.series]
    assert fleet.series[-1][1:3] == whole.series[-1][1:3] == (0.95, 0.0)   # tunnel; inside
    assert fleet.series[-1][3] == whole.series[-1][3]
    assert sum(fleet.series[-1][3]) == pytest.approx(0.95)


def test_cli_run_is_the_same_on_one_and_two_workers_and_captures_in_any_shard(tmp_path):
    text = MIXED.read_text().replace("duration: 10m", "duration: 2m\nshard_size: 80")
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    outs = []
    for workers in (1, 2):
        pcap = tmp_path / f"w{workers}.pcap"
        done = subprocess.run(
            [sys.executable, "-m", "sim.cli", "run", str(path), "--json", "--workers",
             str(workers), "--pcap", str(pcap), "--point", "client:laptop-00200"],
            capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert done.returncode == 0, done.stderr
        outs.append((done.stdout, pcap.read_bytes()))
    assert outs[0] == outs[1]
    assert len(json.loads(outs[0][0])["clients"]) == 240
    # the capture comes from laptop-00200's shard (shard 2), as `dasim pcap` takes it alone
    alone = tmp_path / "alone.pcap"
    done = subprocess.run([sys.executable, "-m", "sim.cli", "pcap", str(path), "--out",
                           str(alone), "--point", "client:laptop-00200"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert alone.read_bytes() == outs[0][1]
    from scapy.utils import rdpcap

    assert len(rdpcap(str(alone))) > 10


def _die(*_args, **_kwargs):
    os._exit(9)   # what the out-of-memory killer leaves behind


def test_a_worker_that_dies_is_reported_with_its_shard(monkeypatch):
    import sim.fleet.shards as shards

    monkeypatch.setattr(shards, "run_shard", _die)   # forked workers inherit it
    with pytest.raises(shards.WorkerLost, match=r"shard \d of 4: a worker process died"):
        Fleet(load_scenario(MIXED, SHORT)).run(workers=2)


def test_the_summary_counts_each_laptop_once_and_the_sweep_table_tells_inside():
    """A laptop in the office after failing outside keeps its last error, but it is neither
    connected nor failing: the summary counts it as inside only, and a sweep's rows say so."""
    from sim.fleet import sweep as sw

    scenario = ROOT / "scenarios" / "fleet-rollout.yaml"
    fleet = Fleet(load_scenario(scenario, {"clients.0.count": 60, "duration": "1d1h"}), seed=1)
    result = fleet.run(workers=1)
    s = result.summary()
    inside = sum(c.location == "inside" and not c.connected for c in result.clients)
    assert inside and s["connected"] + sum(s["by_error"].values()) + inside == s["clients"]
    rows = sw.run_one(scenario.read_text(), str(scenario), str(scenario.parent),
                      sw.RunSpec(0, (("clients.0.count", 60), ("duration", "1d1h")), 0, 1))
    assert sum(r["location"] == "inside" and not r["connected"] for r in rows) == inside
