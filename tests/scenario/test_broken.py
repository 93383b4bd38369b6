"""Bad scenario files: one clear message naming the file, the line and the key; exit status 2;
no traceback; nothing written."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.errors import InputError
from sim.scenario import load_scenario, parse_scenario

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.yaml"))
GOOD = Path(__file__).resolve().parents[2] / "scenarios" / "kb2980667-untrusted-root.yaml"


def test_the_corpus_has_at_least_30_broken_variants():
    assert len(BROKEN) >= 30


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_file_gives_one_message_with_file_and_line(path):
    expect = path.read_text().splitlines()[0].removeprefix("# expect:").strip()
    with pytest.raises(InputError) as info:
        load_scenario(path)
    message = str(info.value)
    assert expect in message
    assert "\n" not in message
    assert re.match(rf"{re.escape(str(path))}(:\d+:\d+)?: ", message), message


def test_unknown_key_points_at_its_line_and_column():
    path = next(p for p in BROKEN if "unknown-top-key" in p.name)
    with pytest.raises(InputError, match=r":3:1: sed: unknown key \(did you mean 'seed'\?\)"):
        load_scenario(path)


def test_nested_value_error_names_the_dotted_key():
    path = next(p for p in BROKEN if "bad-mapping" in p.name)
    with pytest.raises(InputError, match=r":13:\d+: networks\.hotel\.nat\.mapping: "):
        load_scenario(path)


def test_missing_file_and_non_utf8(tmp_path):
    with pytest.raises(InputError, match="no such scenario file"):
        load_scenario(tmp_path / "nope.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(InputError, match="not UTF-8"):
        load_scenario(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        load_scenario(empty)


@pytest.mark.parametrize("path", BROKEN[:6], ids=[p.stem for p in BROKEN[:6]])
def test_command_line_exits_2_without_traceback_and_writes_nothing(path, tmp_path):
    out = tmp_path / "out.pcap"
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(path), "--pcap",
                           str(out)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert str(path) in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_overrides_set_dotted_paths_and_reject_unknown_ones():
    s = load_scenario(GOOD, {"networks.hotel.nat.udp_timeout": 30, "clients.0.profile":
                             "windows7"})
    assert s.networks["hotel"].nat.udp_timeout == 30
    assert s.clients[0].profile == "windows7"
    with pytest.raises(InputError, match=r"no key networks\.hotle"):
        load_scenario(GOOD, {"networks.hotle.nat.udp_timeout": 30})
    with pytest.raises(InputError, match="has no item 5"):
        load_scenario(GOOD, {"clients.5.profile": "windows7"})


GOOD_TEXT = GOOD.read_text()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mangled_scenarios_give_a_scenario_or_an_input_error(data):
    """Property: whatever happens to the text, the loader answers with a Scenario or one
    InputError, never another exception."""
    lines = GOOD_TEXT.splitlines()
    op = data.draw(st.sampled_from(["delete", "truncate", "typo", "retype", "bytes"]))
    if op == "delete":
        i = data.draw(st.integers(0, len(lines) - 1))
        text = "\n".join(lines[:i] + lines[i + 1:])
    elif op == "truncate":
        text = GOOD_TEXT[: data.draw(st.integers(0, len(GOOD_TEXT)))]
    elif op == "typo":
        i = data.draw(st.integers(0, len(GOOD_TEXT) - 1))
        ch = data.draw(st.sampled_from(list("x:-{}[]'\" \n#0")))
        text = GOOD_TEXT[:i] + ch + GOOD_TEXT[i + 1:]
    elif op == "retype":
        i = data.draw(st.integers(0, len(lines) - 1))
        value = data.draw(st.sampled_from(["[]", "{}", "null", "-1", "true", "'x'", "1e309"]))
        key = lines[i].split(":")[0] if ":" in lines[i] else lines[i]
        text = "\n".join([*lines[:i], f"{key}: {value}", *lines[i + 1:]])
    else:
        raw = data.draw(st.binary(max_size=64))
        text = raw.decode("utf-8", errors="replace") + GOOD_TEXT
    try:
        parse_scenario(text, "fuzz.yaml")
    except InputError as exc:
        assert str(exc).startswith("fuzz.yaml")
