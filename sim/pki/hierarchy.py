"""The scenario's PKI by name: authorities and certificates built from its ``pki:`` section
(a :class:`sim.pki.spec.PkiSpec`).

Authorities are named with ``issuer:`` (none: a self-signed root) and ``crl: {url,
published}``; certificates with ``issuer, subject, eku, not_after`` or a ``chain_file``. Each
hierarchy is built once per identical spec (keys come from :mod:`sim.pki.keys`).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pydantic import ValidationError

from sim.pki.authority import Authority
from sim.pki.errors import PkiInputError
from sim.pki.fields import CA_LIFETIME, LEAF_LIFETIME, as_time, to_time
from sim.pki.registry import X509_EARLIEST, X509_LATEST
from sim.pki.spec import AuthoritySpec, CertificateSpec, Date, PkiSpec


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
    def from_spec(cls, spec: PkiSpec | Mapping | None, start: dt.datetime | dt.date | str,
                  seed: int | str = 0, base_dir: str | Path | None = None,
                  cache: bool = True) -> Hierarchy:
        """Build (or reuse, per identical spec) the hierarchy of a scenario's ``pki:`` section.

        ``spec`` is the scenario's :class:`PkiSpec` (a plain mapping is validated into one
        first, for scripts and tests); ``start`` is the scenario's start, from which the
        default validity periods are counted; ``seed`` picks the keys; ``base_dir`` is where
        relative ``chain_file`` paths start. Hierarchies from the cache are shared: do not
        revoke through them; pass ``cache=False`` for a private copy.
        """
        typed = spec if isinstance(spec, PkiSpec) else _validated(spec or {})
        start_t = as_time(start)
        key = None
        if cache:
            key = json.dumps([typed.model_dump(mode="json"), start_t.isoformat(), str(seed),
                              str(base_dir)])
            hit = _HIERARCHIES.get(key)
            if hit is not None:
                _HIERARCHIES.move_to_end(key)
                return hit
        h = cls._build(typed, start_t, seed, Path(base_dir) if base_dir else None)
        if key is not None:
            _HIERARCHIES[key] = h
            if len(_HIERARCHIES) > 64:
                _HIERARCHIES.popitem(last=False)
        return h

    @classmethod
    def _build(cls, spec: PkiSpec, start: dt.datetime, seed: int | str,
               base_dir: Path | None) -> Hierarchy:
        issuers = {n: s.issuer for n, s in spec.authorities.items()}
        authorities = _authorities(spec.authorities, _issuer_order(issuers), start, seed)
        certificates: dict[str, x509.Certificate] = {}
        chains: dict[str, list[x509.Certificate]] = {}
        for n, s in spec.certificates.items():
            chain = _certificate(n, s, authorities, start, seed, base_dir)
            certificates[n], chains[n] = chain[0], chain
        return cls(authorities, certificates, chains, issuers, start)


_HIERARCHIES: OrderedDict[str, Hierarchy] = OrderedDict()


def _validated(spec: Mapping) -> PkiSpec:
    """A plain ``pki:`` mapping as a :class:`PkiSpec`, or the first problem as one message."""
    try:
        return PkiSpec.model_validate(spec)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(["pki", *(str(p) for p in err["loc"]   # not the union's branches
                                   if p not in ("date", "datetime")
                                   and not str(p).startswith("function-"))])
        raise PkiInputError(f"{where}: {err['msg'].removeprefix('Value error, ')}") from None


def _issuer_order(issuers: Mapping[str, str | None]) -> list[str]:
    """The authorities' names, each after its issuer; unknown issuers and loops refused."""
    for n, iss in issuers.items():
        if iss is not None and iss not in issuers:
            raise _unknown("issuer", iss, issuers, f"pki.authorities.{n}.issuer")
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

    for n in issuers:
        visit(n, [])
    return order


def _authorities(specs: Mapping[str, AuthoritySpec], order: list[str], start: dt.datetime,
                 seed: int | str) -> dict[str, Authority]:
    """Every authority, roots first: roots valid from 3 years before ``start`` to 20 after,
    the others from 2 before to 10 after, within their issuer's (:func:`_period` when a
    given date leaves the default on the wrong side of it)."""
    authorities: dict[str, Authority] = {}
    for n in order:
        s = specs[n]
        common: dict[str, Any] = dict(key=s.key, seed=seed, path_length=s.path_length,
                                      aia_url=s.aia)
        if s.crl is not None:
            common.update(crl_url=s.crl.url, crl_published=s.crl.published)
        subject = s.subject or n
        if s.issuer is None:
            nb, na = _period(s.not_before, s.not_after, _shift(start, days=-3 * 365),
                             lambda _nb: _shift(start, days=20 * 365), CA_LIFETIME)
            authorities[n] = Authority.root(n, subject, not_before=nb, not_after=na, **common)
        else:
            parent = authorities[s.issuer]
            nb, na = _period(s.not_before, s.not_after, _shift(start, days=-2 * 365),
                             lambda _nb, p=parent: min(_shift(start, days=10 * 365),
                                                       p.certificate.not_valid_after_utc),
                             CA_LIFETIME)
            authorities[n] = parent.subordinate(n, subject, not_before=nb, not_after=na,
                                                **common)
    return authorities


def _certificate(n: str, s: CertificateSpec, authorities: Mapping[str, Authority],
                 start: dt.datetime, seed: int | str,
                 base_dir: Path | None) -> list[x509.Certificate]:
    """Certificate ``n``'s chain, leaf first: read from its ``chain_file``, or issued by its
    authority (valid from 30 days before ``start`` for a year)."""
    if s.chain_file:
        from sim.pki.loading import load_chain

        path = Path(s.chain_file)
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        try:
            return load_chain(path)
        except PkiInputError as exc:
            raise PkiInputError(f"pki.certificates.{n}.chain_file: {exc}") from None
    if s.issuer not in authorities:
        raise _unknown("issuer", str(s.issuer), authorities, f"pki.certificates.{n}.issuer")
    a = authorities[s.issuer]
    nb, na = _period(s.not_before, s.not_after, _shift(start, days=-30),
                     lambda nb: _shift(nb, LEAF_LIFETIME.days), LEAF_LIFETIME)
    cert = a.issue(s.subject or n, san=s.san, eku=s.eku, key=s.key, key_name=f"cert:{n}",
                   seed=seed, not_before=nb, not_after=na)
    if s.revoked:
        a.revoke(cert, nb)
    return [cert, *a.chain()]


def _shift(t: dt.datetime, days: int) -> dt.datetime:
    """``t`` moved by ``days``, kept within the times a certificate can carry."""
    try:
        moved = t + dt.timedelta(days=days)
    except OverflowError:
        moved = X509_EARLIEST if days < 0 else X509_LATEST
    return min(max(moved, X509_EARLIEST), X509_LATEST)


def _period(not_before: Date | None, not_after: Date | None, default_nb: dt.datetime,
            default_na: Callable[[dt.datetime], dt.datetime],
            lifetime: dt.timedelta) -> tuple[dt.datetime, dt.datetime]:
    """(not_before, not_after) from the dates the spec gives, the defaults for the others.

    A default on the wrong side of a given date is derived from that date instead: a
    certificate whose ``not_after`` falls before the default start (one that expired long
    before the scenario) begins ``lifetime`` before it ends, and one whose ``not_before``
    falls after the default end lasts ``lifetime``. The spec has refused a ``not_after`` at
    or before the ``not_before`` given with it, and dates a certificate cannot carry.
    """
    nb = to_time(not_before, default_nb)
    na = to_time(not_after, default_na(nb))
    if na <= nb and not_before is None:
        nb = _shift(na, -lifetime.days)
    elif na <= nb:
        na = _shift(nb, lifetime.days)
    return nb, na


def issue_certificate(pki: Hierarchy, name: str, spec: CertificateSpec, seed: int | str,
                      base_dir: Path | None = None) -> list[x509.Certificate]:
    """A certificate outside ``pki.certificates`` (a client's computer certificate), issued
    or read as those are: its chain, leaf first. ``name`` names it in messages and keys."""
    return _certificate(name, spec, pki.authorities, pki.start, seed, base_dir)
