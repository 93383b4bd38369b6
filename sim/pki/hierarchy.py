"""The scenario's PKI by name: authorities and certificates built from its ``pki:`` section.

Authorities are named with ``issuer:`` (none: a self-signed root) and ``crl: {url,
published}``; certificates with ``issuer, subject, eku, not_after`` or a ``chain_file``. Each
hierarchy is built once per identical spec (keys come from :mod:`sim.pki.keys`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from sim.pki.authority import Authority
from sim.pki.errors import PkiInputError
from sim.pki.fields import LEAF_LIFETIME, UTC, to_time
from sim.pki.registry import DEFAULT_KEY


def _unknown(kind: str, name: str, known: Iterable[str], where: str) -> PkiInputError:
    known = list(known)
    hint = difflib.get_close_matches(name, known, n=1)
    msg = f"{where}: unknown {kind} '{name}'"
    if hint:
        msg += f"; did you mean '{hint[0]}'?"
    elif known:
        msg += f" (known: {', '.join(sorted(known))})"
    return PkiInputError(msg)


@dataclass(eq=False)
class Hierarchy:
    """The scenario's PKI: authorities and certificates by name (see the module docstring)."""

    authorities: dict[str, Authority]
    certificates: dict[str, x509.Certificate]
    chains: dict[str, list[x509.Certificate]]
    issuers: dict[str, str | None]
    start: dt.datetime

    def authority(self, name: str) -> Authority:
        if name not in self.authorities:
            raise _unknown("authority", name, self.authorities, "pki.authorities")
        return self.authorities[name]

    def certificate(self, name: str) -> x509.Certificate:
        """A certificate by its name under ``pki.certificates`` (or an authority's own)."""
        if name in self.certificates:
            return self.certificates[name]
        if name in self.authorities:
            return self.authorities[name].certificate
        raise _unknown("certificate", name, [*self.certificates, *self.authorities],
                       "pki.certificates")

    def chain(self, name: str, send_root: bool = True) -> list[x509.Certificate]:
        """What a server holding certificate ``name`` sends: leaf first, then its issuers;
        with ``send_root`` (the default, as Schannel servers commonly do, N1) the root too."""
        if name not in self.chains:
            self.certificate(name)  # raises the helpful error
        full = self.chains[name]
        if send_root or len(full) == 1:
            return list(full)
        top = full[-1]
        return list(full[:-1]) if top.subject == top.issuer else list(full)

    def root_of(self, name: str) -> x509.Certificate:
        return self.chains[name][-1] if name in self.chains else \
            self.authority(name).root_authority.certificate

    def crl_urls(self) -> dict[str, tuple[str, str]]:
        """CRL URL → (authority name, where it is published: "inside" or "outside")."""
        return {a.crl_url: (n, a.crl_published) for n, a in self.authorities.items()
                if a.crl_url}

    def aia_urls(self) -> dict[str, tuple[str, str]]:
        return {a.aia_url: (n, "outside") for n, a in self.authorities.items() if a.aia_url}

    def serve(self, url: str, at: dt.datetime) -> bytes | None:
        """What the web server behind ``url`` returns at ``at`` (a CRL or a CA certificate in
        DER), or None if no authority publishes there. Reachability is the network's job."""
        for a in self.authorities.values():
            if a.crl_url == url:
                return a.crl_der(at)
            if a.aia_url == url:
                return a.certificate.public_bytes(Encoding.DER)
        return None

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_spec(cls, spec: Mapping, start: dt.datetime | dt.date | str | None = None,
                  seed: int | str = 0, base_dir: str | Path | None = None,
                  cache: bool = True) -> Hierarchy:
        """Build (or reuse, per identical spec) the hierarchy of a scenario's ``pki:`` section.

        Hierarchies from the cache are shared: do not revoke through them; pass
        ``cache=False`` for a private copy.
        """
        start_t = to_time(start, dt.datetime(2026, 1, 1, tzinfo=UTC))
        key = None
        if cache:
            key = json.dumps([spec, start_t.isoformat(), str(seed), str(base_dir)],
                             sort_keys=True, default=str)
            hit = _HIERARCHIES.get(key)
            if hit is not None:
                _HIERARCHIES.move_to_end(key)
                return hit
        h = cls._build(spec or {}, start_t, seed, Path(base_dir) if base_dir else None)
        if key is not None:
            _HIERARCHIES[key] = h
            if len(_HIERARCHIES) > 64:
                _HIERARCHIES.popitem(last=False)
        return h

    @classmethod
    def _build(cls, spec: Mapping, start: dt.datetime, seed: int | str,
               base_dir: Path | None) -> Hierarchy:
        auth_specs: Mapping = spec.get("authorities") or {}
        cert_specs: Mapping = spec.get("certificates") or {}
        issuers = {n: (s or {}).get("issuer") for n, s in auth_specs.items()}
        authorities = _authorities(auth_specs, _issuer_order(issuers, auth_specs), issuers,
                                   start, seed)
        certificates: dict[str, x509.Certificate] = {}
        chains: dict[str, list[x509.Certificate]] = {}
        for n, s in cert_specs.items():
            chain = _certificate(n, s or {}, authorities, start, seed, base_dir)
            certificates[n], chains[n] = chain[0], chain
        return cls(authorities, certificates, chains, issuers, start)


_HIERARCHIES: OrderedDict[str, Hierarchy] = OrderedDict()


def _issuer_order(issuers: Mapping[str, str | None], auth_specs: Mapping) -> list[str]:
    """The authorities' names, each after its issuer; unknown issuers and loops refused."""
    for n, iss in issuers.items():
        if iss is not None and iss not in auth_specs:
            raise _unknown("issuer", iss, auth_specs, f"pki.authorities.{n}.issuer")
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(n: str, trail: list[str]) -> None:
        if state.get(n) == 2:
            return
        if state.get(n) == 1:
            loop = " → ".join([*trail[trail.index(n):], n])
            raise PkiInputError(f"pki.authorities: issuers form a loop ({loop})")
        state[n] = 1
        if issuers[n] is not None:
            visit(issuers[n], [*trail, n])  # type: ignore[arg-type]
        state[n] = 2
        order.append(n)

    for n in auth_specs:
        visit(n, [])
    return order


def _authorities(auth_specs: Mapping, order: list[str], issuers: Mapping[str, str | None],
                 start: dt.datetime, seed: int | str) -> dict[str, Authority]:
    """Every authority, roots first: roots valid from 3 years before ``start`` to 20 after,
    the others from 2 before to 10 after, within their issuer's."""
    authorities: dict[str, Authority] = {}
    for n in order:
        s = auth_specs[n] or {}
        crl = s.get("crl") or {}
        aia = s.get("aia")
        aia_url = aia.get("url") if isinstance(aia, Mapping) else aia
        common = dict(key=s.get("key", DEFAULT_KEY), seed=seed,
                      path_length=s.get("path_length"), crl_url=crl.get("url"),
                      crl_published=crl.get("published", "outside"), aia_url=aia_url)
        subject = s.get("subject") or n
        if issuers[n] is None:
            authorities[n] = Authority.root(
                n, subject, not_before=to_time(s.get("not_before"),
                                               start - dt.timedelta(days=3 * 365)),
                not_after=to_time(s.get("not_after"), start + dt.timedelta(days=20 * 365)),
                **common)
        else:
            parent = authorities[issuers[n]]  # type: ignore[index]
            authorities[n] = parent.subordinate(
                n, subject, not_before=to_time(s.get("not_before"),
                                               start - dt.timedelta(days=2 * 365)),
                not_after=to_time(s.get("not_after"), min(
                    start + dt.timedelta(days=10 * 365),
                    parent.certificate.not_valid_after_utc)),
                eku=s.get("eku"), **common)
    return authorities


def _certificate(n: str, s: Mapping, authorities: Mapping[str, Authority],
                 start: dt.datetime, seed: int | str,
                 base_dir: Path | None) -> list[x509.Certificate]:
    """Certificate ``n``'s chain, leaf first: read from its ``chain_file``, or issued by its
    authority (valid from 30 days before ``start`` for a year)."""
    if s.get("chain_file"):
        from sim.pki.loading import load_chain

        path = Path(s["chain_file"])
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        try:
            return load_chain(path)
        except PkiInputError as exc:
            raise PkiInputError(f"pki.certificates.{n}.chain_file: {exc}") from None
    iss = s.get("issuer")
    if iss is None:
        raise PkiInputError(f"pki.certificates.{n}: no issuer (name an authority under "
                            "pki.authorities, or give chain_file)")
    if iss not in authorities:
        raise _unknown("issuer", iss, authorities, f"pki.certificates.{n}.issuer")
    a = authorities[iss]
    subject = s.get("subject") or n
    nb = to_time(s.get("not_before"), start - dt.timedelta(days=30))
    cert = a.issue(subject, san=s.get("san"), eku=s.get("eku", ["server_auth"]),
                   key=s.get("key", DEFAULT_KEY), key_name=f"cert:{n}", seed=seed,
                   not_before=nb, not_after=to_time(s.get("not_after"), nb + LEAF_LIFETIME))
    if s.get("revoked"):
        a.revoke(cert, to_time(s.get("revoked_at"), nb))
    return [cert, *a.chain()]
