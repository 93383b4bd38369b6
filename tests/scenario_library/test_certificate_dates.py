"""Any dates a scenario writes build a certificate, or one clear error (issue 18 item 5): a
certificate that expired months before the start, or one not yet valid, fails IP-HTTPS with
CERT_E_EXPIRED (0x800b0101); it never ends in a traceback from the certificate builder."""

import datetime as dt
import subprocess
import sys

import pytest

from .conftest import by_name, run_text

UTC = dt.UTC
SCENARIO = """
name: certificate-dates
start: 2026-06-01T09:00:00Z
duration: 120
pki:
  authorities:
    contoso-root: {{{root}}}
    contoso-issuing: {{issuer: contoso-root}}
  certificates:
    iphttps: {{issuer: contoso-issuing, subject: da.contoso.com{dates}}}
networks:
  hotel:
    nat: {{preset: port-restricted-cone}}
    firewall: {{default: deny, allow: [tcp/443, udp/53]}}
  corp: {{corporate: true}}
clients:
  - {{name: laptop, network: hotel, roots: [contoso-root]}}
"""


def run(dates: str = "", root: str = ""):
    return run_text(SCENARIO.format(dates=dates, root=root))


def test_a_certificate_that_expired_months_before_the_start_fails_with_cert_e_expired():
    sim, result = run(", not_after: 2026-01-15")   # before the default not_before (May 2)
    cert = sim.pki.certificate("iphttps")
    assert cert.not_valid_after_utc == dt.datetime(2026, 1, 15, tzinfo=UTC)
    # the default not_before is derived from not_after: a year (a leaf's lifetime) before it
    assert cert.not_valid_before_utc == dt.datetime(2025, 1, 15, tzinfo=UTC)
    laptop = by_name(result)["laptop"]
    assert not laptop["connected"] and laptop["last_error"] == "0x800b0101"


def test_a_certificate_not_yet_valid_fails_with_cert_e_expired():
    sim, result = run(", not_before: 2026-09-01")
    cert = sim.pki.certificate("iphttps")
    assert cert.not_valid_after_utc == dt.datetime(2027, 9, 1, tzinfo=UTC)
    assert by_name(result)["laptop"]["last_error"] == "0x800b0101"


def test_an_issuing_ca_under_a_root_that_expired_long_ago_builds_and_fails_with_expired():
    sim, result = run(root="not_after: 2020-01-01")
    issuing = sim.pki.authority("contoso-issuing").certificate
    assert issuing.not_valid_before_utc < issuing.not_valid_after_utc
    assert by_name(result)["laptop"]["last_error"] == "0x800b0101"


def test_given_not_before_and_not_after_are_the_certificates_period():
    sim, result = run(", not_before: 2026-05-01, not_after: 2027-05-01")
    cert = sim.pki.certificate("iphttps")
    assert (cert.not_valid_before_utc, cert.not_valid_after_utc) == (
        dt.datetime(2026, 5, 1, tzinfo=UTC), dt.datetime(2027, 5, 1, tzinfo=UTC))
    assert by_name(result)["laptop"]["method"] == "iphttps"


@pytest.mark.parametrize("dates", [", not_before: 2026-05-01, not_after: 2026-04-01",
                                   ", not_after: 1949-12-31"])
def test_dates_that_cannot_build_a_certificate_are_one_message_exit_2(tmp_path, dates):
    path = tmp_path / "dates.yaml"
    path.write_text(SCENARIO.format(dates=dates, root=""))
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert f"{path}:" in proc.stderr
    assert "pki.certificates.iphttps.not_after" in proc.stderr
