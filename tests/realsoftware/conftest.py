"""Fixtures of the cross-check against real software: each real experiment (Miredo, or the
simulator's qualification order in real UDP, behind one iptables NAT) runs once per test
session, whichever pytest-xdist worker asks first; the others wait on a file lock and read
its result. The simulator's side of each experiment is cheap and runs where it is asked."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

import pytest

from tests.realsoftware import lab as real

REASON = real.skip_reason()


def pytest_collection_modifyitems(items):
    if REASON is None:
        return
    mark = pytest.mark.skip(reason=f"cross-check against real software: {REASON}")
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(mark)


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory, worker_id):
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if worker_id != "master" else base) / "realsoftware"
    root.mkdir(exist_ok=True)
    return root


@pytest.fixture(scope="session")
def experiment(shared_dir):
    """``experiment("miredo" | "probe-rfc4380" | "probe-no-cone", nat)``: the result of that
    real run (a dict; pcap paths inside), computed once per session across workers."""

    def get(kind: str, nat: str) -> dict:
        name = f"{kind}-{nat}"
        done = shared_dir / f"{name}.json"
        with open(shared_dir / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if done.exists():
                return json.loads(done.read_text())
            workdir = shared_dir / name
            workdir.mkdir(exist_ok=True)
            with real.Lab(nat, workdir) as the_lab:
                if kind == "miredo":
                    result = real.run_miredo(the_lab)
                else:
                    result = real.run_probe(the_lab, kind.removeprefix("probe-"))
            done.write_text(json.dumps(result))
            return result

    return get
