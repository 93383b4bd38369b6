"""The checks on one candidate path: the trust-status bits of each element and of the chain
(validity, signatures, Disallowed, EKU, basic constraints, key usage, name constraints), as
the chain engine's module docstring (:mod:`sim.pki.chain`) describes them."""

from __future__ import annotations

import datetime as dt

from sim.pki import names as nm
from sim.pki.parsed import ANY_EKU, Parsed, signature_valid
from sim.pki.pool import Pool
from sim.pki.status import TrustStatus as T

Evaluation = tuple[list[T], T, list[str]]   # element bits, chain bits, notes


def evaluate(path: list[Parsed], terminal: str, pool: Pool, at: dt.datetime,
             cyclic: bool = False) -> Evaluation:
    """Trust-status bits of each element and of the chain, for one candidate path.

    ``terminal`` says how the path ends: "trusted" (a self-signed certificate in the Root
    store), "root" (a self-signed certificate not in Root) or "partial" (no issuer found).
    """
    el = [_element(path, i, terminal, pool, at) for i in range(len(path))]
    chain = T.NO_ERROR
    if terminal == "partial":
        chain |= T.IS_PARTIAL_CHAIN
        if cyclic:
            chain |= T.IS_CYCLIC
    elif terminal == "root":
        el[-1] |= T.IS_UNTRUSTED_ROOT
    _ca_positions(path, el, terminal != "partial", pool)
    leaf = path[0]
    if leaf.ku is not None and leaf.ku.key_cert_sign != leaf.is_ca:
        el[0] |= T.IS_NOT_VALID_FOR_USAGE
    if leaf.name_constraints is not None and not leaf.is_ca:
        el[0] |= T.INVALID_NAME_CONSTRAINTS
    _name_constraints(path, el)
    return el, chain, []


def _element(path: list[Parsed], i: int, terminal: str, pool: Pool, at: dt.datetime) -> T:
    """The bits of element ``i`` on its own and against its issuer (the next element)."""
    p = path[i]
    f = T.NO_ERROR
    if p.der in pool.disallowed:
        f |= T.IS_EXPLICIT_DISTRUST
    if not p.not_before <= at <= p.not_after:
        f |= T.IS_NOT_TIME_VALID
    if p.problems:
        f |= T.INVALID_EXTENSION
    if p.unsupported_critical:
        f |= T.INVALID_EXTENSION | T.HAS_NOT_SUPPORTED_CRITICAL_EXT
    if p.key_problem:
        f |= T.HAS_WEAK_SIGNATURE
    if i + 1 < len(path):
        if not signature_valid(p, path[i + 1]):
            f |= T.IS_NOT_SIGNATURE_VALID
        elif p.weak_hash:
            f |= T.HAS_WEAK_SIGNATURE
    elif terminal != "partial" and p.self_issued and not signature_valid(p, p):
        f |= T.IS_NOT_SIGNATURE_VALID
    if p.eku is not None and ANY_EKU not in p.eku and pool.usage not in p.eku:
        f |= T.IS_NOT_VALID_FOR_USAGE
    return f


def _ca_positions(path: list[Parsed], el: list[T], anchored: bool, pool: Pool) -> None:
    """Basic constraints and key usage of the CA positions (every element but the leaf)."""
    n = len(path)
    for i in range(1, n):
        p = path[i]
        implicit = (i == n - 1 and anchored) or (
            p.version < 3 and pool.source.get(p.der) in ("root", "ca"))
        ca = p.bc_ca if p.bc_present else implicit
        if not ca:
            el[i] |= T.INVALID_BASIC_CONSTRAINTS
        if p.bc_present and p.bc_path_length is not None:
            below = sum(1 for j in range(1, i) if not path[j].self_issued)
            if below > p.bc_path_length:
                el[i] |= T.INVALID_BASIC_CONSTRAINTS
        if ca and p.ku is not None and not p.ku.key_cert_sign:
            el[i] |= T.IS_NOT_VALID_FOR_USAGE


def _name_constraints(path: list[Parsed], el: list[T]) -> None:
    """Each CA's subtrees against every later certificate (RFC 5280 §6.1)."""
    for i in range(len(path) - 1, 0, -1):
        nc = path[i].name_constraints
        if nc is None:
            continue
        if not nm.constraints_valid(nc):
            el[i] |= T.INVALID_NAME_CONSTRAINTS
            continue
        for j in range(i - 1, -1, -1):
            if j and path[j].self_issued:
                continue
            el[i] |= nm.check_constraints(nc, path[j])
