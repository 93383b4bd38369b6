"""The public Internet: one router that carries public IPv4 and IPv6 between the edges
attached to it, and drops what is not routable there with the reason.

Not routed: RFC 1918 private space, 100.64.0.0/10 shared address space (RFC 6598 §4: "MUST
NOT be routed on the public Internet"), and "pseudo-public" space that a carrier uses behind its
own NAT (KB 2980667; draft-kuarsingh-v6ops-6to4-provider-managed-tunnel): the Internet routes
such a prefix to its registered owner, never back to the carrier's customers.
"""

from __future__ import annotations

from ipaddress import ip_network
from typing import TYPE_CHECKING, Any

from sim.net.cutthrough import CutThrough
from sim.net.router import Router

if TYPE_CHECKING:
    from sim.net.node import Interface
    from sim.net.packet import Address

PRIVATE_V4 = [ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
SHARED_V4 = ip_network("100.64.0.0/10")  # RFC 6598
SPECIAL_V4 = [ip_network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16",
                                       "224.0.0.0/4", "240.0.0.0/4")]


def reserved_reason(dst: Address) -> str | None:
    """Why the Internet never routes ``dst`` (private, shared or special-purpose IPv4
    space), or None."""
    if dst.version == 4:
        if any(dst in n for n in PRIVATE_V4):
            return f"{dst} is RFC 1918 private space, not routed on the Internet"
        if dst in SHARED_V4:
            return f"{dst} is RFC 6598 shared address space (100.64.0.0/10), not routed"
        if any(dst in n for n in SPECIAL_V4):
            return f"{dst} is special-purpose space, not routed"
    return None


def unroutable_reason(dst: Address, pseudo_public: list) -> str:
    """Why the Internet has no route to ``dst``."""
    reason = reserved_reason(dst)
    if reason is not None:
        return reason
    for net in pseudo_public:
        if dst in net:
            return (f"{dst} is pseudo-public space used behind a carrier NAT: the Internet "
                    "routes it to its registered owner, not to the carrier's customers")
    return f"no Internet route to {dst}"


class Internet(CutThrough, Router):
    """The core that joins every network edge, the DirectAccess server and public services.
    It keeps no state per packet, so packets cross it by cut-through (``sim.net.cutthrough``)
    unless the kernel says otherwise."""

    def __init__(self, kernel, name: str = "internet") -> None:
        super().__init__(kernel, name)
        self.pseudo_public: list = []
        self.start_cut_through()

    def add_interface(self, link, *addresses: Any, **kwargs: Any) -> Interface:
        iface = super().add_interface(link, *addresses, **kwargs)
        if self.kernel.cut_through:
            iface.transit = self
        return iface

    def connect(self, iface: Interface, prefixes: list[Any]) -> None:
        """Announce ``prefixes`` as reachable through ``iface`` (an edge's access link)."""
        for prefix in prefixes:
            self.routes.add(prefix, iface, None)

    def declare_pseudo_public(self, prefix: Any) -> None:
        """A carrier uses ``prefix`` inside its NAT; the Internet routes it elsewhere."""
        self.pseudo_public.append(ip_network(prefix))

    def no_route_reason(self, dst: Address) -> str:
        return unroutable_reason(dst, self.pseudo_public)
