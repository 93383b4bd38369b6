"""The HRESULT catalogue and the precedence written in sim.pki.hresult (domain-facts F6.8)."""

from __future__ import annotations

import itertools

import pytest

from sim.pki import hresult as hr
from sim.pki.status import NAME_CONSTRAINT_ERRORS
from sim.pki.status import TrustStatus as T

ISSUE_CODES = {
    0x800B0109: "CERT_E_UNTRUSTEDROOT",
    0x800B010A: "CERT_E_CHAINING",
    0x800B0101: "CERT_E_EXPIRED",
    0x800B010F: "CERT_E_CN_NO_MATCH",
    0x800B0110: "CERT_E_WRONG_USAGE",
    0x800B010C: "CERT_E_REVOKED",
    0x80092013: "CRYPT_E_REVOCATION_OFFLINE",
    0x80092012: "CRYPT_E_NO_REVOCATION_CHECK",
    0x80096004: "TRUST_E_CERT_SIGNATURE",
}


@pytest.mark.parametrize(("code", "name"), sorted(ISSUE_CODES.items()))
def test_every_issue_code_has_its_symbol_and_windows_text(code, name):
    h = hr.lookup(code)
    assert h.name == name
    assert h.message and h.message.endswith(".")
    assert hr.lookup(name) is h
    assert hr.lookup(f"0x{code:x}") is h


def test_fact_sheet_message_texts_are_quoted_exactly():
    # domain-facts §6.1 quotes these strings; netsh and event logs show them verbatim.
    assert hr.CERT_E_UNTRUSTEDROOT.message == (
        "A certificate chain processed, but terminated in a root certificate which is not "
        "trusted by the trust provider.")
    assert hr.CERT_E_CHAINING.message == (
        "A certificate chain could not be built to a trusted root authority.")
    assert hr.CRYPT_E_REVOCATION_OFFLINE.message == (
        "The revocation function was unable to check revocation because the revocation "
        "server was offline.")


def test_hex_is_lower_case_as_netsh_prints_it():
    assert hr.CERT_E_UNTRUSTEDROOT.hex == "0x800b0109"
    assert hr.S_OK.hex == "0x0"


def test_no_flags_means_s_ok():
    assert hr.policy_error(T.NO_ERROR) is hr.S_OK


# F6.8: partial chain > signature > untrusted root > time > usage > name > revocation
# (REVOKED > OFFLINE > NO_REVOCATION_CHECK).
F68_ORDER = [
    (T.IS_PARTIAL_CHAIN, hr.CERT_E_CHAINING),
    (T.IS_NOT_SIGNATURE_VALID, hr.TRUST_E_CERT_SIGNATURE),
    (T.IS_UNTRUSTED_ROOT, hr.CERT_E_UNTRUSTEDROOT),
    (T.IS_NOT_TIME_VALID, hr.CERT_E_EXPIRED),
    (T.IS_NOT_VALID_FOR_USAGE, hr.CERT_E_WRONG_USAGE),
    (T.NAME_MISMATCH, hr.CERT_E_CN_NO_MATCH),
    (T.IS_REVOKED, hr.CERT_E_REVOKED),
    (T.IS_OFFLINE_REVOCATION | T.REVOCATION_STATUS_UNKNOWN, hr.CRYPT_E_REVOCATION_OFFLINE),
    (T.REVOCATION_STATUS_UNKNOWN, hr.CRYPT_E_NO_REVOCATION_CHECK),
]


@pytest.mark.parametrize(("higher", "lower"), list(itertools.combinations(F68_ORDER, 2)),
                         ids=lambda p: p[1].name)
def test_precedence_follows_the_fact_sheet_for_every_pair(higher, lower):
    assert hr.policy_error(higher[0] | lower[0]) is higher[1]


def test_all_conditions_at_once_report_chaining():
    everything = T(0)
    for bits, _ in F68_ORDER:
        everything |= bits
    assert hr.policy_error(everything) is hr.CERT_E_CHAINING


def test_cyclic_chain_reports_chaining():
    assert hr.policy_error(T.IS_CYCLIC) is hr.CERT_E_CHAINING


def test_codes_outside_the_fact_sheet_sit_between_time_and_usage():
    assert hr.policy_error(T.IS_NOT_TIME_VALID | T.INVALID_BASIC_CONSTRAINTS) is hr.CERT_E_EXPIRED
    assert hr.policy_error(T.INVALID_BASIC_CONSTRAINTS | T.IS_NOT_VALID_FOR_USAGE) is \
        hr.TRUST_E_BASIC_CONSTRAINTS
    assert hr.policy_error(T.INVALID_EXTENSION | T.HAS_NOT_SUPPORTED_CRITICAL_EXT) is \
        hr.CERT_E_CRITICAL
    assert hr.policy_error(T.INVALID_EXTENSION) is hr.CERT_E_MALFORMED
    assert hr.policy_error(T.HAS_EXCLUDED_NAME_CONSTRAINT | T.NAME_MISMATCH) is \
        hr.CERT_E_INVALID_NAME
    assert hr.policy_error(T.IS_EXPLICIT_DISTRUST | T.IS_UNTRUSTED_ROOT) is \
        hr.TRUST_E_EXPLICIT_DISTRUST


def test_every_name_constraint_bit_maps_to_invalid_name():
    for bit in T:
        if bit and bit in NAME_CONSTRAINT_ERRORS:
            assert hr.policy_error(bit) is hr.CERT_E_INVALID_NAME


def test_trust_status_values_are_wincrypt_values():
    # domain-facts F6.7
    assert T.IS_NOT_TIME_VALID == 0x1 and T.IS_REVOKED == 0x4
    assert T.IS_NOT_SIGNATURE_VALID == 0x8 and T.IS_NOT_VALID_FOR_USAGE == 0x10
    assert T.IS_UNTRUSTED_ROOT == 0x20 and T.REVOCATION_STATUS_UNKNOWN == 0x40
    assert T.IS_PARTIAL_CHAIN == 0x10000 and T.IS_OFFLINE_REVOCATION == 0x01000000
    assert T.IS_EXPLICIT_DISTRUST == 0x04000000
    assert (T.IS_UNTRUSTED_ROOT | T.IS_PARTIAL_CHAIN).names() == [
        "CERT_TRUST_IS_UNTRUSTED_ROOT", "CERT_TRUST_IS_PARTIAL_CHAIN"]
