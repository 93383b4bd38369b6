"""The report and the command line read a run only through its view (sim.scenario.view):
neither reaches into the Simulation's internals, so the builder can change them."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "sim"
READERS = sorted([*(ROOT / "report").glob("*.py"), *(ROOT / "cli").glob("*.py"),
                  *(ROOT / "exercise").glob("*.py")])

# attributes of a Simulation, a laptop or a Fleet's shard that only the view reads
INTERNALS = {"topo", "kernel", "da", "network_specs", "server_host", "public_dns_host",
             "public_web_host", "corp_dns_host", "nls_host", "dc_host", "corp_web_host",
             "simulation", "_sim", "_client", "host", "interfaces"}
# modules that hand out Simulation objects or their parts
BUILDERS = ("sim.scenario.build", "sim.scenario.laptop")


def _violations(source: str, name: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Attribute) and node.attr in INTERNALS:
            found.append(f"{name}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "clients":
            found.append(f"{name}:{node.lineno}: .clients[...]")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(BUILDERS):
            found.append(f"{name}:{node.lineno}: from {node.module} import")
        elif isinstance(node, ast.Import):
            found += [f"{name}:{node.lineno}: import {a.name}" for a in node.names
                      if a.name.startswith(BUILDERS)]
    return sorted(found, key=lambda v: int(v.split(":")[1]))


def test_there_are_readers_to_check():
    names = {p.name for p in READERS}
    assert {"narrative.py", "netsh.py", "capture.py", "runs.py", "app.py"} <= names


@pytest.mark.parametrize("path", READERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_reader_of_runs_reads_them_through_the_view(path):
    assert _violations(path.read_text(), path.name) == []


def test_the_check_sees_what_it_forbids():
    code = ("def f(sim, c):\n    sim.topo.networks\n    c.da.state\n    sim.clients[0]\n"
            "from sim.scenario.build import Simulation\n")
    assert [v.split(": ", 1)[1] for v in _violations(code, "probe.py")] == [
        ".topo", ".da", ".clients[...]", "from sim.scenario.build import"]
