"""ChainResult: what the chain engine concluded, immutable, with a paragraph a trainer can read.

It carries what CertGetCertificateChain + CertVerifyCertificateChainPolicy would give a Windows
program (the HRESULT, the trust-status bits, the chosen path) and enough context (where each
certificate came from, the host, the time, revocation notes) to explain the verdict.
"""

from __future__ import annotations

import datetime as dt
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


def _explain(r: ChainResult) -> str:
    if not r.path:
        return f"{r.summary()}"
    leaf = r.labels[0]
    top = r.labels[-1]
    idx = r.error_index()
    bad = r.labels[idx] if idx is not None else leaf
    bad_cert = r.path[idx] if idx is not None else r.path[0]
    code = r.hresult
    notes = (" " + " ".join(r.notes)) if r.notes else ""
    if code == 0:
        rev = " Revocation was checked and nothing is revoked." if r.revocation_checked else ""
        return (f"The chain {_chain_text(r)} is trusted: it ends in '{top}', which is in "
                f"{ROOT_STORE}, every certificate is valid on {_when(r.at)}"
                + (f" and the certificate names {r.host}" if r.host else "") + f".{rev}")
    if code == hr.CERT_E_UNTRUSTEDROOT.code:
        return (f"The server's certificate '{leaf}' chains to the root '{top}' (thumbprint "
                f"{r.thumbprints[-1]}), but that root is not in this computer's {ROOT_STORE} "
                f"store, so Windows reports {r.hex} ({r.name}) — the KB 2980667 symptom. Fix: "
                f"import the issuing root CA certificate into {ROOT_STORE} (and any intermediate "
                f"into {CA_STORE}) and deploy it to every DirectAccess client by Group Policy "
                "(Computer Configuration > Policies > Windows Settings > Security Settings > "
                "Public Key Policies); then restart the IP Helper service (or wait for the next "
                f"IP-HTTPS retry) so the client connects again. If '{top}' is not your "
                "organisation's CA (a TLS-inspecting proxy re-signed the server's certificate), "
                f"do not import it: exempt the IP-HTTPS URL from inspection instead.{notes}")
    if code == hr.CERT_E_CHAINING.code:
        if r.flags & TrustStatus.IS_CYCLIC:
            what = (f"the issuers of '{top}' lead back into the chain itself (cross-certified "
                    "CAs forming a loop) without reaching a root")
        else:
            what = (f"no certificate for its issuer '{r.missing_issuer}' was sent by the server, "
                    f"found in {CA_STORE} or {ROOT_STORE}, or downloaded by AIA")
        return (f"Windows could not complete the chain of '{leaf}': {what}, so it stops at "
                f"'{top}', which is not a self-signed root ({r.hex}, {r.name}). Fix: make the "
                f"server send its intermediate certificates, import the missing CA certificate "
                f"into {CA_STORE} (intermediates) or {ROOT_STORE} (the root) by Group Policy, or "
                f"publish it at an AIA URL the client can reach.{notes}")
    if code == hr.CERT_E_EXPIRED.code:
        nb, na = bad_cert.not_valid_before_utc, bad_cert.not_valid_after_utc
        state = "expired on" if r.at and r.at > na else "is not valid until"
        date = na if r.at and r.at > na else nb
        return (f"'{bad}' {state} {date:%Y-%m-%d %H:%M UTC} (checked at {_when(r.at)}), so "
                f"Windows reports {r.hex} ({r.name}). Fix: renew the certificate and bind the "
                "new one to the IP-HTTPS listener (or correct the client's clock if it is "
                f"wrong).{notes}")
    if code == hr.CERT_E_CN_NO_MATCH.code:
        names = ", ".join(r.presented_names) or "no DNS name or IP address"
        return (f"The client connects to '{r.host}', but '{leaf}' is issued for {names}, so the "
                f"SSL policy reports {r.hex} ({r.name}). Fix: issue a certificate whose subject "
                "(and subjectAltName) holds exactly the host name of the IP-HTTPS URL, or change "
                f"the URL to a name the certificate carries.{notes}")
    if code == hr.CERT_E_WRONG_USAGE.code:
        return (f"'{bad}' is not valid for Server Authentication (EKU 1.3.6.1.5.5.7.3.1): its "
                "extended key usage (or that of a CA above it) leaves that purpose out, or its "
                f"key usage contradicts its role, so Windows reports {r.hex} ({r.name}). Fix: "
                "issue the IP-HTTPS certificate from a template with the Server Authentication "
                f"EKU.{notes}")
    if code == hr.CERT_E_REVOKED.code:
        return (f"'{bad}' is on its issuer's certificate revocation list, so Windows reports "
                f"{r.hex} ({r.name}). Fix: issue and bind a new certificate.{notes}")
    if code == hr.CRYPT_E_REVOCATION_OFFLINE.code:
        return (f"The client enforces CRL checking but could not get a current CRL for '{bad}' "
                f"({r.hex}, {r.name}; KB 2980672).{notes} Fix: publish the CRL distribution "
                "point on a name that resolves and is reachable from the Internet, and keep the "
                "CRL current (Windows 7 always checks; Windows 8 and later only when "
                "StrongCRLRequired is set).")
    if code == hr.CRYPT_E_NO_REVOCATION_CHECK.code:
        return (f"The client enforces CRL checking but '{bad}' names no CRL distribution point "
                f"and no CRL from its issuer is cached ({r.hex}, {r.name}).{notes} Fix: issue the "
                "certificate with a CDP extension pointing at a CRL reachable from the Internet.")
    if code == hr.TRUST_E_CERT_SIGNATURE.code:
        return (f"The signature on '{bad}' does not verify with its issuer's public key (or uses "
                f"a key or hash Windows refuses), so Windows reports {r.hex} ({r.name}). The "
                "certificate was altered, or issued by a different key under the same CA name. "
                f"Fix: re-export the real certificate chain from the CA.{notes}")
    if code == hr.TRUST_E_EXPLICIT_DISTRUST.code:
        return (f"'{bad}' is in the Untrusted Certificates (Disallowed) store, so Windows reports "
                f"{r.hex} ({r.name}). Fix: remove it from that store if the distrust was a "
                f"mistake, or replace the certificate.{notes}")
    if code == hr.TRUST_E_BASIC_CONSTRAINTS.code:
        return (f"'{bad}' acts as a CA in this chain but its basicConstraints do not allow it "
                f"(not a CA, or its path length is exceeded), so Windows reports {r.hex} "
                f"({r.name}). Fix: issue CA certificates with cA=TRUE and a path length that "
                f"covers the hierarchy.{notes}")
    if code == hr.CERT_E_INVALID_NAME.code:
        return (f"A name in the chain falls outside the name constraints of '{bad}' ({r.hex}, "
                f"{r.name}). Fix: issue the certificate for a name the CA is permitted to "
                f"certify, or widen the CA's constraints.{notes}")
    detail = "; ".join(r.problems) or "an extension Windows does not understand"
    return (f"'{bad}' cannot be processed: {detail} ({r.hex}, {r.name}). Fix: reissue it "
            f"without the offending extension or field.{notes}")

