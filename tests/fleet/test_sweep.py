"""Sweeps: identical tables on any executor, resume after an interruption with every run
exactly once, failed runs reported with their parameters."""

import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from sim.fleet import sweep as sw

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "scenarios" / "home-nat.yaml"
SETS = [("networks.home.nat.preset", ["full-cone", "port-restricted-cone", "symmetric"]),
        ("clients.0.profile", ["windows10", "windows11"])]


def sweep_table(executor, tmp_path, name, sets=SETS, replications=2):
    rows = sw.run_sweep(HOME, sets, replications, 11, executor,
                        sw.Journal(tmp_path / f"{name}.journal"))
    executor.shutdown()
    return sw.table(rows, [p for p, _ in sets])


def test_seeds_are_derived_from_the_sweep_seed_and_differ_per_run():
    a = sw.plan(SETS, 3, seed=5)
    b = sw.plan(SETS, 3, seed=5)
    assert [s.seed for s in a] == [s.seed for s in b]
    assert len({s.seed for s in a}) == len(a) == 18
    assert [s.seed for s in sw.plan(SETS, 3, seed=6)] != [s.seed for s in a]


def test_outcomes_follow_the_swept_parameters(tmp_path):
    df = sweep_table(sw.local_executor(2), tmp_path, "p")
    methods = df.groupby(["networks.home.nat.preset", "clients.0.profile"])["method"].unique()
    assert list(methods[("full-cone", "windows10")]) == ["teredo"]
    assert list(methods[("symmetric", "windows10")]) == ["iphttps"]
    assert list(methods[("full-cone", "windows11")]) == ["iphttps"]  # Teredo off by default


def test_process_pool_sizes_and_dask_local_cluster_give_identical_tables(tmp_path):
    from dask.distributed import Client, LocalCluster

    one = sweep_table(sw.local_executor(1), tmp_path, "one")
    two = sweep_table(sw.local_executor(2), tmp_path, "two")
    threads = sweep_table(ThreadPoolExecutor(3), tmp_path, "threads")
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None, processes=True) as cluster, \
            Client(cluster) as client:
        dask = sweep_table(client.get_executor(), tmp_path, "dask")
    pd.testing.assert_frame_equal(one, two)
    pd.testing.assert_frame_equal(one, threads)
    pd.testing.assert_frame_equal(one, dask)
    assert len(one) == 12


def start_gpo_sweep(out: Path, workers: int, lines: int, **popen) -> subprocess.Popen:
    """The 12-run gpo-rollout sweep in a session of its own, once its journal has ``lines``
    lines (its sweep's, then one per finished run)."""
    journal = Path(str(out) + ".journal")
    cmd = [sys.executable, "-m", "sim.cli", "sweep", str(ROOT / "scenarios" / "gpo-rollout.yaml"),
           "--set", "duration=2h,3h,4h", "--replications", "4", "--workers", str(workers),
           "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True,
                            **popen)
    deadline = time.time() + 120
    while time.time() < deadline and (not journal.exists() or
                                      len(journal.read_text().splitlines()) < lines):
        time.sleep(0.1)
    return proc


def test_an_interrupted_sweep_resumes_with_every_run_exactly_once(tmp_path):
    out = tmp_path / "r.csv"
    journal = Path(str(out) + ".journal")
    proc = start_gpo_sweep(out, 1, 3, stderr=subprocess.DEVNULL)   # its sweep and 2 runs
    os.killpg(proc.pid, signal.SIGKILL)   # the whole sweep, workers included
    proc.wait()
    gpo = ROOT / "scenarios" / "gpo-rollout.yaml"
    before = sw.Journal(journal).load(
        sw.identity(gpo.read_text(), [("duration", ["2h", "3h", "4h"])], 4, 1))
    assert 2 <= len(before) < 12, "the sweep should have been cut off midway"
    assert not out.exists()
    done = subprocess.run(proc.args, cwd=ROOT, capture_output=True, text=True)   # again
    assert done.returncode == 0, done.stderr
    assert f"resuming: {len(before)} of 12 runs already in {journal}" in done.stderr
    df = pd.read_csv(out)
    assert sorted(df["run_id"].unique()) == list(range(12))
    assert df.groupby("run_id").size().eq(50).all()   # 50 clients per run, no duplicates
    kept = df[df["run_id"].isin(before)].sort_values(["run_id", "client"])
    first = pd.DataFrame([r for rows in before.values() for r in rows])
    assert kept["seed"].tolist() == first.sort_values(["run_id", "client"])["seed"].tolist()
    assert not journal.exists()   # the table holds the whole sweep: the journal is gone


def test_a_failed_run_is_reported_with_its_parameters_and_the_others_complete(tmp_path):
    out = tmp_path / "f.csv"
    cmd = [sys.executable, "-m", "sim.cli", "sweep", str(HOME), "--set",
           "pki.certificates.iphttps.chain_file=missing.pem,null", "--workers", "1",
           "--out", str(out)]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 1, res.stderr   # written, but not whole
    assert "chain_file=missing.pem" in res.stderr and "failed" in res.stderr
    df = pd.read_csv(out)
    assert df["error"].notna().sum() == 1 and df["connected"].eq(True).sum() == 1
    # the journal stays, and running again retries the failed run only
    assert "retries only the failed ones" in res.stderr
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert "resuming: 1 of 2 runs" in again.stderr and "chain_file=missing.pem" in again.stderr


def test_a_sweep_whose_every_run_failed_draws_no_empty_figure(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "sim.cli", "sweep", str(HOME), "--set",
         "pki.certificates.iphttps.chain_file=missing.pem", "--workers", "1",
         "--out", str(tmp_path / "f.csv"), "--plot", str(tmp_path / "f.svg")],
        cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 1 and "not drawn, since no run completed" in res.stderr
    assert (tmp_path / "f.csv").exists() and not (tmp_path / "f.svg").exists()


def test_a_worker_that_died_is_retried_when_the_sweep_is_resumed(tmp_path):
    sets = [("clients.0.profile", ["windows10", "windows11"])]
    journal = sw.Journal(tmp_path / "w.journal")
    sweep = sw.identity(HOME.read_text(), sets, 1, 11)
    journal.load(sweep)
    journal.append(0, [{"run_id": 0, "client": None, "error": "worker failed: BrokenProcessPool"}])
    assert sw.Journal(journal.path).load(sweep) == {}
    df = sweep_table(sw.local_executor(1), tmp_path, "w", sets, replications=1)
    assert df["error"].isna().all() and df["run_id"].tolist() == [0, 1]
    assert set(sw.Journal(journal.path).load(sweep)) == {0, 1}


@pytest.mark.parametrize("change, named", [
    (["--set", "clients.0.profile=windows10,windows7"], "other --set values"),
    (["--set", "clients.0.profile=windows10,windows11", "--seed", "2"], "other seed"),
    (["--set", "clients.0.profile=windows10,windows11", "--replications", "2"],
     "other replications")])
def test_a_journal_of_another_sweep_is_refused_rather_than_mixed_in(tmp_path, change, named):
    out = tmp_path / "j.csv"
    journal = sw.Journal(Path(str(out) + ".journal"))
    journal.load(sw.identity(HOME.read_text(), [("clients.0.profile",
                                                 ["windows10", "windows11"])], 1, 1))
    journal.append(0, [{"run_id": 0, "client": "laptop", "connected": True}])
    text = journal.path.read_text()
    res = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(HOME), *change,
                          "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"{journal.path}: this journal is of another sweep ({named})" in res.stderr
    assert not out.exists() and journal.path.read_text() == text


def test_a_sweep_table_gets_the_mode_of_any_new_file_not_a_private_one(tmp_path):
    out = tmp_path / "m.csv"
    old = os.umask(0o022)
    try:
        res = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(HOME), "--set",
                              "clients.0.profile=windows10", "--workers", "1", "--out", str(out),
                              "--plot", str(tmp_path / "m.svg")], cwd=ROOT, capture_output=True,
                             text=True)
    finally:
        os.umask(old)
    assert res.returncode == 0, res.stderr
    assert (out.stat().st_mode & 0o777) == 0o644
    assert ((tmp_path / "m.svg").stat().st_mode & 0o777) == 0o644
    # the figure is said, as plot says its files, and named for its scenario
    assert f"wrote {tmp_path / 'm.svg'}" in res.stdout
    assert "home-nat: sweep" in (tmp_path / "m.svg").read_text()


@pytest.mark.parametrize("bad", ["clients.0.profile", "nosuch.key=1", "clients.0.profile=win9"])
def test_bad_set_options_exit_2(tmp_path, bad):
    res = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(HOME), "--set", bad,
                          "--out", str(tmp_path / "x.csv")], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("option, message", [
    ("clients.0.profile=win9", "--set clients.0.profile=win9: clients.0.profile: 'win9' is "
                               "not one of"),
    ("server.methods=[6to4,bogus]", "--set server.methods=[6to4, bogus]: server.methods.1: "
                                    "'bogus' is not one of 6to4, teredo, iphttps"),
    ("networks.home.nat={preset: nosuch}", "--set networks.home.nat={preset: nosuch}: "
                                           "networks.home.nat.preset: 'nosuch' is not one of")])
def test_a_bad_set_value_is_reported_at_the_option_not_at_the_files_line(tmp_path, option,
                                                                          message):
    res = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(HOME), "--set", option,
                          "--out", str(tmp_path / "x.csv")], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 2 and len(res.stderr.splitlines()) == 1
    assert res.stderr.startswith(f"dasim: error: {HOME}: {message}")
    assert not re.search(re.escape(str(HOME)) + r":\d", res.stderr)   # no line of the file


def test_a_parameter_that_mixes_null_numbers_and_text_keeps_each_value_as_written(tmp_path):
    rows = [{"run_id": i, "replication": 0, "seed": 1, "a": a, "b": b, "client": "x",
             "connected": True} for i, (a, b) in enumerate([(1, 30), (20, 120), (None, 300),
                                                            (1, "2m")])]
    df = sw.table(rows, ["a", "b"])
    assert df["a"].tolist() == ["1", "20", "null", "1"]     # not 1.0, 20.0, NaN
    assert df["b"].tolist() == ["30", "120", "300", "2m"]
    # one type throughout stays that type
    same = sw.table(rows[:2], ["a", "b"])
    assert same["a"].tolist() == [1, 20] and same["a"].dtype.kind == "i"
    out = tmp_path / "t.parquet"
    sw.write_table(df, out)
    assert pd.read_parquet(out)["a"].tolist() == ["1", "20", "null", "1"]


def test_a_value_may_be_a_list_so_methods_can_be_turned_off_at_the_server(tmp_path):
    assert sw.parse_set("server.methods=[6to4,teredo,iphttps],[6to4,iphttps]") == (
        "server.methods", [["6to4", "teredo", "iphttps"], ["6to4", "iphttps"]])
    assert sw.parse_set("x=30, 2m ,null,@odd") == ("x", [30, "2m", None, "@odd"])
    out = tmp_path / "m.csv"
    res = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(HOME), "--set",
                          "server.methods=[6to4,teredo,iphttps],[6to4,iphttps]", "--workers",
                          "1", "--out", str(out), "--plot", str(tmp_path / "m.svg")],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    df = pd.read_csv(out)
    assert df["server.methods"].tolist() == ["[6to4, teredo, iphttps]", "[6to4, iphttps]"]
    assert df["method"].tolist() == ["teredo", "iphttps"]
    assert "server.methods=[6to4, iphttps]: 100% connected (iphttps 100%)" in res.stdout
    assert "with " not in res.stdout   # no constants


def test_the_summary_figure_stacks_the_methods_and_is_the_same_every_time(tmp_path):
    from sim.report import plots

    rows = [{"run_id": r, "replication": r % 2, "seed": r, "p": p, "client": f"c{i}",
             "method": m, "connected": m is not None, "last_error": e}
            for r, p in enumerate(["a", "a", "b", "b"])
            for i, (m, e) in enumerate([("teredo" if p == "a" else "iphttps", None),
                                        (None, "0x800b0109")])]
    df = sw.table(rows, ["p"])
    first = plots.sweep_summary(df, ["p"], str(tmp_path / "one.svg"))
    second = plots.sweep_summary(df, ["p"], str(tmp_path / "two.svg"))
    svg = Path(first).read_text()
    assert svg == Path(second).read_text()
    assert all(label in svg for label in ("Teredo", "IP-HTTPS", "none (0x800b0109)"))
    titled = Path(plots.sweep_summary(df, ["p"], str(tmp_path / "three.svg"),
                                      {"duration": "30m"})).read_text()
    assert "with duration=30m" in titled and "with " not in svg


def test_rows_name_the_site_of_a_laptop_on_a_network_with_sites(tmp_path):
    mixed = ROOT / "scenarios" / "mixed-fleet.yaml"
    rows = sw.run_sweep(mixed, [("clients.0.count", [30])], 1, 3, ThreadPoolExecutor(1),
                        sw.Journal(tmp_path / "s.journal"))
    df = sw.table(rows, ["clients.0.count"])
    homes = df[df["network"] == "home"]["site"]
    assert homes.str.fullmatch(r"home(#\d+)?").all() and homes.is_unique
    assert df[df["network"].str.startswith("carrier")]["site"].isna().all()


def test_connectivity_checks_show_a_nat_timeout_shorter_than_teredo_refreshes(tmp_path):
    # a binding that expires between two checks (10 s < 15 s) comes back on a new port when
    # the NAT allocates ports at random: the Teredo address, which carries the old mapping,
    # stops receiving until a refresh learns the new one (and while checks come back, no
    # refresh is sent: RFC 4380 §5.2.5). With port preservation the new binding is the old
    # one again. The tunnel stays "connected" in both cases: only the checks tell them apart.
    out = tmp_path / "u.csv"
    res = subprocess.run(
        [sys.executable, "-m", "sim.cli", "sweep", str(HOME), "--set",
         "networks.home.nat.port_allocation=preservation,random", "--set",
         "networks.home.nat.udp_timeout=10", "--set", "duration=30m", "--set",
         "clients.0.connectivity_probe=15", "--workers", "1", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    df = pd.read_csv(out).set_index("networks.home.nat.port_allocation")
    assert df["connected"].all() and df["method"].eq("teredo").all()
    assert df.loc["preservation", "probes_unanswered"] == 0
    # checks start with the first tunnel: IP-HTTPS at 0.3 s, before Teredo qualifies
    assert df.loc["preservation", "probes_answered"] == 119
    assert 0 < df.loc["random", "probes_answered"] < df.loc["random", "probes_unanswered"]
    # the one-valued --set options are the sweep's constants, named once
    assert "with networks.home.nat.udp_timeout=10, duration=30m, " \
           "clients.0.connectivity_probe=15:\n" \
           "  networks.home.nat.port_allocation=preservation: 100% connected (teredo 100%); " \
           "connectivity checks answered 100.0%, degraded 0%\n" in res.stdout
    # random ports lose most checks: the tunnel is up but degraded, in the rows and summary
    assert not df.loc["preservation", "degraded"] and df.loc["random", "degraded"]
    (random,) = [line for line in res.stdout.splitlines() if "port_allocation=random" in line]
    assert random.startswith("  networks.home.nat.port_allocation=random: 100% connected "
                             "(teredo 100%); connectivity checks answered ")
    assert random.endswith(", degraded 100%")
    plain = sw.table([{"run_id": 0, "client": "x", "connected": True}], [])
    assert plain["probes_answered"].isna().all()   # no checks, no count


def test_replications_that_cannot_differ_are_pointed_out(tmp_path):
    same = subprocess.run(
        [sys.executable, "-m", "sim.cli", "sweep", str(HOME), "--set",
         "clients.0.profile=windows10,windows11", "--replications", "3", "--workers", "1",
         "--out", str(tmp_path / "same.csv")], cwd=ROOT, capture_output=True, text=True)
    assert same.returncode == 0
    assert "all 3 replications of each combination gave the same outcomes" in same.stderr
    # random NAT ports with a timeout shorter than Teredo's refresh: runs differ
    rows = [{"run_id": r, "replication": r, "seed": r, "p": "x", "client": "c",
             "connected": True, "probes_answered": answered, "probes_unanswered": 58 - answered}
            for r, answered in enumerate([49, 50, 46])]
    assert sw.replications_differ(sw.table(rows, ["p"]), ["p"])
    assert not sw.replications_differ(sw.table([{**row, "probes_answered": 50,
                                                 "probes_unanswered": 8} for row in rows],
                                               ["p"]), ["p"])


def test_ctrl_c_stops_a_sweep_at_once_and_ends_its_workers(tmp_path):
    """A terminal's Ctrl-C reaches the whole process group: the workers leave it to the main
    process, which drops the queued runs, ends the workers and keeps the journal."""
    out = tmp_path / "r.csv"
    journal = Path(str(out) + ".journal")
    proc = start_gpo_sweep(out, 2, 2, stderr=subprocess.PIPE, text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    workers = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True,
                             text=True).stdout.split()
    os.killpg(proc.pid, signal.SIGINT)
    t0 = time.time()
    _, err = proc.communicate(timeout=30)
    assert time.time() - t0 < 5, "the sweep should stop at once"
    assert proc.returncode != 0 and "Traceback" not in err and "Aborted." in err
    assert len(workers) >= 3   # the sweep and its two workers were running
    left = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True)
    assert left.stdout.split() == []
    assert len(journal.read_text().splitlines()) >= 2   # what finished is kept


def test_a_combination_that_is_not_a_valid_scenario_stops_the_sweep_before_it_starts(tmp_path):
    """Each value alone is valid; together they are not (a network with laptops_per_site
    that another network names as its upstream)."""
    out = tmp_path / "c.csv"
    mixed = ROOT / "scenarios" / "mixed-fleet.yaml"
    res = subprocess.run(
        [sys.executable, "-m", "sim.cli", "sweep", str(mixed), "--set",
         "networks.home.upstream=internet,carrier-shared", "--set",
         "networks.carrier-shared.laptops_per_site=null,5", "--workers", "1",
         "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "laptops_per_site" in res.stderr
    assert not out.exists() and not Path(str(out) + ".journal").exists()


def test_adding_a_value_leaves_the_other_combinations_runs_as_they_were():
    before = {(s.params, s.replication): s.seed
              for s in sw.plan([("networks.home.nat.udp_timeout", [30, 120])], 3, 7)}
    after = {(s.params, s.replication): s.seed
             for s in sw.plan([("networks.home.nat.udp_timeout", [20, 30, 120])], 3, 7)}
    assert all(after[k] == seed for k, seed in before.items())
    assert len(set(after.values())) == len(after)   # every run its own seed
    other = {(s.params, s.replication): s.seed
             for s in sw.plan([("networks.home.nat.udp_timeout", [30, 120])], 3, 8)}
    assert set(other.values()).isdisjoint(before.values())   # another sweep seed, others
