"""What the builder adds above the tunnel when the scenario has ``server.ipsec``: the
server's IKE responder and KDC proxy, each laptop's computer certificate, credentials and
IPsec session (``sim.directaccess.ipsec``). Without ``server.ipsec`` nothing here runs, and a
run is what it was before the layer existed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sim.directaccess import services
from sim.directaccess.dns64 import NAT64_POOL, Nat64
from sim.directaccess.ipsec.config import IntranetSpec
from sim.directaccess.ipsec.kdcproxy import kdc_proxy_client, kdc_proxy_handler
from sim.directaccess.ipsec.kerberos import KDC_PROXY_PATH
from sim.directaccess.ipsec.responder import IpsecResponder
from sim.directaccess.ipsec.session import Credentials, Deployment, IpsecSession
from sim.directaccess.server import INTRANET_PREFIX
from sim.errors import InputError
from sim.pki import verify_chain
from sim.pki.errors import PkiInputError
from sim.pki.hierarchy import issue_certificate
from sim.pki.parsed import CLIENT_AUTH

if TYPE_CHECKING:
    from sim.scenario.build import Simulation
    from sim.scenario.clients import Laptop
    from sim.scenario.laptop import SimClient


class Verdict(NamedTuple):
    trusted: bool
    hresult: int
    explanation: str


class AboveTunnel:
    """The IPsec layer of one simulation."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        scenario = sim.scenario
        self.config = scenario.server.ipsec
        self.intranet = scenario.intranet or IntranetSpec()
        self.os_of: dict[str, str] = {}
        self._chains: dict[int, list | None] = {}
        anchor = None
        if self.config.authentication == "certificates":
            anchor = sim.pki.certificate(self.config.root)
        self.anchor = anchor
        self.root = None if anchor is None else sim.pki.root_of(self.config.root)
        self.responder = IpsecResponder(
            sim.server_host, self.config, self.intranet, self.verify_computer,
            self.os_of.get, scenario.server.allow_windows7, sim.now,
            nat64=Nat64(scenario.server.nat64_prefix, NAT64_POOL, lambda: sim.kernel.now)
            if scenario.server.dns64 else None)
        sim.server.ipsec = self.responder
        if sim.server.iphttps is not None:
            sim.server.iphttps.routes[KDC_PROXY_PATH.lower()] = kdc_proxy_handler(
                self.responder.kdc_proxy)
        hosts = self.intranet.hosts
        nat64 = scenario.server.nat64_prefix if scenario.server.dns64 else None
        dc = next(h.ipv6 for h in hosts.values() if h.role == "domain_controller")
        self.deployment = Deployment(
            single_tunnel=self.config.authentication == "kerberos_proxy",
            infrastructure=self.intranet.infrastructure(),
            hosts=tuple((n, h.ipv6, h.answers, self.intranet.fqdn(n))
                        for n, h in hosts.items()), dc=dc,
            qm_lifetime=self.config.qm_lifetime, qm_lifetime_kb=self.config.qm_lifetime_kb,
            mm_lifetime=self.config.mm_lifetime,
            prefixes=(INTRANET_PREFIX, *((nat64,) if nat64 else ())), nat64=nat64)

    def verify_computer(self, chain: list, at: dt.datetime) -> Verdict:
        """The server's check of a computer certificate (A9): the chain engine, with the
        configured root as the only anchor, for Client Authentication; with ``intermediate``,
        the chain must also pass through the configured intermediate CA."""
        result = verify_chain(chain, roots=[self.root], at=at, usage=CLIENT_AUTH)
        if result.trusted and self.anchor is not self.root and self.anchor not in result.path:
            return Verdict(False, 0x800B0109, "the computer certificate does not chain to the "
                           "intermediate CA the DirectAccess server is configured with")
        return Verdict(result.trusted, result.hresult, (
            f"the chain engine's verdict on the computer certificate, with "
            f"'{self.config.root}' as the only trusted root and Client Authentication as the "
            f"usage: {result.summary()}"))

    def computer_chain(self, laptop: Laptop) -> list | None:
        """The laptop's computer certificate chain (one per client spec: a fleet's members
        enrol from the same template), or None."""
        if laptop.index in self._chains:
            return self._chains[laptop.index]
        cert = laptop.spec.computer_certificate
        chain = None
        if cert == "auto" and self.config.authentication == "certificates":
            from sim.directaccess.ipsec.config import ComputerCertificateSpec

            authority = self.config.root
            chain = self._issue(laptop, ComputerCertificateSpec(issuer=authority,
                                                                subject=laptop.spec.name))
        elif not isinstance(cert, str):
            chain = self._issue(laptop, cert)
        self._chains[laptop.index] = chain
        return chain

    def _issue(self, laptop: Laptop, spec: Any) -> list:
        folder = self.sim.scenario.base_dir
        base_dir = Path(folder) if folder else None
        try:
            return issue_certificate(self.sim.pki, f"computer:{laptop.spec.name}", spec,
                                     self.sim.seed, base_dir)
        except PkiInputError as exc:
            text = str(exc).replace(f"pki.certificates.computer:{laptop.spec.name}.", "")
            raise InputError(f"clients.{laptop.index}.computer_certificate.{text}") from None

    def attach(self, client: SimClient, laptop: Laptop) -> None:
        """Give the laptop's DirectAccess client its IPsec session."""
        spec, da = laptop.spec, client.da
        self.os_of[client.name] = spec.profile
        chain = self.computer_chain(laptop)
        leaf = chain[0] if chain else None

        def cert_valid() -> bool:
            now = self.sim.now()
            return leaf is not None and \
                leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc

        proxy = None
        if da.profile.kdc_proxy_client and self.sim.policy.iphttps_url:
            proxy = kdc_proxy_client(
                self.sim.policy.iphttps_url,
                services.chain_verifier(client.host, client.stores, self.sim.now, False),
                services.connector(da.profile), services.resolve)
        creds = Credentials(
            computer=client.name, chain=chain, cert_valid=cert_valid,
            firewall_on=spec.windows_firewall, clock_skew=spec.clock_skew, kdc_proxy=proxy,
            logon_at=None if spec.logon_at == "none" else float(spec.logon_at))
        interval = spec.connectivity_probe or da.profile.assistant_interval
        da.ipsec = IpsecSession(da, self.deployment, creds, interval,
                                da.profile.tunnel_probe_timeout, tuple(spec.opens))
        da.ipsec.server_log = self.responder.log.get
