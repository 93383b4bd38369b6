"""x509-limbo conformance of the chain engine: agreement per family and overall.

Runs the 184 server cases in ``shared/x509-limbo/limbo-server.json`` through
``sim.pki.verify_chain`` (roots = ``trusted_certs``, intermediates = ``untrusted_intermediates``,
host = ``expected_peer_name``, at = ``validation_time``; CRLs given with a case are handed over
and revocation is enforced for those cases). Cases whose features are pedantic Web PKI checks
(``pedantic-*``) or policy constraints are out of scope, as the issue says.

The engine models Windows CryptoAPI, not the CA/Browser Forum profile that part of x509-limbo
encodes, so some disagreements are the point. Each remaining divergence is listed in
:data:`DIVERGENCES` with the reason it is genuine CryptoAPI behaviour; anything else is printed
as UNEXPLAINED (a bug to fix). The script prints raw agreement (engine verdict == limbo's
expectation) and "explained" agreement (counting documented CryptoAPI divergences as agreeing).

Run: ``.venv/bin/python bench/limbo_conformance.py [-v]``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

from cryptography import x509

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.pki import PkiInputError, certificates_from_bytes, verify_chain  # noqa: E402

#: Documented divergences: case id → why Windows (CryptoAPI + the SSL policy) decides the other
#: way. Sources: Wine's crypt32 (chain.c), a reimplementation written against Windows' own
#: behaviour and tests; Microsoft's CERT_TRUST_STATUS and SSL policy documentation; KB 2661254.
DIVERGENCES: dict[str, str] = {
    # Server-name matching: the SSL policy reads SAN dNSName/iPAddress when a SAN exists and
    # the subject CN only when it does not. CA/Browser Forum BR 7.1.4.3 (the CN must copy a
    # SAN entry byte for byte) is a rule for issuing CAs that no Windows client enforces.
    "webpki::san::no-san": "Windows falls back to the subject CN when there is no SAN "
                           "(IP-HTTPS certificates are matched on the Subject, F5.12)",
    "webpki::cn::ipv4-hex-mismatch": "CN is ignored when a SAN exists; BR 7.1.4.3 not enforced",
    "webpki::cn::ipv4-leading-zeros-mismatch": "CN is ignored when a SAN exists; BR 7.1.4.3 "
                                               "not enforced",
    "webpki::cn::ipv6-uppercase-mismatch": "CN is ignored when a SAN exists; BR 7.1.4.3 not "
                                           "enforced",
    "webpki::cn::ipv6-uncompressed-mismatch": "CN is ignored when a SAN exists; BR 7.1.4.3 not "
                                              "enforced",
    "webpki::cn::ipv6-non-rfc5952-mismatch": "CN is ignored when a SAN exists; BR 7.1.4.3 not "
                                             "enforced",
    "webpki::cn::punycode-not-in-san": "CN is ignored when a SAN exists; BR 7.1.4.3 not "
                                       "enforced",
    "webpki::cn::utf8-vs-punycode-mismatch": "CN is ignored when a SAN exists; BR 7.1.4.3 not "
                                             "enforced",
    "webpki::cn::not-in-san": "CN is ignored when a SAN exists; BR 7.1.4.3 not enforced",
    "webpki::cn::case-mismatch": "CN is ignored when a SAN exists; BR 7.1.4.3 not enforced",
    "rfc5280::san::underscore-dns": "the SSL policy compares dNSName strings case-"
                                    "insensitively and accepts '_' (Active Directory names "
                                    "use it)",
    "rfc5280::san::noncritical-with-empty-subject": "CryptoAPI does not require a SAN to be "
                                                    "critical when the subject is empty",
    "webpki::san::san-critical-with-nonempty-subject": "a critical SAN is an extension Windows "
                                                       "understands; criticality is not policed",
    # Key identifiers: CertGetCertificateChain finds issuers by AKI when present and by
    # subject name otherwise; it does not require AKI/SKI (RFC 5280's MUSTs are for CAs).
    "rfc5280::aki::leaf-missing-aki": "issuers are found by name when AKI is absent",
    "rfc5280::aki::intermediate-missing-aki": "issuers are found by name when AKI is absent",
    "rfc5280::ski::root-missing-ski": "SKI is not required",
    "rfc5280::ski::intermediate-missing-ski": "SKI is not required",
    # Trust anchors: a certificate in the Root store is trusted as it is.
    "rfc5280::root-missing-basic-constraints": "a root in the Root store is an implicit CA "
                                               "(v1 roots without extensions are still "
                                               "trusted)",
    "rfc5280::root-non-critical-basic-constraints": "basicConstraints criticality is not "
                                                    "policed on roots",
    "webpki::aki::root-with-aki-missing-keyidentifier": "CABF root AKI profile not enforced",
    "webpki::aki::root-with-aki-all-fields": "CABF root AKI profile not enforced",
    # Anchors: CryptoAPI anchors a chain only in a *self-signed* certificate of the Root store
    # (Wine's CRYPT_CheckRootCert; .NET's CryptoAPI-backed X509Chain documents the same: custom
    # trust entries "must be the self-signed root certificate of the chain, not any one
    # particular intermediate", dotnet/runtime#99426). x509-limbo trusts any certificate in
    # the trusted set as an anchor (RFC 5280 §6.1 trust anchors).
    "cve::cve-2024-0567": "the trusted 'Root A' is cross-signed, not self-signed: no anchor "
                          "for CryptoAPI, and the graph above it has no self-signed root",
    "rfc5280::root-and-intermediate-swapped": "an intermediate in the Root store is no anchor; "
                                              "the chain ends in the self-signed root, which "
                                              "is not trusted (0x800b0109)",
    "webpki::v1-cert": "CryptoAPI accepts v1 end-entity certificates (matched on the subject "
                       "CN); CABF 7.1.1 binds issuers, not clients",
    # Keys: Windows blocks RSA keys under 1024 bits (KB 2661254); CNG verifies DSA and odd
    # RSA sizes. CABF key-size rules are for publicly trusted CAs.
    "webpki::forbidden-weak-rsa-key-in-root": "RSA-1024 is still accepted by CryptoAPI "
                                              "(only < 1024 bits is blocked, KB 2661254)",
    "webpki::forbidden-rsa-not-divisible-by-8-in-root": "CryptoAPI accepts any RSA modulus "
                                                        "size >= 1024",
    "webpki::forbidden-dsa-root": "CNG verifies DSA signatures (FIPS 186-3 sizes)",
    # Contradictory pairs in the suite: one of each must disagree.
    "rfc5280::nc::permitted-dns-match-noncritical": "CryptoAPI applies non-critical name "
                                                    "constraints (the webpki twin expects "
                                                    "SUCCESS)",
    "webpki::ca-as-leaf": "a CA certificate with keyCertSign may be a TLS server's leaf under "
                          "CryptoAPI (its rfc5280 twin expects SUCCESS)",
}


def shared_dir() -> Path:
    env = os.environ.get("DASIM_SHARED")
    return Path(env) if env else ROOT.parent / "shared"


def load_cases() -> list[dict]:
    path = shared_dir() / "x509-limbo" / "limbo-server.json"
    return json.loads(path.read_text())["testcases"]


def in_scope(case: dict) -> bool:
    return not any(f.startswith("pedantic-") or f == "has-policy-constraints"
                   for f in case.get("features") or ())


def family(case: dict) -> str:
    return case["id"].split("::")[0]


def run_case(case: dict) -> tuple[str, str]:
    """("SUCCESS" | "FAILURE", detail) for one limbo case."""
    try:
        peer = certificates_from_bytes(case["peer_certificate"].encode(), "peer")
        roots = [c for p in case["trusted_certs"]
                 for c in certificates_from_bytes(p.encode(), "trusted")]
        inter = [c for p in case["untrusted_intermediates"]
                 for c in certificates_from_bytes(p.encode(), "intermediate")]
    except PkiInputError as exc:
        return "FAILURE", f"load: {exc}"
    crls = []
    for pem in case.get("crls") or ():
        try:
            crls.append(x509.load_pem_x509_crl(pem.encode()))
        except ValueError as exc:
            return "FAILURE", f"crl load: {exc}"
    name = case.get("expected_peer_name")
    at = (dt.datetime.fromisoformat(case["validation_time"]) if case.get("validation_time")
          else dt.datetime.now(dt.UTC))
    r = verify_chain(peer[:1], roots=roots, intermediates=inter,
                     host=name["value"] if name else None, at=at,
                     check_revocation=bool(crls), crls=crls,
                     max_depth=case.get("max_chain_depth"), use_cache=False)
    return ("SUCCESS" if r.trusted else "FAILURE"), f"{r.hex} {r.name} {r.flags!r}"


def pyca_verdict(case: dict) -> str:
    """pyca/cryptography's own Web PKI verifier on the same case, for comparison."""
    import ipaddress
    import warnings

    from cryptography.x509 import verification as v

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            roots = [x509.load_pem_x509_certificate(p.encode()) for p in case["trusted_certs"]]
            inter = [x509.load_pem_x509_certificate(p.encode())
                     for p in case["untrusted_intermediates"]]
            leaf = x509.load_pem_x509_certificate(case["peer_certificate"].encode())
            b = v.PolicyBuilder().store(v.Store(roots))
            if case.get("validation_time"):
                b = b.time(dt.datetime.fromisoformat(case["validation_time"]))
            if case.get("max_chain_depth") is not None:
                b = b.max_chain_depth(case["max_chain_depth"])
            pn = case.get("expected_peer_name") or {"kind": "DNS", "value": "example.com"}
            subject = (v.DNSName(pn["value"]) if pn["kind"] == "DNS"
                       else v.IPAddress(ipaddress.ip_address(pn["value"])))
            b.build_server_verifier(subject).verify(leaf, inter)
        return "SUCCESS"
    except Exception:
        return "FAILURE"


def main(verbose: bool = False) -> dict:
    cases = load_cases()
    agree: Counter[str] = Counter()
    explained: Counter[str] = Counter()
    total: Counter[str] = Counter()
    pyca: Counter[str] = Counter()
    rows = []
    slowest = (0.0, "")
    for case in cases:
        if not in_scope(case):
            continue
        t0 = time.perf_counter()
        got, detail = run_case(case)
        took = time.perf_counter() - t0
        slowest = max(slowest, (took, case["id"]))
        fam = family(case)
        total[fam] += 1
        ok = got == case["expected_result"]
        agree[fam] += ok
        known = case["id"] in DIVERGENCES
        explained[fam] += ok or known
        pyca[fam] += pyca_verdict(case) == case["expected_result"]
        if not ok or verbose:
            rows.append((case["id"], case["expected_result"], got, detail,
                         "" if ok else DIVERGENCES.get(case["id"], "UNEXPLAINED")))
    print(f"{'family':14} {'agree':>7} {'explained':>10} {'pyca':>6} {'cases':>6}   raw")
    for fam in sorted(total):
        print(f"{fam:14} {agree[fam]:>7} {explained[fam]:>10} {pyca[fam]:>6} {total[fam]:>6}"
              f"   {100 * agree[fam] / total[fam]:5.1f} %")
    a, e, t = sum(agree.values()), sum(explained.values()), sum(total.values())
    py = sum(pyca.values())
    print(f"{'in scope':14} {a:>7} {e:>10} {py:>6} {t:>6}   {100 * a / t:5.1f} % raw, "
          f"{100 * e / t:5.1f} % with documented CryptoAPI divergences "
          f"(pyca/cryptography's verifier: {100 * py / t:.1f} % raw)")
    print(f"out of scope: {len(cases) - t} cases (pedantic-*, has-policy-constraints); "
          f"slowest case {slowest[0] * 1000:.1f} ms ({slowest[1]})")
    unexplained = [r for r in rows if r[4] == "UNEXPLAINED"]
    for cid, exp, got, detail, why in rows:
        if verbose or why:
            print(f"  {cid}: expected {exp}, engine {got} [{detail}]"
                  + (f"\n      {why}" if why else ""))
    stale = [k for k in DIVERGENCES if not any(r[0] == k and r[4] for r in rows)]
    if stale:
        print("documented divergences that now agree (remove them):", ", ".join(stale))
    return {"agree": a, "explained": e, "total": t, "unexplained": len(unexplained),
            "slowest_s": slowest[0], "pyca": py}


if __name__ == "__main__":
    main(verbose="-v" in sys.argv)
