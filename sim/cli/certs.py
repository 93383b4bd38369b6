"""``dasim check-cert``: a chain verified as a DirectAccess client's chain engine would."""

from __future__ import annotations

import datetime as dt
import sys
import textwrap

import click

from sim import pki


@click.command("check-cert")
@click.argument("chain", type=click.Path(dir_okay=True, path_type=str))
@click.option("--roots", "roots", multiple=True, type=click.Path(path_type=str),
              help="Trusted Root Certification Authorities: a file or folder (repeatable).")
@click.option("--intermediates", "intermediates", multiple=True, type=click.Path(path_type=str),
              help="Intermediate Certification Authorities: a file or folder (repeatable).")
@click.option("--host", help="The name (or IP address) clients connect to, e.g. the IP-HTTPS "
                             "URL's host.")
@click.option("--at", "at", help="Check at this ISO date or time (UTC if no offset); "
                                 "default now.")
@click.option("--crl-check", is_flag=True, help="Enforce revocation checking (as Windows 7 "
                                                "IP-HTTPS clients do).")
@click.option("--crl", "crl_files", multiple=True, type=click.Path(path_type=str),
              help="A CRL file already at hand (repeatable).")
@click.option("--online", is_flag=True, help="Download AIA and CRL URLs (otherwise nothing "
                                             "is fetched).")
def check_cert(chain: str, roots: tuple[str, ...], intermediates: tuple[str, ...],
               host: str | None, at: str | None, crl_check: bool, crl_files: tuple[str, ...],
               online: bool) -> None:
    """Verify CHAIN (leaf first: PEM, DER or .p7b) as a DirectAccess client's chain engine would.

    Exit status 0 trusted, 1 not trusted, 2 bad input.
    """
    presented = pki.load_chain(chain)
    root_certs = [c for p in roots for c in pki.load_certificates(p)]
    inter_certs = [c for p in intermediates for c in pki.load_certificates(p)]
    crls = [c for p in crl_files for c in pki.load_crls(p)]
    when = None
    if at:
        try:
            when = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise pki.PkiInputError(f"--at: '{at}' is not an ISO date or time") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
    result = pki.verify_chain(presented, roots=root_certs, intermediates=inter_certs, host=host,
                              at=when, fetch=_url_fetch if online else None,
                              check_revocation=crl_check, crls=crls)
    click.echo(f"{result.hex} {result.name}")
    click.echo(f"  {result.message}")
    click.echo("Path:")
    for i, cert in enumerate(result.path):
        flags = result.element_flags[i] if i < len(result.element_flags) else 0
        names = ", ".join(pki.TrustStatus(flags).names()) or "ok"
        click.echo(f"  [{i}] {cert.subject.rfc4514_string()}")
        click.echo(f"      thumbprint {result.thumbprints[i]}  "
                   f"({pki.result.SOURCE_TEXT.get(result.sources[i], result.sources[i])})  "
                   f"{names}")
    if result.flags:
        click.echo("Trust status: " + ", ".join(result.flags.names()))
    click.echo("Explanation:")
    click.echo(textwrap.fill(result.explain(), width=100, initial_indent="  ",
                             subsequent_indent="  "))
    if not result.trusted:
        sys.exit(1)  # SystemExit passes through main(); click's Exit would be swallowed


def _url_fetch(url: str) -> bytes | None:
    """Download an AIA or CRL URL for check-cert --online (None when unreachable)."""
    import urllib.request  # http.client, email, ssl: 60 ms that only --online needs

    if not url.lower().startswith(("http://", "https://", "file://")):
        return None
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.read(16 * 1024 * 1024)
    except Exception:
        return None
