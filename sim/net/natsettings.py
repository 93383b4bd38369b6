"""A scenario's ``nat:`` settings: a preset and the RFC 4787 fields a scenario may change.

The names a scenario may write are the NAT's own registries (``PRESETS``, ``Behaviour``,
``PORT_ALLOCATIONS``); ``tests/scenario/test_registries.py`` keeps these Literals equal to
them, and :meth:`NatSettings.config` is the one place a scenario's settings become a
:class:`~sim.net.nat.NatConfig`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.config import Duration, Strict
from sim.net.nat import NatConfig, nat_config

BehaviourName = Literal["endpoint-independent", "address-dependent",
                        "address-and-port-dependent"]
Preset = Literal["full-cone", "restricted-cone", "port-restricted-cone", "symmetric",
                 "linux-masquerade", "linux-masquerade-random-fully"]
PortAllocation = Literal["preservation", "sequential", "random"]


class NatSettings(Strict):
    """A preset (None: RFC 4787's recommended EIM/APDF) and what the scenario changes of it;
    a field left out keeps the preset's value."""

    preset: Preset | None = None
    mapping: BehaviourName | None = None
    filtering: BehaviourName | None = None
    port_allocation: PortAllocation | None = None
    udp_timeout: Duration | None = Field(default=None, gt=0)
    tcp_established_timeout: Duration | None = Field(default=None, gt=0)
    tcp_transitory_timeout: Duration | None = Field(default=None, gt=0)
    hairpinning: bool | None = None
    proto41_passthrough: bool | None = None

    def config(self) -> NatConfig:
        changed = {name: value for name in type(self).model_fields
                   if name != "preset" and (value := getattr(self, name)) is not None}
        return nat_config(self.preset, **changed)
