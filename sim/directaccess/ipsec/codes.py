"""The IKE/AuthIP failure codes Windows reports (fact A10, system error codes 12000-15999),
and which one each failure the model finds maps to.

The mapping from a DirectAccess situation to a code is UNCONFIRMED (A10: no document ties
them); it is the fact sheet's plausible model, kept in one table here and listed as an
assumption in docs/model.md.
"""

from __future__ import annotations

from typing import NamedTuple


class IkeCode(NamedTuple):
    code: int
    name: str
    text: str


AUTH_FAIL = IkeCode(13801, "ERROR_IPSEC_IKE_AUTH_FAIL",
                    "IKE authentication credentials are unacceptable")
TIMED_OUT = IkeCode(13805, "ERROR_IPSEC_IKE_TIMED_OUT", "negotiation timed out")
NO_CERT = IkeCode(13806, "ERROR_IPSEC_IKE_NO_CERT",
                  "IKE failed to find a valid machine certificate")
CRL_FAILED = IkeCode(13817, "ERROR_IPSEC_IKE_CRL_FAILED",
                     "certificate revocation check failed")
INVALID_KEY_USAGE = IkeCode(13818, "ERROR_IPSEC_IKE_INVALID_KEY_USAGE",
                            "invalid certificate key usage")
KERBEROS_ERROR = IkeCode(13827, "ERROR_IPSEC_IKE_KERBEROS_ERROR",
                         "failed to authenticate using Kerberos")

# the chain engine's verdict on a computer certificate, at the server → the code the server
# sends back in its notify (A10's model: wrong EKU 13818, revocation 13817, else 13801)
WRONG_USAGE_HRESULT = 0x800B0110      # CERT_E_WRONG_USAGE
REVOCATION_HRESULTS = (0x80092012, 0x80092013, 0x80092010)   # offline, no check, revoked


def code_for_chain(hresult: int) -> IkeCode:
    """The IKE code for a computer certificate the server's chain engine rejected."""
    if hresult == WRONG_USAGE_HRESULT:
        return INVALID_KEY_USAGE
    if hresult in REVOCATION_HRESULTS:
        return CRL_FAILED
    return AUTH_FAIL


BY_CODE = {c.code: c for c in (AUTH_FAIL, TIMED_OUT, NO_CERT, CRL_FAILED, INVALID_KEY_USAGE,
                               KERBEROS_ERROR)}
