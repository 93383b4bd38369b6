"""``dasim check-cert``: verdict, path, explanation; exit 0 trusted, 1 not trusted, 2 bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from sim.cli import main
from sim.pki import thumbprint
from tests.pki.conftest import HOST


def _write(path: Path, certs) -> str:
    path.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in certs))
    return str(path)


def _run(args) -> int:
    with pytest.raises(SystemExit) as exc:
        main(args)
    return exc.value.code


def test_trusted_chain_exits_0(tmp_path, contoso, capsys):
    chain = _write(tmp_path / "chain.pem", contoso.presented(send_root=False))
    roots = tmp_path / "roots"
    roots.mkdir()
    (roots / "root.cer").write_bytes(contoso.root.certificate.public_bytes(Encoding.DER))
    code = _run(["check-cert", chain, "--roots", str(roots), "--host", HOST,
                 "--at", "2026-06-01"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("0x0 S_OK")
    assert thumbprint(contoso.root.certificate) in out


def test_untrusted_root_exits_1_with_the_kb2980667_explanation(tmp_path, contoso, capsys):
    chain = _write(tmp_path / "chain.pem", contoso.presented())
    code = _run(["check-cert", chain, "--host", HOST, "--at", "2026-06-01T09:00:00Z"])
    out = " ".join(capsys.readouterr().out.split())  # the paragraph is wrapped
    assert code == 1
    assert "0x800b0109 CERT_E_UNTRUSTEDROOT" in out
    assert "Trusted Root Certification Authorities" in out and "Group Policy" in out
    assert "IP Helper" in out


def test_crl_check_without_download_reports_offline(tmp_path, contoso, capsys):
    chain = _write(tmp_path / "chain.pem", contoso.presented())
    roots = _write(tmp_path / "root.pem", [contoso.root.certificate])
    code = _run(["check-cert", chain, "--roots", roots, "--host", HOST, "--at", "2026-06-01",
                 "--crl-check"])
    assert code == 1 and "0x80092013" in capsys.readouterr().out


def test_crl_files_at_hand_satisfy_the_crl_check(tmp_path, contoso, capsys):
    import datetime as dt

    at = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    chain = _write(tmp_path / "chain.pem", contoso.presented())
    roots = _write(tmp_path / "root.pem", [contoso.root.certificate])
    crls = []
    for name, auth in (("i.crl", contoso.issuing), ("r.crl", contoso.root)):
        (tmp_path / name).write_bytes(auth.crl(at).public_bytes(Encoding.DER))
        crls += ["--crl", str(tmp_path / name)]
    code = _run(["check-cert", chain, "--roots", roots, "--host", HOST, "--at", "2026-06-01",
                 "--crl-check", *crls])
    assert code == 0, capsys.readouterr().out


@pytest.mark.parametrize("content", [b"", b"garbage", b"-----BEGIN CERTIFICATE-----\nAAAA\n"
                                     b"-----END CERTIFICATE-----\n"])
def test_bad_input_exits_2_with_one_message_naming_the_file(tmp_path, content, capsys):
    bad = tmp_path / "bad.pem"
    bad.write_bytes(content)
    assert _run(["check-cert", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "Traceback" not in err


def test_bad_date_exits_2(tmp_path, contoso, capsys):
    chain = _write(tmp_path / "chain.pem", contoso.presented())
    assert _run(["check-cert", chain, "--at", "June first"]) == 2
    assert "--at" in capsys.readouterr().err


def test_missing_chain_file_exits_2(tmp_path, capsys):
    assert _run(["check-cert", str(tmp_path / "nope.pem")]) == 2
