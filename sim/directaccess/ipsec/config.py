"""The scenario's settings above the tunnel (design.md § "Above the tunnel"): the server's
IPsec deployment, the intranet's hosts, a client's computer certificate.

Each type is owned by the device it configures (the DA server's responder, the intranet) and
is a ``Strict`` pydantic model, so a typo is one readable message.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Literal

from pydantic import Field, model_validator

from sim.config import Duration, Strict
from sim.pki.registry import EkuName
from sim.pki.spec import CertificateSpec

Authentication = Literal["kerberos_proxy", "certificates"]
Service = Literal["http", "smb", "icmp", "dns", "kerberos"]
Role = Literal["domain_controller", "dns", "management", "server"]

# what a host of each role answers when the scenario lists no services
ROLE_SERVICES: dict[str, tuple[str, ...]] = {
    "domain_controller": ("kerberos", "dns", "smb", "icmp"),
    "dns": ("dns", "icmp"),
    "management": ("http", "smb", "icmp"),
    "server": ("http", "icmp"),
}
# TCP or UDP port of each service (SMB 445, Kerberos 88: RFC 4120 §7.2.1, DNS 53)
SERVICE_PORTS = {"http": 80, "smb": 445, "dns": 53, "kerberos": 88}
# A12: Windows quick-mode defaults; main mode 480 min is UNCONFIRMED (fact sheet defaults)
QM_LIFETIME = 60 * 60.0
QM_LIFETIME_KB = 100_000
MM_LIFETIME = 480 * 60.0
# The wizard's web probe (D2): directaccess-WebProbeHost.<domain>, served by the DA server
WEB_PROBE_HOST = "directaccess-WebProbeHost"
WEB_PROBE_ADDRESS = IPv6Address("2001:db8:1::5")
INTRANET_DOMAIN = "corp.contoso.com"   # the domain of the NLS and the DC (services.DC_NAME)


class IpsecConfig(Strict):
    """``server.ipsec``: how clients authenticate their IPsec tunnels (A3, A6, A9)."""

    authentication: Authentication = "kerberos_proxy"
    root: str | None = None            # certificates: the CA the computer certificates chain to
    intermediate: bool = False         # true: ``root`` names an intermediate CA
    qm_lifetime: Duration = Field(default=QM_LIFETIME, ge=300, le=2879 * 60)
    qm_lifetime_kb: int = Field(default=QM_LIFETIME_KB, ge=20480)
    mm_lifetime: Duration = Field(default=MM_LIFETIME, gt=0)

    @model_validator(mode="after")
    def _root(self) -> IpsecConfig:
        if self.authentication == "certificates" and self.root is None:
            raise ValueError("certificates: name the CA the computer certificates chain to "
                             "(root: an authority under pki.authorities)")
        if self.authentication == "kerberos_proxy" and (self.root or self.intermediate):
            raise ValueError("root and intermediate apply to authentication: certificates")
        return self


class IntranetHostSpec(Strict):
    """One host of the intranet: its addresses, its role and what it answers."""

    ipv6: IPv6Address | None = None
    ipv4: IPv4Address | None = None
    role: Role = "server"
    services: list[Service] | None = None

    @model_validator(mode="after")
    def _address(self) -> IntranetHostSpec:
        if self.ipv6 is None and self.ipv4 is None:
            raise ValueError("give the host an ipv6 or an ipv4 address")
        return self

    @property
    def answers(self) -> tuple[str, ...]:
        return tuple(self.services) if self.services is not None else ROLE_SERVICES[self.role]


def default_hosts() -> dict[str, IntranetHostSpec]:
    """The intranet when the scenario names none: one domain controller (the address the
    transition check pings) and a file server."""
    return {"dc1": IntranetHostSpec(ipv6=IPv6Address("2001:db8:1::10"),
                                    ipv4=IPv4Address("10.0.0.1"), role="domain_controller"),
            "files": IntranetHostSpec(ipv6=IPv6Address("2001:db8:1::20"),
                                      services=["smb", "icmp"])}


class IntranetSpec(Strict):
    """``intranet``: the hosts behind the DA server; ``management`` are reached over the
    infrastructure tunnel (A1, A2), with every domain controller and DNS server added."""

    hosts: dict[str, IntranetHostSpec] = Field(default_factory=default_hosts)
    management: list[str] = Field(default_factory=list)
    # the intranet's DNS domain: a host ``app2`` is ``app2.corp.contoso.com`` (a host named
    # with dots keeps its name), published in the view the server's DNS64 answers from
    domain: str = INTRANET_DOMAIN

    @model_validator(mode="after")
    def _known(self) -> IntranetSpec:
        unknown = [m for m in self.management if m not in self.hosts]
        if unknown:
            raise ValueError(f"management names unknown host(s) {', '.join(unknown)}; "
                             f"hosts: {', '.join(self.hosts)}")
        if not any(h.role == "domain_controller" for h in self.hosts.values()):
            raise ValueError("the intranet needs a host with role: domain_controller "
                             "(Kerberos, Group Policy)")
        return self

    def fqdn(self, name: str) -> str:
        """The DNS name of host ``name``."""
        return name.lower() if "." in name else f"{name}.{self.domain}".lower()

    def records(self) -> dict[str, list]:
        """Each host's name and its addresses, as the intranet's DNS publishes them."""
        return {self.fqdn(n): [a for a in (h.ipv6, h.ipv4) if a is not None]
                for n, h in self.hosts.items()}

    def infrastructure(self) -> frozenset[str]:
        """The hosts the infrastructure tunnel reaches (A1, A2)."""
        return frozenset([*self.management, *(n for n, h in self.hosts.items()
                                              if h.role in ("domain_controller", "dns"))])


class ComputerCertificateSpec(CertificateSpec):
    """A client's computer certificate (A9): Client Authentication by default, issued by
    ``issuer`` or read from ``chain_file``."""

    eku: list[EkuName] = Field(default_factory=lambda: ["client_auth"])
