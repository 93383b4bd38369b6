"""A jittered uplink in Wireshark: TCP in order, no analysis flags (Out-Of-Order, Dup ACK,
Fast Retransmission), the TLS handshake in its order; with ``reorder`` Wireshark flags it."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sim.cli import cli

SCEN = Path(__file__).resolve().parents[2] / "scenarios"
needs_tshark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")


def _pcap(tmp_path: Path, reorder: bool) -> Path:
    """The KB scenario's hotel behind an uplink of 40 ms with 5 ms of jitter, captured at the
    laptop."""
    scenario = yaml.safe_load((SCEN / "kb2980667-untrusted-root.yaml").read_text())
    scenario["networks"]["hotel"]["link"] = {"latency": "40ms", "jitter": "5ms",
                                             "reorder": reorder}
    path = tmp_path / "jitter.yaml"
    path.write_text(yaml.safe_dump(scenario))
    out = tmp_path / f"jitter-{reorder}.pcap"
    res = CliRunner().invoke(cli, ["pcap", str(path), "--out", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return out


def _tshark(path: Path, *fields: str, flt: str) -> list[str]:
    cmd = ["tshark", "-r", str(path), "-T", "fields", "-Y", flt]
    for f in fields:
        cmd += ["-e", f]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()


@needs_tshark
def test_tcp_under_jitter_is_in_order_with_no_wireshark_analysis_flags(tmp_path):
    out = _pcap(tmp_path, reorder=False)
    assert len(_tshark(out, "frame.number", flt="tcp")) > 20
    assert _tshark(out, "frame.number", flt="tcp.analysis.flags") == []
    server_hellos = _tshark(out, "tls.handshake.type",
                            flt="tls.handshake.type == 2 or tls.handshake.type == 14")
    types = [t for line in server_hellos for t in line.split(",")]
    assert "2" in types and "14" in types
    assert types.index("2") < types.index("14")   # ServerHello before ServerHelloDone


@needs_tshark
def test_a_link_that_reorders_shows_out_of_order_segments(tmp_path):
    out = _pcap(tmp_path, reorder=True)
    assert _tshark(out, "frame.number", flt="tcp.analysis.flags")
