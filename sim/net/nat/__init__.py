"""Network address translation in RFC 4787 terms (BCP 127: RFC 4787, RFC 5382, RFC 5508).

A :class:`Nat` is a gateway stage with two verbs, like Tailscale natlab's NAT: ``outbound``
picks the outside source of a packet leaving the network, ``inbound`` picks the inside
destination of a packet arriving; ``None`` means "drop" (the reason is traced). Tables, port
choice and expiry are its own business.

- ``config``: :class:`Behaviour` (RFC 4787's three levels, for mapping and filtering alike),
  the timers, :class:`NatConfig` and the presets (``linux-masquerade``, ``symmetric``...).
- ``table``: bindings, their keys, port allocation, pooling and expiry.
- ``icmp``: echo queries and errors (RFC 5508).
- ``proto41``: the protocol-41 passthrough of home routers.
- ``gateway``: the stage itself, :class:`Nat`.
"""

from sim.net.nat.config import (
    ADF,
    ADM,
    APDF,
    APDM,
    EIF,
    EIM,
    ICMP_TIMEOUT,
    OTHER_TIMEOUT,
    POOLINGS,
    PORT_ALLOCATIONS,
    PRESETS,
    TCP_ESTABLISHED,
    TCP_TRANSITORY,
    UDP_TIMEOUT,
    UDP_UNREPLIED,
    Behaviour,
    NatConfig,
    classic_name,
    full_cone,
    linux_masquerade,
    linux_masquerade_random_fully,
    nat_config,
    port_restricted_cone,
    preset,
    restricted_cone,
    symmetric,
)
from sim.net.nat.gateway import Nat
from sim.net.nat.table import Binding

__all__ = [
    "ADF", "ADM", "APDF", "APDM", "EIF", "EIM", "ICMP_TIMEOUT", "OTHER_TIMEOUT", "POOLINGS",
    "PORT_ALLOCATIONS", "PRESETS", "TCP_ESTABLISHED", "TCP_TRANSITORY", "UDP_TIMEOUT",
    "UDP_UNREPLIED", "Behaviour", "Binding", "Nat", "NatConfig", "classic_name", "full_cone",
    "linux_masquerade", "linux_masquerade_random_fully", "nat_config",
    "port_restricted_cone", "preset", "restricted_cone", "symmetric",
]
