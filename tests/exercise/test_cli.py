"""``dasim exercise``: the symptoms, a verdict, hints, the solution, the library list, and
bad input as one message naming the file and the line, exit status 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KB = str(ROOT / "exercises" / "kb2980667-root.yaml")


def dasim(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True,
                          text=True, cwd=cwd)


def test_the_symptoms_show_the_views_at_the_times_asked_for():
    out = dasim("exercise", KB, "--at", "45s", "--view", "netsh interface httpstunnel show "
                "interfaces", "--view", "user")
    assert out.returncode == 0, out.stderr
    assert "(at 45 s)" in out.stdout and "Last Error Code            : 0x800b0109" in out.stdout
    assert "Workplace connection (DirectAccess): Connecting" in out.stdout
    assert "teredo show state" not in out.stdout


def test_the_capture_stops_where_the_exercise_allows(tmp_path):
    from scapy.utils import rdpcap

    pcap = tmp_path / "kb.pcap"
    out = dasim("exercise", KB, "--pcap", str(pcap), "--view", "user")
    assert out.returncode == 0, out.stderr
    packets = rdpcap(str(pcap))
    assert packets and float(packets[-1].time - packets[0].time) <= 60


def test_a_try_says_whether_it_works_from_when_and_what_kind_of_fix():
    out = dasim("exercise", KB, "--try", "import_root contoso-root; restart_ip_helper @10m",
                "--json")
    verdict = json.loads(out.stdout)
    assert verdict["verdict"] == "remedy" and verdict["works"]
    assert 600 < verdict["since_s"] < 602   # at once after the restart, not at the retry


def test_hints_come_in_steps_and_the_solution_tells_the_cause():
    one = dasim("exercise", KB, "--hint", "1").stdout
    assert one.startswith("Hint 1:") and "Hint 2" not in one and "--hint 2" in one
    solution = dasim("exercise", KB, "--solution").stdout
    assert "Cause: " in solution and "contoso-root" in solution and "KB 2980667" in solution


def test_the_list_shows_titles_without_sources():
    out = dasim("exercise", "--list", str(ROOT / "exercises"))
    assert out.returncode == 0
    assert "From the hotel, DirectAccess never connects" in out.stdout
    assert "KB 2980667" not in out.stdout


@pytest.mark.parametrize("text, message", [
    ("exercise: x\ntitle: t\n", "bad.yaml:1:1: client: required key is missing (and 6 more)"),
    ("exercise: x\ntitel: t\n", ":2:1: titel: unknown key (did you mean 'title'?)"),
])
def test_a_bad_exercise_file_names_its_line(tmp_path, text, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    out = dasim("exercise", str(bad))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert message in out.stderr


def test_a_fault_on_a_path_the_world_lacks_names_the_fault_line(tmp_path):
    text = Path(KB).read_text().replace("fault:\n", "fault:\n  set: {clients.0.rots: []}\n"
                                        "  xx: 1\n", 1).replace("  xx: 1\n", "")
    text = text.replace("  set: {clients.0.roots: []}\n", "")
    bad = tmp_path / "kb.yaml"
    bad.write_text(text.replace("../scenarios/", str(ROOT / "scenarios") + "/"))
    out = dasim("exercise", str(bad))
    assert out.returncode == 2
    assert f"{bad}:" in out.stderr and ": fault: " in out.stderr and "rots" in out.stderr


def test_a_wrong_try_is_an_input_error_with_a_suggestion():
    out = dasim("exercise", KB, "--try", "import_rot contoso-root")
    assert out.returncode == 2 and "did you mean 'import_root'?" in out.stderr
    out = dasim("exercise", KB, "--try", "import_root")
    assert out.returncode == 2 and "needs" in out.stderr


def test_a_fix_on_a_device_the_network_lacks_is_wrong_with_a_reason():
    out = dasim("exercise", KB, "--try", "portal_login hotel")
    assert out.returncode == 0, out.stderr
    assert "Verdict: wrong." in out.stdout and "Traceback" not in out.stderr
    assert "network 'hotel' has no captive portal" in out.stdout


def test_a_fix_after_the_run_ends_is_an_input_error_in_the_users_words():
    out = dasim("exercise", KB, "--try", "import_root contoso-root @2h")
    assert out.returncode == 2 and "Verdict" not in out.stdout
    assert "@2h: after the run's end (20 min)" in out.stderr
    late = dasim("exercise", KB, "--at", "99h")
    assert late.returncode == 2 and "--at 99h: after the run's end" in late.stderr


NLS = str(ROOT / "exercises" / "nls-outage.yaml")
IPSEC = str(ROOT / "exercises" / "computer-certificate-other-ca.yaml")


def test_the_user_view_shows_the_network_at_the_time_asked_for():
    out = dasim("exercise", NLS, "--at", "10s", "--at", "2m", "--view", "user")
    assert out.returncode == 0, out.stderr
    early, late = out.stdout.split("(at 2 min)")
    assert "Network: corp" in early and "Network: meeting-room" in late


def test_a_fault_above_the_tunnel_shows_in_the_user_view_and_get_daconnectionstatus():
    out = dasim("exercise", IPSEC, "--at", "4m")
    assert out.returncode == 0, out.stderr
    assert "IPHTTPS interface active" in out.stdout   # the tunnel is up ...
    assert "Workplace connection (DirectAccess): Connecting" in out.stdout   # ... DA is not
    assert "Substatus : RemoteNetworkAuthenticationFailure" in out.stdout


def rewritten(source, tmp_path, old, new):
    """A copy of exercise ``source`` in ``tmp_path`` with ``old`` replaced by ``new`` (its
    world found where the library keeps it)."""
    text = Path(source).read_text(encoding="utf-8").replace(old, new)
    path = tmp_path / Path(source).name
    path.write_text(text.replace("../scenarios/", str(ROOT / "scenarios") + "/"),
                    encoding="utf-8")
    return path


def test_a_fault_that_leaves_the_goal_met_is_warned_of(tmp_path):
    path = rewritten(IPSEC, tmp_path, "goal: directaccess", "goal: connected")
    out = dasim("exercise", str(path), "--view", "user", "--at", "30s")
    assert "fault: with it, the goal (connected) is still met" in out.stderr
    assert "goal: directaccess" in out.stderr


def test_goal_directaccess_needs_the_ipsec_layer(tmp_path):
    path = rewritten(KB, tmp_path, "goal: connected", "goal: directaccess")
    out = dasim("exercise", str(path))
    assert out.returncode == 2 and "goal: directaccess reads Get-DAConnectionStatus" in out.stderr
    assert f"{path}:" in out.stderr


TLS = str(ROOT / "exercises" / "tls-inspection.yaml")


def test_a_fixs_mistake_names_neither_the_world_nor_hidden_names():
    out = dasim("exercise", TLS, "--try", "import_root ngfw")
    assert out.returncode == 2 and "no authority 'ngfw' in this exercise" in out.stderr
    for secret in ("hotel-tls-inspection", "scenarios/", "ngfw-ca", "inspection-ca",
                   "contoso-issuing"):
        assert secret not in out.stderr
    roam = dasim("exercise", TLS, "--try", "roam hom")
    assert roam.returncode == 2 and "(the ones you can see: branch, hotel)" in roam.stderr
    path = dasim("exercise", TLS, "--set", "networks.branc.proxy.inspect_tls=false")
    assert path.returncode == 2 and "scenarios/" not in path.stderr
    assert "--set networks.branc.proxy.inspect_tls" in path.stderr


def test_the_verdicts_json_gives_the_title_not_the_exercises_name():
    out = dasim("exercise", str(ROOT / "exercises" / "captive-portal.yaml"), "--try",
                "portal_login hotel", "--json")
    verdict = json.loads(out.stdout)
    assert "exercise" not in verdict and "captive-portal" not in out.stdout
    assert verdict["title"] == "Hotel Wi-Fi connected, DirectAccess not"


def test_the_steps_of_one_fix_happen_in_the_order_given():
    """A restart of the IP Helper before the root's import finds no root and waits for the
    back-off; after it, IP-HTTPS reconnects at once (both orders gave 600.3 s)."""
    def works_from(fix):
        out = dasim("exercise", KB, "--try", fix)
        assert out.returncode == 0, out.stderr
        line = next(x for x in out.stdout.splitlines() if x.startswith("DirectAccess works"))
        return float(line.split("from t=", 1)[1].split(" s", 1)[0])

    restart_first = works_from("restart_ip_helper; import_root contoso-root")
    import_first = works_from("import_root contoso-root; restart_ip_helper")
    assert import_first == pytest.approx(601.3, abs=0.2)
    assert restart_first > import_first + 20
