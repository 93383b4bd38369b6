"""A scenario's laptops for one shard: which laptops the shard carries and on which network
(fleets expanded, a mix apportioned), their certificate stores, and their DirectAccess client
profile."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from sim.directaccess.profiles import ClientProfile
from sim.directaccess.profiles import profile as windows_profile
from sim.errors import InputError
from sim.pki import CertStore, MachineStores, load_certificates
from sim.pki.errors import PkiInputError

if TYPE_CHECKING:
    from sim.pki import Hierarchy
    from sim.scenario.model import ClientSpec, Scenario


class Laptop(NamedTuple):
    """One laptop of the shard: its name, the network it starts on, its client spec and
    that spec's place in the scenario's ``clients``."""

    name: str
    network: str
    spec: ClientSpec
    index: int


def shard_laptops(scenario: Scenario, shard: int) -> list[Laptop]:
    """The laptops of shard ``shard``, in fleet order."""
    size = scenario.laptops_per_shard
    first, end = shard * size, (shard + 1) * size
    out = []
    at = 0   # index of a spec's first member in the whole fleet
    for index, spec in enumerate(scenario.clients):
        lo, hi = max(first - at, 0), min(end - at, spec.count)
        if lo < hi:
            networks = _apportioned(tuple(sorted(spec.mix.items())), spec.count)[lo:hi] \
                if spec.mix else [spec.network] * (hi - lo)
            out += [Laptop(spec.member(i), network, spec, index)
                    for i, network in enumerate(networks, lo)]
        at += spec.count
    return out


@lru_cache(maxsize=8)
def _apportioned(mix: tuple[tuple[str, float], ...], count: int) -> tuple[str, ...]:
    """``apportion`` kept for the next shard of the same fleet in this process."""
    return tuple(apportion(dict(mix), count))


def apportion(mix: dict[str, float], count: int) -> list[str]:
    """``count`` network names in the shares of ``mix`` (largest remainder, deterministic),
    interleaved so that any prefix of the fleet has about the same mix."""
    names = sorted(mix)
    exact = {n: mix[n] * count for n in names}
    counts = {n: int(exact[n]) for n in names}
    rest = count - sum(counts.values())
    for n in sorted(names, key=lambda n: (-(exact[n] - counts[n]), n))[:rest]:
        counts[n] += 1
    out: list[str] = []
    placed = dict.fromkeys(names, 0)
    for i in range(count):
        # the network furthest behind its share so far goes next
        n = max(names, key=lambda n: (counts[n] * (i + 1) / count - placed[n], n))
        placed[n] += 1
        out.append(n)
    return out


def client_profile(spec: ClientSpec) -> ClientProfile:
    """The Windows profile with the client's own Group Policy settings."""
    return windows_profile(spec.profile).with_overrides(
        strong_crl_required=spec.strong_crl_required)


class Stores:
    """Each client spec's initial stores, shared by every member of its fleet (copy on
    write: an import on one laptop changes only that laptop)."""

    def __init__(self, pki: Hierarchy) -> None:
        self.pki = pki
        self._made: dict[int, tuple[CertStore, CertStore]] = {}

    def of(self, laptop: Laptop) -> MachineStores:
        made = self._made.get(laptop.index)
        if made is None:
            spec = laptop.spec
            roots = [self.pki.certificate(a) for a in spec.roots]
            inter = [self.pki.certificate(a) for a in spec.intermediates]
            if spec.roots_file:
                try:
                    roots += load_certificates(spec.roots_file)
                except PkiInputError as exc:
                    raise InputError(f"clients.{laptop.index}.roots_file: {exc}") from None
            made = self._made[laptop.index] = (CertStore.of("Root", roots),
                                               CertStore.of("CA", inter))
        root, ca = made
        return MachineStores(root=root.like(), ca=ca.like())
