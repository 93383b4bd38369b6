"""Cost of a first chain verification and of repeated ones against an unchanged store.

A simulated fleet verifies the same IP-HTTPS chain over and over (every client, every retry),
so the chain engine caches verdicts per (presented chain, store contents, host, options) for as
long as no certificate's validity changes (sim.pki.chain). This bench prints:

- the first verification with cold caches (decoding, signature checks, path search),
- a repeated verification against the unchanged store (a cache hit), and the ratio,
- the same with CRL checking enforced (the chain is cached; revocation is re-evaluated against
  the CRL cache each time, since reachability may change),
- a fleet of 10,000 clients with their own (identical) stores, and the keys generated for it.

Run: ``.venv/bin/python bench/chain_verify.py``.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.pki import (
    Authority,
    CertStore,
    CrlCache,
    MachineStores,
    cache_stats,
    clear_caches,
    key_stats,
    verify_chain,
)

AT = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
HOST = "da.contoso.com"


def _per_call(fn, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t0) / n


def main() -> dict:
    t0 = time.perf_counter()
    root = Authority.root("bench-root", "CN=Contoso Root CA",
                          crl_url="http://crl.contoso.com/root.crl")
    ica = root.subordinate("bench-issuing", "CN=Contoso Issuing CA",
                           crl_url="http://crl.contoso.com/issuing.crl")
    leaf = ica.issue(HOST, not_before=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                     not_after=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    keys_s = time.perf_counter() - t0
    presented = [leaf, ica.certificate, root.certificate]
    roots = CertStore.of("Root", [root.certificate])
    crls = {root.crl_url: root.crl_der(AT), ica.crl_url: ica.crl_der(AT)}

    firsts = []
    for _ in range(5):
        clear_caches()
        t = time.perf_counter()
        r = verify_chain(presented, roots=roots, host=HOST, at=AT)
        firsts.append(time.perf_counter() - t)
        assert r.trusted
    first = statistics.median(firsts)
    repeat = _per_call(lambda i: verify_chain(presented, roots=roots, host=HOST,
                                              at=AT + dt.timedelta(seconds=i)), 20000)
    stats = cache_stats()

    clear_caches()
    cache = CrlCache()
    t = time.perf_counter()
    assert verify_chain(presented, roots=roots, host=HOST, at=AT, fetch=crls.get,
                        check_revocation=True, crl_cache=cache).trusted
    first_crl = time.perf_counter() - t
    repeat_crl = _per_call(lambda i: verify_chain(
        presented, roots=roots, host=HOST, at=AT + dt.timedelta(seconds=i), fetch=crls.get,
        check_revocation=True, crl_cache=cache), 5000)

    clear_caches()
    before = key_stats()["generated"]
    fleet = [MachineStores() for _ in range(10_000)]
    t = time.perf_counter()
    for m in fleet:
        m.root.add(root.certificate, at=0.0)
        assert m.verify(presented, host=HOST, at=AT).trusted
    fleet_s = time.perf_counter() - t
    fleet_builds = cache_stats()["misses"]

    print(f"hierarchy (3 RSA-2048 keys, first use in this process): {keys_s * 1000:8.1f} ms")
    print(f"first verification (cold caches, median of 5):           {first * 1e6:8.1f} us")
    print(f"repeated verification, unchanged store (cache hit):      {repeat * 1e6:8.1f} us")
    print(f"ratio first / repeated:                                  {first / repeat:8.1f} x")
    print(f"  cache after the repeats: {stats['hits']} hits, {stats['misses']} miss(es)")
    print(f"first verification with CRL checking (2 downloads):      {first_crl * 1e6:8.1f} us")
    print(f"repeated verification with CRL checking (CRL cache):     {repeat_crl * 1e6:8.1f} us")
    print(f"ratio first / repeated with CRL checking:                "
          f"{first_crl / repeat_crl:8.1f} x")
    print(f"fleet of 10,000 clients, own identical Root stores:      {fleet_s * 1000:8.1f} ms "
          f"({fleet_s / len(fleet) * 1e6:.1f} us per client, {fleet_builds} chain build(s), "
          f"{key_stats()['generated'] - before} keys generated)")
    return {"first_s": first, "repeat_s": repeat, "ratio": first / repeat,
            "first_crl_s": first_crl, "repeat_crl_s": repeat_crl, "fleet_s": fleet_s,
            "fleet_builds": fleet_builds}


if __name__ == "__main__":
    main()
