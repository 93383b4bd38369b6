"""KB 2980667's fix, end to end: import the root, then restart the IP Helper service, and
IP-HTTPS connects at once instead of at the next retry of its back-off (F2.10, F6.6)."""

from pathlib import Path

from sim.scenario import load_scenario
from sim.scenario.build import Simulation

KB = Path(__file__).resolve().parents[2] / "scenarios" / "kb2980667-untrusted-root.yaml"
IMPORT = {"at": 600, "action": "import_root", "client": "laptop", "authority": "contoso-root"}


def run(events: list[dict]) -> dict:
    sim = Simulation(load_scenario(KB, {"events": events}))
    return sim.run().as_dict()["clients"][0]


def test_restarting_ip_helper_after_the_import_connects_at_once():
    waited = run([IMPORT])
    restarted = run([IMPORT, {"at": 610, "action": "restart_ip_helper", "client": "laptop"}])
    assert waited["method"] == restarted["method"] == "iphttps"
    assert waited["time_to_connect_s"] > 900          # the back-off's retry at ~990 s
    # the methods start over at 610 s: Teredo's 24 s of qualification, then IP-HTTPS
    assert 610 < restarted["time_to_connect_s"] < 640
    again = [a for a in restarted["attempts"] if a["start_s"] >= 610]
    assert [a["method"] for a in again] == ["native", "6to4", "teredo", "iphttps"]
    assert restarted["location"] == "outside"


def test_restarting_ip_helper_without_the_root_fails_again_with_the_same_code():
    result = run([{"at": 610, "action": "restart_ip_helper", "client": "laptop"}])
    assert not result["connected"] and result["last_error"] == "0x800b0109"
