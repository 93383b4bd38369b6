"""Client profiles: the defaults that differ between Windows releases (domain facts §8).

Every field can be overridden per client; fields marked UNCONFIRMED in the fact sheet are
parameters with the suggested default.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sim.net.tls import ENCRYPTED_SUITES, NULL_SUITES

# "Interface Status" after a failed IP-HTTPS connection; capitalisation and punctuation differ
# between the sources (F1.26, N11.8). The seed (KB 2980667, Windows 10):
STATUS_FAILED_SEED = "Failed to connect to the IPHTTPS server. Waiting to reconnect"
STATUS_FAILED_WIN7 = "Failed to connect to the IPHTTPS server; waiting to reconnect"
STATUS_FAILED_WIN8 = "Failed to connect to IPHTTPs server; Waiting to reconnect."


@dataclass(frozen=True)
class ClientProfile:
    """What a Windows release does by default."""

    name: str
    teredo: str = "client"            # GPO "Set Teredo State" default: Client (F1.9)
    sixtofour: bool = True            # old ADMX: on with a public IPv4 address (F1.32)
    iphttps: str = "default"          # used when no other method works (F1.7)
    # The CRL check on the IP-HTTPS certificate (F5.14, KB2980672): Windows 7 always checks and
    # cannot be told not to; Windows 8 and later check only with StrongCRLRequired
    # (Set-NetIPHttpsConfiguration, default False; that it turns the check on is inferred).
    crl_always_checked: bool = False
    strong_crl_required: bool = False
    tcp_initial_rto: float = 3.0      # KB2786464 (Win7); Win10+ UNCONFIRMED (F2.18)
    tcp_syn_retries: int = 2
    treats_100_64_as_public: bool = True   # F4.8, UNCONFIRMED: suggested default True
    proxy_auth: bool = False          # the IP Helper service cannot answer proxy auth (F5.6)
    # The client's own probe of a freshly configured 6to4 interface: 6to4 failure is silent
    # (F4.11) and the Windows time before falling back is UNCONFIRMED.
    sixtofour_probe_timeout: float = 4.0
    sixtofour_probe_tries: int = 3
    # Connectivity check through a qualified Teredo interface before declaring it usable.
    tunnel_probe_timeout: float = 4.0
    tunnel_probe_tries: int = 3
    # F1.6 (TechNet ee844161): once Teredo qualifies, IP-HTTPS waits offline "either ten
    # seconds or a network delay larger than ten seconds based on the round trip time of TCP
    # packets". The formula is not documented: the longer delay is taken here as this multiple
    # of the IP-HTTPS connection's SYN round trip (UNCONFIRMED; 3 × RTT is RFC 6298's first
    # RTO, SRTT + 4 × RTTVAR with RTTVAR = RTT / 2).
    iphttps_wait_after_teredo: float = 10.0
    iphttps_wait_rtt_multiple: float = 3.0
    # The Interface Status of a failed IP-HTTPS connection, as the sources print it for each
    # release (F1.26, N11.8): see PROFILES.
    iphttps_status_failed: str = STATUS_FAILED_SEED
    # The cipher suites offered to the DA server: Windows 8 and later NULL encryption alone,
    # Windows 7 encrypted ones (F2, N11.4; the lists are UNCONFIRMED, see sim.net.tls).
    iphttps_suites: tuple[int, ...] = NULL_SUITES
    teredo_requalify_after_fail: float | None = None  # F2.4: none until network change
    # The connectivity assistant above the tunnel: Windows 7's DCA polls its verifiers every
    # 30 s, fixed (D3); the NCA of Windows 8 and later probes after the tunnel is up (D1) at an
    # interval no source gives (D4, UNCONFIRMED: the DCA's 30 s, as the fact sheet suggests).
    assistant: str = "nca"
    assistant_interval: float = 30.0
    # Windows 8 and later can get Kerberos tickets through a KDC proxy; Windows 7 cannot
    # (A7, G2: no KerbProxy for Windows 7 clients).
    kdc_proxy_client: bool = True
    # KB 3017472 (E3): on Windows 8 and later the IP Helper cancels the connection to the DA
    # server once it detects a static proxy (manual, or a static .pac path); Windows 7 goes
    # through it (sim.directaccess.proxysettings).
    cancels_static_proxy: bool = True

    @property
    def crl_enforced(self) -> bool:
        """Whether the client fetches and checks the CRLs of the IP-HTTPS chain."""
        return self.crl_always_checked or self.strong_crl_required

    def with_overrides(self, **changes) -> ClientProfile:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


PROFILES: dict[str, ClientProfile] = {
    # KB2980672: the CRL is always checked. Status text: Hicks, "Troubleshooting DirectAccess
    # IP-HTTPS Error Code 0x800b0109" (2017-04-06), for netsh on Windows 7.
    "windows7": ClientProfile("windows7", crl_always_checked=True,
                              iphttps_status_failed=STATUS_FAILED_WIN7,
                              iphttps_suites=ENCRYPTED_SUITES, assistant="dca",
                              kdc_proxy_client=False, cancels_static_proxy=False),
    # KB 2980635 as first published for Windows 8 / 8.1 (0x2AFC) and KB 3056560 print this.
    "windows8.1": ClientProfile("windows8.1", iphttps_status_failed=STATUS_FAILED_WIN8),
    "windows10": ClientProfile("windows10"),                     # before 1803
    # 1803 and later: Teredo disabled by default (KB4510763), newer ADMX: 6to4 off (F1.32).
    "windows10-1803": ClientProfile("windows10-1803", teredo="disabled", sixtofour=False),
    "windows11": ClientProfile("windows11", teredo="disabled", sixtofour=False),
}
PROFILES["windows10-1803+"] = replace(PROFILES["windows10-1803"], name="windows10-1803+")


def profile(name: str) -> ClientProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise KeyError(f"unknown client profile {name!r}; known: {', '.join(PROFILES)}") from None
