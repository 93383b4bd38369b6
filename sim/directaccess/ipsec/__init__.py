"""DirectAccess above the transition tunnel: IPsec tunnels between client and server
(AuthIP/IKE over UDP 500 inside the IPv6 transition, then ESP), their credentials (computer
certificates, NTLMv2, Kerberos through a domain controller or the KDC proxy), the intranet's
hosts, and the connectivity assistant's probes.

- :mod:`.config` — the scenario's ``server.ipsec`` and ``intranet`` settings (typed).
- :mod:`.codes` — the IKE/AuthIP Windows error codes (A10) and what the chain engine maps to.
- :mod:`.wire` — ISAKMP and ESP messages as light payloads, and their sizes.
- :mod:`.kerberos` — tickets and the KDC's clock-skew rule; :mod:`.kdcproxy` — the same
  exchange over HTTPS at ``/KdcProxy/`` on the IP-HTTPS listener (client and server side).
- :mod:`.responder` — the DA server's IKE responder, ESP endpoint and the intranet behind it.
- :mod:`.initiator` — one tunnel's negotiation from the client (main, extended, quick mode).
- :mod:`.session` — a client's tunnels over time: logon, rekeys, resources, status.
- :mod:`.probes` — the connectivity assistant (NCA on Windows 8+, DCA on Windows 7).
"""
