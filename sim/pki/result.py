"""ChainResult: what the chain engine concluded, immutable, with a paragraph a trainer can read.

It carries what CertGetCertificateChain + CertVerifyCertificateChainPolicy would give a Windows
program (the HRESULT, the trust-status bits, the chosen path) and enough context (where each
certificate came from, the host, the time, revocation notes) to explain the verdict.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509

from sim.pki import hresult as hr
from sim.pki.status import TrustStatus

ROOT_STORE = "Trusted Root Certification Authorities"
CA_STORE = "Intermediate Certification Authorities"
SOURCE_TEXT = {
    "presented": "sent by the server",
    "root": f"from {ROOT_STORE}",
    "ca": f"from {CA_STORE}",
    "aia": "downloaded from its issuer's AIA URL",
    "disallowed": "from Untrusted Certificates",
}


@dataclass(frozen=True, slots=True)
class ChainResult:
    """The verdict on one presented chain (see the module docstring)."""

    hresult: int
    name: str
    message: str
    flags: TrustStatus
    path: tuple[x509.Certificate, ...]
    element_flags: tuple[TrustStatus, ...] = ()
    sources: tuple[str, ...] = ()
    host: str | None = None
    at: dt.datetime | None = None
    notes: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    thumbprints: tuple[str, ...] = ()
    missing_issuer: str | None = None
    revocation_checked: bool = False
    presented_names: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    usage: str = "1.3.6.1.5.5.7.3.1"   # the EKU checked: Server Authentication by default

    @property
    def trusted(self) -> bool:
        return self.hresult == 0

    @property
    def hex(self) -> str:
        """``0x800b0109`` as netsh prints it (``0x0`` when trusted)."""
        return f"0x{self.hresult:x}"

    def error_index(self) -> int | None:
        """Index in ``path`` of the element that carries the winning error, if any."""
        for bits, code in hr.PRECEDENCE:
            if code.code != self.hresult:
                continue
            for i, f in enumerate(self.element_flags):
                if f & bits:
                    return i
        return None

    def summary(self) -> str:
        return f"{self.hex} {self.name}: {self.message}"

    def explain(self) -> str:
        """One paragraph: which certificate, what is wrong, where it is missing, what to do."""
        return _explain(self)


def _when(at: dt.datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "now"


def _chain_text(r: ChainResult) -> str:
    return " → ".join(f"'{lab}'" for lab in r.labels)


class _Context:
    """What every explanation names: the leaf, the top of the path, the certificate that
    carries the error, and the revocation or search notes."""

    def __init__(self, r: ChainResult) -> None:
        self.leaf = r.labels[0]
        self.top = r.labels[-1]
        idx = r.error_index()
        self.bad = r.labels[idx] if idx is not None else self.leaf
        self.bad_cert = r.path[idx] if idx is not None else r.path[0]
        self.notes = (" " + " ".join(r.notes)) if r.notes else ""


def _trusted(r: ChainResult, c: _Context) -> str:
    rev = " Revocation was checked and nothing is revoked." if r.revocation_checked else ""
    return (f"The chain {_chain_text(r)} is trusted: it ends in '{c.top}', which is in "
            f"{ROOT_STORE}, every certificate is valid on {_when(r.at)}"
            + (f" and the certificate names {r.host}" if r.host else "") + f".{rev}")


def _untrusted_root(r: ChainResult, c: _Context) -> str:
    return (f"The server's certificate '{c.leaf}' chains to the root '{c.top}' (thumbprint "
            f"{r.thumbprints[-1]}), but that root is not in this computer's {ROOT_STORE} "
            f"store, so Windows reports {r.hex} ({r.name}) — the KB 2980667 symptom. Fix: "
            f"import the issuing root CA certificate into {ROOT_STORE} (and any intermediate "
            f"into {CA_STORE}) and deploy it to every DirectAccess client by Group Policy "
            "(Computer Configuration > Policies > Windows Settings > Security Settings > "
            "Public Key Policies); then restart the IP Helper service (or wait for the next "
            f"IP-HTTPS retry) so the client connects again. If '{c.top}' is not your "
            "organisation's CA (a TLS-inspecting proxy re-signed the server's certificate), "
            f"do not import it: exempt the IP-HTTPS URL from inspection instead.{c.notes}")


def _chaining(r: ChainResult, c: _Context) -> str:
    if r.flags & TrustStatus.IS_CYCLIC:
        what = (f"the issuers of '{c.top}' lead back into the chain itself (cross-certified "
                "CAs forming a loop) without reaching a root")
    else:
        what = (f"no certificate for its issuer '{r.missing_issuer}' was sent by the server, "
                f"found in {CA_STORE} or {ROOT_STORE}, or downloaded by AIA")
    return (f"Windows could not complete the chain of '{c.leaf}': {what}, so it stops at "
            f"'{c.top}', which is not a self-signed root ({r.hex}, {r.name}). Fix: make the "
            f"server send its intermediate certificates, import the missing CA certificate "
            f"into {CA_STORE} (intermediates) or {ROOT_STORE} (the root) by Group Policy, or "
            f"publish it at an AIA URL the client can reach.{c.notes}")


def _expired(r: ChainResult, c: _Context) -> str:
    nb, na = c.bad_cert.not_valid_before_utc, c.bad_cert.not_valid_after_utc
    state = "expired on" if r.at and r.at > na else "is not valid until"
    date = na if r.at and r.at > na else nb
    return (f"'{c.bad}' {state} {date:%Y-%m-%d %H:%M UTC} (checked at {_when(r.at)}), so "
            f"Windows reports {r.hex} ({r.name}). Fix: renew the certificate and bind the "
            "new one to the IP-HTTPS listener (or correct the client's clock if it is "
            f"wrong).{c.notes}")


def _name_mismatch(r: ChainResult, c: _Context) -> str:
    names = ", ".join(r.presented_names) or "no DNS name or IP address"
    return (f"The client connects to '{r.host}', but '{c.leaf}' is issued for {names}, so the "
            f"SSL policy reports {r.hex} ({r.name}). Fix: issue a certificate whose subject "
            "(and subjectAltName) holds exactly the host name of the IP-HTTPS URL, or change "
            f"the URL to a name the certificate carries.{c.notes}")


def _wrong_usage(r: ChainResult, c: _Context) -> str:
    purpose, cert = (("Server Authentication", "the IP-HTTPS certificate")
                     if r.usage == "1.3.6.1.5.5.7.3.1" else
                     ("Client Authentication", "the computer certificate"))
    return (f"'{c.bad}' is not valid for {purpose} (EKU {r.usage}): its "
            "extended key usage (or that of a CA above it) leaves that purpose out, or its "
            f"key usage contradicts its role, so Windows reports {r.hex} ({r.name}). Fix: "
            f"issue {cert} from a template with the {purpose} "
            f"EKU.{c.notes}")


def _revoked(r: ChainResult, c: _Context) -> str:
    return (f"'{c.bad}' is on its issuer's certificate revocation list, so Windows reports "
            f"{r.hex} ({r.name}). Fix: issue and bind a new certificate.{c.notes}")


def _revocation_offline(r: ChainResult, c: _Context) -> str:
    return (f"The client enforces CRL checking but could not get a current CRL for '{c.bad}' "
            f"({r.hex}, {r.name}; KB 2980672).{c.notes} Fix: publish the CRL distribution "
            "point on a name that resolves and is reachable from the Internet, and keep the "
            "CRL current (Windows 7 always checks; Windows 8 and later only when "
            "StrongCRLRequired is set).")


def _no_revocation_check(r: ChainResult, c: _Context) -> str:
    return (f"The client enforces CRL checking but '{c.bad}' names no CRL distribution point "
            f"and no CRL from its issuer is cached ({r.hex}, {r.name}).{c.notes} Fix: issue "
            "the certificate with a CDP extension pointing at a CRL reachable from the "
            "Internet.")


def _bad_signature(r: ChainResult, c: _Context) -> str:
    return (f"The signature on '{c.bad}' does not verify with its issuer's public key (or "
            f"uses a key or hash Windows refuses), so Windows reports {r.hex} ({r.name}). The "
            "certificate was altered, or issued by a different key under the same CA name. "
            f"Fix: re-export the real certificate chain from the CA.{c.notes}")


def _distrusted(r: ChainResult, c: _Context) -> str:
    return (f"'{c.bad}' is in the Untrusted Certificates (Disallowed) store, so Windows "
            f"reports {r.hex} ({r.name}). Fix: remove it from that store if the distrust was "
            f"a mistake, or replace the certificate.{c.notes}")


def _basic_constraints(r: ChainResult, c: _Context) -> str:
    return (f"'{c.bad}' acts as a CA in this chain but its basicConstraints do not allow it "
            f"(not a CA, or its path length is exceeded), so Windows reports {r.hex} "
            f"({r.name}). Fix: issue CA certificates with cA=TRUE and a path length that "
            f"covers the hierarchy.{c.notes}")


def _invalid_name(r: ChainResult, c: _Context) -> str:
    return (f"A name in the chain falls outside the name constraints of '{c.bad}' ({r.hex}, "
            f"{r.name}). Fix: issue the certificate for a name the CA is permitted to "
            f"certify, or widen the CA's constraints.{c.notes}")


def _unprocessable(r: ChainResult, c: _Context) -> str:
    detail = "; ".join(r.problems) or "an extension Windows does not understand"
    return (f"'{c.bad}' cannot be processed: {detail} ({r.hex}, {r.name}). Fix: reissue it "
            f"without the offending extension or field.{c.notes}")


# HRESULT → its explanation; any other code is an extension or field Windows cannot process
_EXPLAIN: dict[int, Callable[[ChainResult, _Context], str]] = {
    0: _trusted,
    hr.CERT_E_UNTRUSTEDROOT.code: _untrusted_root,
    hr.CERT_E_CHAINING.code: _chaining,
    hr.CERT_E_EXPIRED.code: _expired,
    hr.CERT_E_CN_NO_MATCH.code: _name_mismatch,
    hr.CERT_E_WRONG_USAGE.code: _wrong_usage,
    hr.CERT_E_REVOKED.code: _revoked,
    hr.CRYPT_E_REVOCATION_OFFLINE.code: _revocation_offline,
    hr.CRYPT_E_NO_REVOCATION_CHECK.code: _no_revocation_check,
    hr.TRUST_E_CERT_SIGNATURE.code: _bad_signature,
    hr.TRUST_E_EXPLICIT_DISTRUST.code: _distrusted,
    hr.TRUST_E_BASIC_CONSTRAINTS.code: _basic_constraints,
    hr.CERT_E_INVALID_NAME.code: _invalid_name,
}


def _explain(r: ChainResult) -> str:
    if not r.path:
        return f"{r.summary()}"
    return _EXPLAIN.get(r.hresult, _unprocessable)(r, _Context(r))
