"""The read-only view of a run (sim.scenario.view): what the report, the command line and the
notebooks read of a simulation, and nothing else."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import cli
from sim.errors import InputError
from sim.fleet.prepare import prepare
from sim.fleet.shards import Fleet
from sim.report import netsh
from sim.scenario import load_scenario
from sim.scenario.build import Simulation
from sim.scenario.view import SIMULATION_ATTRIBUTES, PolicyView, PreparedRun, RunView

SCEN = Path(__file__).resolve().parents[2] / "scenarios"
KB = SCEN / "kb2980667-untrusted-root.yaml"
SHARDED = {"clients.0.count": 40, "duration": 60, "shard_size": 20}


@pytest.fixture(scope="module")
def kb() -> RunView:
    prepared = prepare(KB, trace=True)
    prepared.run()
    return prepared.view()


def test_the_builder_still_has_every_attribute_the_view_reads():
    # the list the builder keeps (a rewrite of build.py that drops one breaks the view)
    sim = Simulation(load_scenario(KB))
    for dotted in SIMULATION_ATTRIBUTES:
        obj = sim
        for part in dotted.removesuffix("()").split("."):
            obj = getattr(obj, part)
        assert not dotted.endswith("()") or callable(obj), dotted


def test_a_view_has_the_result_the_trace_and_each_laptop(kb):
    assert kb.scenario == "kb2980667-untrusted-root" and kb.duration == 1200
    assert [c.name for c in kb.clients] == ["laptop"] == [c.name for c in kb.result.clients]
    laptop = kb.client("laptop")
    assert (laptop.network, laptop.site, laptop.corporate) == ("hotel", "hotel", False)
    assert laptop.method == kb.result_of("laptop").method == "iphttps"
    assert {a.version for a in laptop.addresses} >= {4}
    assert laptop.timeline and kb.trace   # trace=True: records kept
    assert any(r.kind == "drop" for r in kb.trace)


def test_a_run_prepared_without_a_trace_has_none():
    prepared = prepare(KB, overrides={"duration": 30})
    prepared.run()
    assert prepared.view().trace == []


def test_an_unknown_laptop_is_an_input_error_naming_the_clients(kb):
    with pytest.raises(InputError, match="no client named 'desk'; clients: laptop"):
        kb.client("desk")
    with pytest.raises(InputError, match="no client named 'desk'"):
        prepare(KB).require("desk")


def test_the_policy_is_what_netsh_shows(kb):
    assert kb.policy.iphttps_url == "https://da.contoso.com:443/IPHTTPS"
    assert kb.policy == PolicyView("https://da.contoso.com:443/IPHTTPS", "131.107.0.1",
                                   "131.107.0.1")


def test_netsh_reads_the_view_as_the_command_prints_it(kb):
    words = ("interface", "httpstunnel", "show", "interfaces")
    text = netsh.show(kb, "laptop", 300.0, words)
    assert "Last Error Code            : 0x800b0109" in text
    res = CliRunner().invoke(cli, ["netsh", str(KB), "--client", "laptop", "--at", "300",
                                   *words])
    assert res.exit_code == 0 and res.output == text
    assert netsh.show(kb, "laptop", None, ("int", "teredo", "sh", "state")).startswith(
        "Teredo Parameters")


def test_a_netsh_command_it_does_not_show_is_an_input_error():
    with pytest.raises(InputError, match="not a command this simulator shows"):
        netsh.command(("interface", "isatap", "show", "state"))


def test_a_capture_point_records_and_the_view_keeps_it():
    prepared = prepare(KB, overrides={"duration": 60})
    records = prepared.capture("client:laptop")
    server = prepared.capture("server")
    prepared.run()
    view = prepared.view()
    assert records and server and view.captures == {"client:laptop": records,
                                                    "server": server}
    with pytest.raises(InputError, match="--point 'router:x': expected client:NAME"):
        prepared.capture("router:x")
    with pytest.raises(InputError, match="no network 'nowhere'"):
        prepared.capture("nat:nowhere")


def test_a_point_or_a_laptop_chooses_the_shard_to_build():
    fleet = Fleet(load_scenario(SCEN / "mixed-fleet.yaml", SHARDED))
    assert fleet.shards == 2
    assert prepare(fleet, "laptop-00025").shard == 1
    assert prepare(fleet, point="client:laptop-00025").shard == 1
    assert prepare(fleet, point="nat:shard1/home#2").shard == 1
    assert prepare(fleet).shard == 0


def test_a_fleet_runs_with_its_prepared_shard_here_and_the_view_has_the_whole_result():
    fleet = Fleet(load_scenario(SCEN / "mixed-fleet.yaml", SHARDED))
    prepared = prepare(fleet, "laptop-00025")
    whole = prepared.run_fleet(workers=1)
    assert len(whole.clients) == 40 and len(prepared.view().clients) == 20
    assert [c.as_dict() for c in whole.clients] == \
        [c.as_dict() for c in Fleet(load_scenario(SCEN / "mixed-fleet.yaml", SHARDED))
         .run(workers=1).clients]


def test_a_sampler_reads_the_laptops_while_the_run_goes_on():
    prepared = prepare(KB, overrides={"duration": 1200})
    laptops = prepared.client_views()
    seen = []
    prepared.every(100.0, lambda now: seen.append((now, laptops[0].method)))
    prepared.run()
    assert [t for t, _ in seen] == [100.0 * k for k in range(12)]   # until the end
    assert seen[0][1] is None and seen[-1][1] == "iphttps"


def test_a_simulation_from_older_callers_is_wrapped():
    sim = Simulation(load_scenario(KB, {"duration": 30}))
    from sim.scenario.view import prepared, view_of

    assert isinstance(prepared(sim), PreparedRun)
    view = view_of(sim)
    assert view_of(view) is view and view.client("laptop").name == "laptop"


def test_sites_name_each_instance_of_a_network():
    view = prepare(SCEN / "mixed-fleet.yaml",
                   overrides={"networks.home.laptops_per_site": 1}).view()
    homes = view.sites["home"]
    assert homes[0].name == "home" and homes[1].name == "home#2"
    assert len({s.edge for s in homes}) == len(homes)
