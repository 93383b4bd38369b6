"""The choices a scenario names for the PKI (key algorithms, extended key usages, where a CRL
is published) and the times a certificate can carry.

Plain data without ``cryptography``, so that the scenario schema (:mod:`sim.pki.spec`) can
offer exactly these choices without loading the crypto stack; :mod:`sim.pki.keys` and
:mod:`sim.pki.fields` build their tables from them.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

KeyAlgorithm = Literal["rsa2048", "rsa3072", "rsa4096", "p256", "p384"]
KEY_ALGORITHMS: tuple[str, ...] = get_args(KeyAlgorithm)
DEFAULT_KEY: KeyAlgorithm = "rsa2048"   # what real deployments use

EkuName = Literal["server_auth", "client_auth", "code_signing", "email_protection",
                  "ocsp_signing", "any"]
EKU_OIDS: dict[str, str] = {            # RFC 5280 §4.2.1.12
    "server_auth": "1.3.6.1.5.5.7.3.1",
    "client_auth": "1.3.6.1.5.5.7.3.2",
    "code_signing": "1.3.6.1.5.5.7.3.3",
    "email_protection": "1.3.6.1.5.5.7.3.4",
    "ocsp_signing": "1.3.6.1.5.5.7.3.9",
    "any": "2.5.29.37.0",               # anyExtendedKeyUsage
}
DEFAULT_EKU: tuple[EkuName, ...] = ("server_auth",)   # an IP-HTTPS server's certificate
if tuple(EKU_OIDS) != get_args(EkuName):   # one registry: the schema's choices are the table's
    raise AssertionError("EKU_OIDS and EkuName name different usages")

# "outside": the CRL's web server is reachable from the Internet; "inside": only from the
# corporate network (a CRL that clients outside cannot fetch)
CrlPublished = Literal["outside", "inside"]
DEFAULT_CRL_PUBLISHED: CrlPublished = "outside"

# The times a certificate can carry: from UTCTime's first year (RFC 5280 §4.1.2.5.1; the
# cryptography builder refuses anything earlier) to 99991231235959Z, RFC 5280 §4.1.2.5's
# "no well-defined expiration date".
X509_EARLIEST = dt.datetime(1950, 1, 1, tzinfo=dt.UTC)
X509_LATEST = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


def utc(value: dt.datetime | dt.date) -> dt.datetime:
    """A timezone-aware UTC datetime: a date is its midnight UTC, a naive time is UTC."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
