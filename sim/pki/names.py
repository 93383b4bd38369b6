"""Names: the SSL policy's server-name check and RFC 5280 name constraints.

Server name (CertVerifyCertificateChainPolicy, SSL policy): when the leaf has a subjectAltName
extension only its dNSName / iPAddress entries count; without one, Windows falls back to the
subject's common name (Wine's crypt32, verify_ssl_policy, reproduces this; domain-facts F5.12:
the IP-HTTPS certificate may carry an IPv4 address in its subject). Comparison is
case-insensitive; a wildcard is accepted only as the whole left-most label and never for a
top-level or single-label domain (``*.contoso.com`` matches ``da.contoso.com``, not
``contoso.com`` nor ``a.b.contoso.com``).

Name constraints follow RFC 5280 §4.2.1.10: a CA's permitted and excluded subtrees apply to
every later certificate in the path (self-issued intermediates excepted, §6.1.3), per name form;
a wildcard dNSName is excluded if it *could* match an excluded name (x509-limbo's CVE-2025-61727
case). Windows supports DNS, e-mail, URL, IP address, directory name and UPN constraints
(CERT_TRUST_STATUS docs); other forms set HAS_NOT_SUPPORTED_NAME_CONSTRAINT. The subject DN
counts as a directoryName and its emailAddress attributes as rfc822Names; a subject CN is not
read as a DNS name for constraints. Certificates with more than :data:`MAX_NC_CHECKS`
name×subtree comparisons are refused (CERT_TRUST_INVALID_NAME_CONSTRAINTS), a simulator limit
against quadratic blow-up.
"""

from __future__ import annotations

import ipaddress

from cryptography import x509
from cryptography.x509.oid import NameOID

from sim.pki.parsed import Parsed
from sim.pki.status import TrustStatus

#: name×constraint comparisons before the engine refuses to evaluate a certificate's name
#: constraints (quadratic blow-up: x509-limbo's nc-dos cases). A simulator limit.
MAX_NC_CHECKS = 1 << 16
UPN_OID = "1.3.6.1.4.1.311.20.2.3"


def parse_host(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | str:
    """An IP address object, or the DNS name lower-cased without a trailing dot."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return host.rstrip(".").lower()


def wildcard_match(pattern: str, host: str) -> bool:
    """One presented dNSName against the host (both lower-case)."""
    pattern = pattern.rstrip(".").lower()
    if "*" not in pattern:
        return pattern == host
    labels = pattern.split(".")
    if labels[0] != "*" or any("*" in lab for lab in labels[1:]) or len(labels) < 3:
        return False
    host_labels = host.split(".")
    return (len(host_labels) == len(labels) and host_labels[0] != ""
            and host_labels[1:] == labels[1:])


def host_matches(leaf: Parsed, host: str) -> bool:
    """Whether the SSL policy accepts ``leaf`` for ``host`` (see the module docstring)."""
    if not leaf.extensions_ok:
        return False
    want = parse_host(host)
    if leaf.san is not None:
        if isinstance(want, str):
            return any(wildcard_match(n, want) for n in leaf.dns_names())
        return any(isinstance(n, x509.IPAddress) and n.value == want for n in leaf.san)
    for cn in leaf.common_names:
        if isinstance(want, str):
            if wildcard_match(cn, want):
                return True
        else:
            try:
                if ipaddress.ip_address(cn) == want:
                    return True
            except ValueError:
                continue
    return False


def presented_names(leaf: Parsed) -> list[str]:
    """The names the SSL policy compares (for explanations)."""
    if leaf.san is not None:
        return [str(n.value) for n in leaf.san if isinstance(n, x509.DNSName | x509.IPAddress)]
    return list(leaf.common_names)


# --- name constraints -------------------------------------------------------------------


def _dns_valid_constraint(c: str) -> bool:
    return c == "" or ("*" not in c and not c.startswith(".") and ".." not in c)


def _dns_within(name: str, base: str) -> bool:
    name, base = name.lower().rstrip("."), base.lower()
    return base == "" or name == base or name.endswith("." + base)


def _dns_could_match(name: str, base: str) -> bool:
    """A wildcard name may stand for a name inside ``base`` (excluded-subtree test)."""
    if _dns_within(name, base):
        return True
    if name.startswith("*."):
        return _dns_within(base, name[2:])
    return False


def dns_name_ok(name: str) -> bool:
    """A presented dNSName is well formed: non-empty labels, a wildcard only as the whole
    left-most label."""
    labels = name.rstrip(".").split(".") if name else [""]
    return all(labels) and all("*" not in lab for lab in labels[1:]) and (
        "*" not in labels[0] or labels[0] == "*")


def _dns_permitted(name: str, base: str) -> bool:
    """Every name the (possibly wildcard) ``name`` can stand for lies inside ``base``."""
    if not dns_name_ok(name):
        return False
    if name.startswith("*."):
        return _dns_within(name[2:], base)
    return _dns_within(name, base)


def _rdns(name: x509.Name) -> list[frozenset[tuple[str, str]]]:
    out = []
    for rdn in name.rdns:
        out.append(frozenset((a.oid.dotted_string, " ".join(str(a.value).lower().split()))
                             for a in rdn))
    return out


def _dn_within(name: x509.Name, base: x509.Name) -> bool:
    n, b = _rdns(name), _rdns(base)
    return len(b) <= len(n) and n[:len(b)] == b


def _email_within(addr: str, base: str) -> bool:
    addr, base = addr.lower(), base.lower()
    if "@" in base:
        return addr == base
    domain = addr.rsplit("@", 1)[-1]
    if base.startswith("."):
        return domain.endswith(base)
    return domain == base


def _uri_host(uri: str) -> str:
    rest = uri.split("://", 1)[-1]
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.split(":", 1)[0].lower()


def _uri_within(uri: str, base: str) -> bool:
    host, base = _uri_host(uri), base.lower()
    if base.startswith("."):
        return host.endswith(base)
    return host == base


def _ip_within(addr: object, net: object) -> bool:
    try:
        return addr in net  # type: ignore[operator]
    except TypeError:
        return False


class _Names:
    """The names of one certificate, by form, as name constraints see them."""

    def __init__(self, rec: Parsed) -> None:
        self.dns: list[str] = []
        self.ip: list[object] = []
        self.dn: list[x509.Name] = []
        self.email: list[str] = []
        self.uri: list[str] = []
        self.other: list[x509.OtherName] = []
        if not rec.subject_empty:
            self.dn.append(rec.cert.subject)
            # Legacy e-mail addresses in the subject count as rfc822Names (RFC 5280 §4.2.1.10).
            self.email += [str(a.value) for a in rec.cert.subject
                           if a.oid == NameOID.EMAIL_ADDRESS]
        for n in rec.san or ():
            if isinstance(n, x509.DNSName):
                self.dns.append(n.value)
            elif isinstance(n, x509.IPAddress):
                self.ip.append(n.value)
            elif isinstance(n, x509.DirectoryName):
                self.dn.append(n.value)
            elif isinstance(n, x509.RFC822Name):
                self.email.append(n.value)
            elif isinstance(n, x509.UniformResourceIdentifier):
                self.uri.append(n.value)
            elif isinstance(n, x509.OtherName):
                self.other.append(n)

    def count(self) -> int:
        return (len(self.dns) + len(self.ip) + len(self.dn) + len(self.email) + len(self.uri)
                + len(self.other))


def constraints_valid(nc: x509.NameConstraints) -> bool:
    """Syntax of the subtrees themselves (a malformed one invalidates the extension)."""
    for sub in (nc.permitted_subtrees or []) + (nc.excluded_subtrees or []):
        if isinstance(sub, x509.DNSName) and not _dns_valid_constraint(sub.value):
            return False
        if isinstance(sub, x509.IPAddress) and not isinstance(
                sub.value, ipaddress.IPv4Network | ipaddress.IPv6Network):
            return False
    return True


def check_constraints(nc: x509.NameConstraints, rec: Parsed) -> TrustStatus:
    """The name-constraint error bits ``nc`` (a CA's extension) sets for certificate ``rec``."""
    names = _Names(rec)
    permitted = nc.permitted_subtrees or []
    excluded = nc.excluded_subtrees or []
    if names.count() * (len(permitted) + len(excluded)) > MAX_NC_CHECKS:
        return TrustStatus.INVALID_NAME_CONSTRAINTS
    flags = TrustStatus.NO_ERROR
    for sub in excluded:
        if _form_matches(sub, names, excluded=True):
            flags |= TrustStatus.HAS_EXCLUDED_NAME_CONSTRAINT
    by_form: dict[type, list[x509.GeneralName]] = {}
    for sub in permitted:
        by_form.setdefault(type(sub), []).append(sub)
    for form, subs in by_form.items():
        if not _all_permitted(form, subs, names):
            flags |= TrustStatus.HAS_NOT_PERMITTED_NAME_CONSTRAINT
    if any(isinstance(sub, x509.RegisteredID) for sub in permitted + excluded):
        flags |= TrustStatus.HAS_NOT_SUPPORTED_NAME_CONSTRAINT
    return flags


def _form_matches(sub: x509.GeneralName, names: _Names, excluded: bool) -> bool:
    if isinstance(sub, x509.DNSName):
        test = _dns_could_match if excluded else _dns_within
        return any(test(n, sub.value) for n in names.dns)
    if isinstance(sub, x509.IPAddress):
        return any(_ip_within(a, sub.value) for a in names.ip)
    if isinstance(sub, x509.DirectoryName):
        return any(_dn_within(n, sub.value) for n in names.dn)
    if isinstance(sub, x509.RFC822Name):
        return any(_email_within(n, sub.value) for n in names.email)
    if isinstance(sub, x509.UniformResourceIdentifier):
        return any(_uri_within(n, sub.value) for n in names.uri)
    if isinstance(sub, x509.OtherName):
        return any(o.type_id == sub.type_id for o in names.other)
    return False


def _all_permitted(form: type, subs: list[x509.GeneralName], names: _Names) -> bool:
    if form is x509.DNSName:
        return all(any(_dns_permitted(n, s.value) for s in subs) for n in names.dns)
    if form is x509.IPAddress:
        return all(any(_ip_within(a, s.value) for s in subs) for a in names.ip)
    if form is x509.DirectoryName:
        return all(any(_dn_within(n, s.value) for s in subs) for n in names.dn)
    if form is x509.RFC822Name:
        return all(any(_email_within(n, s.value) for s in subs) for n in names.email)
    if form is x509.UniformResourceIdentifier:
        return all(any(_uri_within(n, s.value) for s in subs) for n in names.uri)
    if form is x509.OtherName:
        return all(any(o.type_id == s.type_id and o.value == s.value for s in subs)
                   for o in names.other)
    return True
