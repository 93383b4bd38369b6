"""What a NAT does, named in RFC 4787 terms: the one small type that names both behaviours,
the timers, :class:`NatConfig`, and the presets that tie a config to the device it models.

Mapping and filtering are named by one small type, :class:`Behaviour`, but kept apart in the
tables (pion/transport's vnet once keyed mappings by the filtering level): see
``sim.net.nat.table``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from enum import IntEnum
from ipaddress import IPv4Address, ip_address
from typing import Any


class Behaviour(IntEnum):
    """RFC 4787's three levels, for mapping (§4.1) and filtering (§5) alike; the order is
    from most open to most restrictive, so ``max`` gives the stricter of two."""

    ENDPOINT_INDEPENDENT = 0
    ADDRESS_DEPENDENT = 1
    ADDRESS_AND_PORT_DEPENDENT = 2

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    @property
    def abbrev(self) -> str:
        """``EI``, ``AD`` or ``APD``: add ``M`` or ``F`` for the RFC 4787 abbreviations."""
        return ("EI", "AD", "APD")[self]

    @classmethod
    def parse(cls, value: Behaviour | str | int) -> Behaviour:
        """Accept ``endpoint-independent``, ``EIM``/``EIF``, ``address-dependent``, ``ADM``...,
        ``address-and-port-dependent``, ``APDM``/``APDF``, or the enum itself."""
        if isinstance(value, Behaviour):
            return value
        if isinstance(value, int):
            return cls(value)
        text = value.strip().lower().replace("_", "-")
        for b in cls:
            if text in (b.label, b.abbrev.lower(), b.abbrev.lower() + "m",
                        b.abbrev.lower() + "f"):
                return b
        raise ValueError(f"unknown NAT behaviour {value!r}: expected endpoint-independent, "
                         "address-dependent or address-and-port-dependent")

    def __str__(self) -> str:
        return self.label


EIM = EIF = Behaviour.ENDPOINT_INDEPENDENT
ADM = ADF = Behaviour.ADDRESS_DEPENDENT
APDM = APDF = Behaviour.ADDRESS_AND_PORT_DEPENDENT

PORT_ALLOCATIONS = ("preservation", "sequential", "random")
POOLINGS = ("paired", "arbitrary")

UDP_TIMEOUT = 120.0        # Linux conntrack UDP "stream" timeout (F2.8); RFC 4787 REQ-5 floor
UDP_UNREPLIED = 30.0       # Linux nf_conntrack_udp_timeout (F2.8), measured: docs/crosscheck.md
TCP_ESTABLISHED = 7440.0   # RFC 5382 REQ-5: established idle-timeout >= 2 h 4 min
TCP_TRANSITORY = 240.0     # RFC 5382 REQ-5: transitory idle-timeout >= 4 min
ICMP_TIMEOUT = 60.0        # RFC 5508 REQ-1: ICMP query mapping timeout >= 60 s
OTHER_TIMEOUT = 600.0      # Linux nf_conntrack_generic_timeout (proto 41 passthrough)


@dataclass(frozen=True)
class NatConfig:
    """How a NAT behaves. Defaults follow RFC 4787's MUSTs where devices agree (EIM, REQ-1;
    paired pooling, REQ-2; outbound refresh, REQ-6) and Linux's timers where they do not."""

    mapping: Behaviour = EIM
    filtering: Behaviour = APDF
    port_allocation: str = "preservation"   # RFC 4787 §4.2.1; falls back to sequential
    pooling: str = "paired"                 # RFC 4787 REQ-2: same inside host, same address
    port_range: tuple[int, int] = (1024, 65535)
    udp_timeout: float = UDP_TIMEOUT
    tcp_established_timeout: float = TCP_ESTABLISHED
    tcp_transitory_timeout: float = TCP_TRANSITORY
    icmp_timeout: float = ICMP_TIMEOUT
    other_timeout: float = OTHER_TIMEOUT
    inbound_refresh: bool = False           # RFC 4787 REQ-6: inbound refresh MAY be supported
    hairpinning: bool = False               # RFC 4787 REQ-9 says MUST; many devices do not
    proto41_passthrough: bool = False
    proto41_host: IPv4Address | None = None  # None: the first inside host that sends proto 41
    # Linux conntrack: an inbound UDP datagram no mapping admits leaves an UNREPLIED entry
    # that holds its (external port, remote) for this long, re-armed by each one; a flow from
    # inside that would leave by that port to that remote gets its own port (0: off).
    # Measured with iptables MASQUERADE, nf_conntrack_udp_timeout 30 s: docs/crosscheck.md.
    unreplied_hold: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mapping", Behaviour.parse(self.mapping))
        object.__setattr__(self, "filtering", Behaviour.parse(self.filtering))
        if self.port_allocation not in PORT_ALLOCATIONS:
            raise ValueError(f"port_allocation {self.port_allocation!r}: expected one of "
                             f"{', '.join(PORT_ALLOCATIONS)}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling {self.pooling!r}: expected paired or arbitrary")
        lo, hi = self.port_range
        if not 1 <= lo <= hi <= 65535:
            raise ValueError(f"port_range {self.port_range!r} is not within 1-65535")
        if self.proto41_host is not None and not isinstance(self.proto41_host, IPv4Address):
            object.__setattr__(self, "proto41_host", ip_address(self.proto41_host))
        for name in ("udp_timeout", "tcp_established_timeout", "tcp_transitory_timeout",
                     "icmp_timeout", "other_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.unreplied_hold < 0:
            raise ValueError("unreplied_hold must not be negative")

    @property
    def classic_name(self) -> str:
        """The RFC 3489-era name (fact sheet F3.12), or the RFC 4787 pair."""
        return classic_name(self.mapping, self.filtering)


def classic_name(mapping: Behaviour, filtering: Behaviour) -> str:
    if mapping == EIM:
        return ("full cone", "restricted cone", "port-restricted cone")[filtering]
    if filtering == APDF:
        return "symmetric"
    return f"{mapping.abbrev}M/{filtering.abbrev}F"


# --- presets: registered constructors, each tied to what it models ------------------------

PRESETS: dict[str, Callable[..., NatConfig]] = {}


def preset(name: str) -> Callable[[Callable[..., NatConfig]], Callable[..., NatConfig]]:
    def register(fn: Callable[..., NatConfig]) -> Callable[..., NatConfig]:
        PRESETS[name] = fn
        return fn
    return register


@preset("full-cone")
def full_cone(**overrides: Any) -> NatConfig:
    """EIM/EIF: OpenWrt's FULLCONENAT target, or a consumer router's "open NAT" game mode."""
    return NatConfig(**{"mapping": EIM, "filtering": EIF, **overrides})


@preset("restricted-cone")
def restricted_cone(**overrides: Any) -> NatConfig:
    """EIM/ADF: RFC 4787 REQ-8's stricter recommended filtering; RFC 3489's restricted cone."""
    return NatConfig(**{"mapping": EIM, "filtering": ADF, **overrides})


@preset("port-restricted-cone")
def port_restricted_cone(**overrides: Any) -> NatConfig:
    """EIM/APDF without port preservation: most home routers (RFC 3489 port-restricted cone)."""
    return NatConfig(**{"mapping": EIM, "filtering": APDF, "port_allocation": "sequential",
                        **overrides})


@preset("symmetric")
def symmetric(**overrides: Any) -> NatConfig:
    """APDM/APDF with random ports: typical carrier-grade NAT with per-destination ports."""
    return NatConfig(**{"mapping": APDM, "filtering": APDF, "port_allocation": "random",
                        **overrides})


@preset("linux-masquerade")
def linux_masquerade(**overrides: Any) -> NatConfig:
    """iptables MASQUERADE, like Linux and most home routers: EIM with port preservation,
    APDF (measured on Debian 12, fact sheet N3); conntrack's 120 s UDP stream timeout. Its
    30 s UNREPLIED entry for a filtered datagram, measured too, is ``unreplied_hold=
    UDP_UNREPLIED``, off here until the modeled Windows order is settled (docs/crosscheck.md)."""
    return NatConfig(**{"mapping": EIM, "filtering": APDF, "port_allocation": "preservation",
                        **overrides})


@preset("linux-masquerade-random-fully")
def linux_masquerade_random_fully(**overrides: Any) -> NatConfig:
    """iptables MASQUERADE --random-fully: a new random port per destination (APDM), APDF
    (measured, fact sheet N3)."""
    return NatConfig(**{"mapping": APDM, "filtering": APDF, "port_allocation": "random",
                        **overrides})


def nat_config(spec: NatConfig | dict[str, Any] | str | None = None,
               **overrides: Any) -> NatConfig:
    """A config from a preset name, a scenario's ``nat:`` mapping (``{preset: ..., ...}`` or
    the RFC 4787 fields), or an existing config plus overrides."""
    if isinstance(spec, NatConfig):
        return replace(spec, **overrides)
    if isinstance(spec, str):
        spec = {"preset": spec}
    spec = {**(spec or {}), **overrides}
    name = spec.pop("preset", None)
    known = {f.name for f in fields(NatConfig)}
    unknown = set(spec) - known
    if unknown:
        raise ValueError(f"unknown NAT setting(s): {', '.join(sorted(unknown))}")
    if "port_range" in spec:
        spec["port_range"] = tuple(spec["port_range"])
    if name is None:
        return NatConfig(**spec)
    try:
        ctor = PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown NAT preset {name!r}: expected one of "
                         f"{', '.join(sorted(PRESETS))}") from None
    return ctor(**spec)
