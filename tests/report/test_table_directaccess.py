"""The run table tells the tunnel from DirectAccess above it: with the IPsec layer, each
client's Get-DAConnectionStatus status and IKE error beside its transition method."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_run_table_shows_directaccess_status_and_ike_error_per_client():
    out = subprocess.run([sys.executable, "-m", "sim.cli", "run",
                          "scenarios/ipsec-certificates.yaml"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.split() and line.split()[0] in ("laptop", "no-certificate", "other-ca")}
    assert rows["laptop"][3] == "iphttps" and rows["laptop"][-2:] == ["ConnectedRemotely", "-"]
    assert rows["no-certificate"][3] == "iphttps"   # the tunnel is up ...
    assert rows["no-certificate"][-2:] == ["RemoteNetworkAuthenticationFailure", "13806"]
    assert rows["other-ca"][-1] == "13801"
    assert "DirectAccess (IPsec above the tunnel): ConnectedRemotely 1," in out


def test_a_scenario_without_ipsec_keeps_its_table():
    out = subprocess.run([sys.executable, "-m", "sim.cli", "run",
                          "scenarios/kb2980667-untrusted-root.yaml"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert "directaccess" not in out and "IPsec" not in out
