"""Private keys for authorities and certificates, made once per process, and how they sign.

Key generation is the only expensive step of building a PKI, so keys come from a per-process
cache keyed by (name, algorithm, seed): a fleet of 10,000 clients, or a test suite that builds
the same hierarchy a hundred times, generates each key once. Elliptic-curve keys are derived
from the name and seed and are therefore the same in every process; RSA-2048 keys come from a
pool shipped with the package (below); other RSA sizes are random once per process.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from sim.pki.errors import PkiInputError
from sim.pki.registry import DEFAULT_KEY, KEY_ALGORITHMS

_KEYS: dict[tuple[str, str, str], object] = {}
_STATS = {"generated": 0, "reused": 0}

# RSA key generation cannot be seeded, so the same scenario would get new certificates (and
# pcaps that differ byte for byte) in every process. Instead RSA-2048 keys come from a fixed
# pool shipped with the package, chosen by a hash of (name, seed): the same hierarchy gives
# byte-identical certificates everywhere. These keys are public test material, never secrets.
_POOL_FILE = Path(__file__).with_name("data") / "rsa2048-pool.pem"
_POOL: list[bytes] = []                 # PEM texts, parsed only when a key is used
_POOL_KEYS: dict[int, object] = {}
_POOL_USED: dict[int, tuple[str, str]] = {}

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_P384_ORDER = int("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
                  "581A0DB248B0A77AECEC196ACCC52973", 16)


def _pooled_rsa2048(name: str, seed: int | str) -> object | None:
    """A pool key for (name, seed), or None when the pool is exhausted."""
    if not _POOL:
        blob = _POOL_FILE.read_bytes()
        marker = b"-----END PRIVATE KEY-----"
        _POOL.extend(part + marker for part in blob.split(marker) if part.strip())
    start = int.from_bytes(hashlib.sha256(f"{name}|{seed}".encode()).digest()[:8], "big")
    for probe in range(len(_POOL)):
        i = (start + probe) % len(_POOL)
        owner = _POOL_USED.get(i)
        if owner is None or owner == (name, str(seed)):
            _POOL_USED[i] = (name, str(seed))
            if i not in _POOL_KEYS:
                from cryptography.hazmat.primitives.serialization import load_pem_private_key

                # our own shipped keys: skip the (slow) RSA consistency checks
                _POOL_KEYS[i] = load_pem_private_key(_POOL[i], None,
                                                     unsafe_skip_rsa_key_validation=True)
            return _POOL_KEYS[i]
    return None


def _derived_ec(name: str, algorithm: str, seed: int | str) -> object:
    """A P-256 or P-384 key whose scalar is a hash of (name, algorithm, seed)."""
    curve = ec.SECP256R1() if algorithm == "p256" else ec.SECP384R1()
    order = _P256_ORDER if algorithm == "p256" else _P384_ORDER
    digest = hashlib.sha512(f"dasim-key|{name}|{algorithm}|{seed}".encode()).digest()
    return ec.derive_private_key(int.from_bytes(digest, "big") % (order - 1) + 1, curve)


def private_key(name: str, algorithm: str = DEFAULT_KEY, seed: int | str = 0) -> object:
    """The private key for (name, algorithm, seed), generated once per process."""
    k = (name, algorithm, str(seed))
    key = _KEYS.get(k)
    if key is not None:
        _STATS["reused"] += 1
        return key
    if algorithm == "rsa2048" and (key := _pooled_rsa2048(name, seed)) is not None:
        pass
    elif algorithm.startswith("rsa") and algorithm[3:].isdigit():
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(algorithm[3:]))
    elif algorithm in ("p256", "p384"):
        key = _derived_ec(name, algorithm, seed)
    else:
        raise PkiInputError(f"key algorithm '{algorithm}' is not one of "
                            f"{', '.join(KEY_ALGORITHMS)}")
    _KEYS[k] = key
    _STATS["generated"] += 1
    return key


def key_stats() -> dict[str, int]:
    """How many keys were generated and how many times a cached one was reused."""
    return dict(_STATS, cached=len(_KEYS))


def algorithm_of(key: object) -> str:
    """The registry name of ``key``'s algorithm (``rsa2048``, ``p256``, ...)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return f"rsa{key.key_size}"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "p384" if key.curve.name == "secp384r1" else "p256"
    return DEFAULT_KEY


def signing_hash(key: object) -> hashes.HashAlgorithm | None:
    """SHA-256 for RSA and ECDSA (SHA-384 for P-384); None for EdDSA."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1":
        return hashes.SHA384()
    return hashes.SHA256()


def sign(builder: x509.CertificateBuilder, key: object) -> x509.Certificate:
    """``builder`` signed by ``key``; ECDSA signatures are deterministic (RFC 6979), so the
    same contents give byte-identical certificates."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return builder.sign(key, signing_hash(key), ecdsa_deterministic=True)
    return builder.sign(key, signing_hash(key))  # type: ignore[arg-type]
