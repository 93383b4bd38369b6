"""What ``last_error`` means (issue 19, Why 5): the last error the client reported since a
method last carried its traffic; null while one does, as netsh then shows 0x0 on the
interface in use. The attempts keep every error the client met on the way."""

import json

from click.testing import CliRunner

from sim.cli import cli

from .conftest import SCENARIOS, by_name, run_text

KB = str(SCENARIOS / "kb2980667-untrusted-root.yaml")


def test_a_laptop_connected_since_the_root_import_shows_no_last_error():
    out = CliRunner().invoke(cli, ["run", KB, "--json"])
    laptop = json.loads(out.output)["clients"][0]
    assert laptop["connected"] and laptop["method"] == "iphttps"
    assert laptop["last_error"] is None
    # the failures before the import are still in its attempts
    assert any(a.get("error") == "0x800b0109" for a in laptop["attempts"])
    netsh = CliRunner().invoke(cli, ["netsh", KB, "--client", "laptop", "--at", "1199",
                                     "interface", "httpstunnel", "show", "interfaces"])
    assert "Last Error Code            : 0x0" in netsh.output


def test_the_run_table_shows_no_stale_error_for_a_connected_laptop():
    table = CliRunner().invoke(cli, ["run", KB]).output
    row = next(line for line in table.splitlines() if line.startswith("laptop"))
    assert row.split() == ["laptop", "hotel", "outside", "iphttps", "965.8", "-"]


def test_an_error_after_the_tunnel_is_lost_is_the_last_error_again():
    """Connected first, then the server stops answering: the connectivity checks lose the
    tunnel, and the reconnects' errors are the last error again."""
    text = (SCENARIOS / "hotel-udp-blocked.yaml").read_text().replace(
        "roots: [contoso-root]", "roots: [contoso-root], connectivity_probe: 30s") + (
        "events:\n  - {at: 60, action: server_down}\n")
    _, result = run_text(text)
    laptop = by_name(result)["laptop"]
    assert not laptop["connected"] and laptop["time_to_connect_s"] is not None
    assert laptop["last_error"] == "0x274c"
    last_failure = [a for a in laptop["attempts"] if a.get("error")][-1]
    assert laptop["last_error"] == last_failure["error"]
