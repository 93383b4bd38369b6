"""Links and LAN segments: latency, jitter, loss and bandwidth.

A hop is one SimPy timeout event whose callback hands the packet to the receiving interface:
no process and no closure per packet, which keeps the hot path close to bare SimPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simpy.events import Timeout

if TYPE_CHECKING:
    from sim.net.kernel import Kernel
    from sim.net.node import Interface
    from sim.net.packet import Address, Packet


class Link:
    """A cable (two ends) or a LAN segment (several ends, delivery by next-hop address)."""

    __slots__ = (
        "bandwidth", "by_address", "ends", "jitter", "kernel", "latency", "loss", "name", "rng",
        "up",
    )

    def __init__(
        self,
        kernel: Kernel,
        name: str,
        latency: float = 0.001,
        jitter: float = 0.0,
        loss: float = 0.0,
        bandwidth: float | None = None,
    ) -> None:
        self.kernel = kernel
        self.name = name
        self.latency = latency
        self.jitter = jitter
        self.loss = loss
        self.bandwidth = bandwidth  # bit/s; None: no serialisation delay
        self.ends: list[Interface] = []
        self.by_address: dict[Address, Interface] = {}
        self.rng = kernel.rng(f"link:{name}")
        self.up = True

    def attach(self, iface: Interface) -> None:
        self.ends.append(iface)
        for addr in iface.addresses:
            self.by_address[addr] = iface

    def learn(self, iface: Interface, addr: Address) -> None:
        """An interface took a new address on this segment (DHCP, a tunnel's endpoint)."""
        self.by_address[addr] = iface

    def transmit(self, pkt: Packet, sender: Interface, next_hop: Address) -> None:
        """Carry ``pkt`` from ``sender`` to the end that owns ``next_hop``."""
        ends = self.ends
        if len(ends) == 2:
            receiver = ends[1] if sender is ends[0] else ends[0]
        else:
            receiver = self.by_address.get(next_hop)
            if receiver is None:
                self.kernel.drop(self.name, pkt, f"no host {next_hop} on segment {self.name}")
                return
        if not self.up:
            self.kernel.drop(self.name, pkt, f"link {self.name} is down")
            return
        delay = self.latency
        if self.loss and self.rng.random() < self.loss:
            self.kernel.drop(self.name, pkt, f"lost on link {self.name}")
            return
        if self.jitter:
            delay += self.jitter * self.rng.random()
        if self.bandwidth:
            now = self.kernel.env.now
            start = sender.tx_free_at if sender.tx_free_at > now else now
            sender.tx_free_at = start + pkt.size * 8.0 / self.bandwidth
            delay += sender.tx_free_at - now
        Timeout(self.kernel.env, delay, pkt).callbacks.append(receiver.deliver)
