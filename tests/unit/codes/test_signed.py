"""Signed item codes: golden vector, size, round trips, and the named attack cases.

Every attack is a named case (``tests/vectors`` style): it must give ``counterfeit`` with its
reason code, or a ``malformed_code`` counterfeit for input that is not a code at all; never
an exception.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.codes.gs1 import DigitalLink
from ledger.codes.signed import (
    CODE_CONTEXT,
    CodeIdentity,
    DirectoryKey,
    ItemCode,
    check_code,
    code_message,
    issue_uri,
    sign_code,
)
from ledger.errors import InvalidInput
from ledger.keys import PrivateKey
from ledger.verdicts import COUNTERFEIT, INVALID, UNVERIFIED

RESOLVER = "https://vt.example.vn"
PRODUCER = PrivateKey.from_seed(bytes(range(1, 33)))  # TEST ONLY
DISTRIBUTOR = PrivateKey.from_seed(bytes(range(2, 34)))  # TEST ONLY
STRANGER = PrivateKey.from_seed(bytes(range(3, 35)))  # TEST ONLY
GTIN = "08930001000018"
OTHER_GTIN = "08930001000025"
ITEM = CodeIdentity(GTIN, "FS0000000001")


class Directory:
    """A hand-built key directory (the trust bundle and the ledger implement the same)."""

    def __init__(self, *, revoked: int = -1, compromised: int = -1) -> None:
        self.keys = [
            DirectoryKey(PRODUCER.public_key, "fishco", revoked, compromised),
            DirectoryKey(DISTRIBUTOR.public_key, "distri"),
        ]

    def producer_of(self, gtin: str) -> tuple[str, str] | None:
        return ("fishco", "Fish Co") if gtin.startswith("08930001") else None

    def keys_with_hint(self, hint: int) -> list[DirectoryKey]:
        return [k for k in self.keys if int(k.key.key_id[:2], 16) == hint]

    def is_resolver(self, stem: str) -> bool:
        return stem == RESOLVER


def test_golden_code() -> None:
    """A fixed key and item give these exact bytes (docs/format.md)."""
    assert code_message(ITEM) == CODE_CONTEXT + b"01" + GTIN.encode() + b"\x1d21FS0000000001\x1d"
    uri = issue_uri(ITEM, PRODUCER, RESOLVER)
    assert uri == (
        "https://vt.example.vn/01/08930001000018/21/FS0000000001?8030="
        "AXGuJZp0qxb8sdqiZ0NCRx2CA8r8uNP2yvXqGzv5tqEP3Yo-ANHTxKUzrWQOvxCZg2uspybW75EP9uLVRFSrjMsO"
    )
    assert PRODUCER.key_id.startswith("71")  # the hint byte 0x71 follows the version 0x01
    digsig = base64.urlsafe_b64decode(uri.rsplit("=", 1)[1])
    assert len(uri.rsplit("=", 1)[1]) == 88 and digsig[0] == 1
    assert digsig[1] == int(PRODUCER.key_id[:2], 16)
    assert PRODUCER.public_key.verify(digsig[2:], code_message(ITEM))


def test_every_field_is_covered_and_round_trips() -> None:
    full = CodeIdentity(GTIN, "A/B+c", "L 2611"[0:1] + "2611", "271231")
    uri = issue_uri(full, PRODUCER, RESOLVER)
    code = ItemCode.from_uri(uri)
    assert code.identity == full and code.resolver == RESOLVER
    assert check_code(uri, Directory()).status == UNVERIFIED
    assert DigitalLink.from_uri(uri).gtin == GTIN


def test_the_code_fits_qr_version_8_at_level_m() -> None:
    import qrcode

    uri = issue_uri(CodeIdentity(GTIN, "ABCDEF123456"), PRODUCER, RESOLVER)
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(uri)
    qr.make(fit=True)
    assert qr.version <= 8, (qr.version, len(uri))


def test_a_genuine_signature_verifies_offline() -> None:
    verdict = check_code(issue_uri(ITEM, PRODUCER, RESOLVER), Directory())
    assert verdict.status == UNVERIFIED and verdict.codes == ("signature_valid",)
    assert verdict.item["producer"] == "fishco"


def test_retired_keys_and_foreign_resolvers_are_said() -> None:
    uri = issue_uri(ITEM, PRODUCER, "https://shop.example.com/go")
    verdict = check_code(uri, Directory(revoked=5))
    assert verdict.status == UNVERIFIED
    assert verdict.codes == ("signature_valid", "key_retired", "unknown_resolver")


def _swap_digsig(uri: str, other: str) -> str:
    return uri.rsplit("=", 1)[0] + "=" + other


GOOD = issue_uri(ITEM, PRODUCER, RESOLVER)
ATTACKS: dict[str, tuple[Callable[[], str], str]] = {
    "serial-changed": (lambda: GOOD.replace("FS0000000001", "FS0000000002"), "signature_invalid"),
    "gtin-changed": (lambda: GOOD.replace(GTIN, OTHER_GTIN), "signature_invalid"),
    "signature-from-another-item": (
        lambda: _swap_digsig(GOOD, sign_code(replace(ITEM, serial="FS0000000009"), PRODUCER)),
        "signature_invalid",
    ),
    "signed-by-unregistered-key": (lambda: issue_uri(ITEM, STRANGER, RESOLVER), "unknown_key"),
    "signed-by-distributor-key": (
        lambda: issue_uri(ITEM, DISTRIBUTOR, RESOLVER),
        "not_producer_key",
    ),
    "truncated-signature": (lambda: GOOD[:-4], "malformed_code"),
    "padded-signature": (lambda: GOOD + "==", "malformed_code"),
    "unsigned": (lambda: GOOD.rsplit("?", 1)[0], "unsigned_code"),
    "duplicated-query-parameter": (
        lambda: GOOD + "&8030=" + GOOD.rsplit("=", 1)[1],
        "malformed_code",
    ),
    "extra-ai-parameter": (lambda: GOOD + "&3103=000189", "malformed_code"),
    "non-gs1-url": (lambda: "https://vt.example.vn/products/123", "malformed_code"),
    "not-a-url": (lambda: "hello", "malformed_code"),
    "ten-megabytes": (lambda: GOOD + "&x=" + "A" * 10_000_000, "malformed_code"),
    "unicode-lookalike-host": (lambda: GOOD.replace("example", "ex\u0430mple"), "malformed_code"),
    "unicode-lookalike-serial": (lambda: GOOD.replace("FS00", "F%D0%8500"), "malformed_code"),
    "unknown-producer": (
        lambda: issue_uri(CodeIdentity("09506000134352", "X1"), PRODUCER, RESOLVER),
        "unknown_producer",
    ),
    "wrong-version": (
        lambda: _swap_digsig(
            GOOD,
            base64.urlsafe_b64encode(
                b"\x02" + base64.urlsafe_b64decode(GOOD.rsplit("=", 1)[1])[1:]
            ).decode(),
        ),
        "malformed_code",
    ),
}


#: Reasons of a text that cannot be read as a code: invalid (a typo or a bad scan), never
#: counterfeit and never genuine.
UNREADABLE = {"malformed_code", "unsigned_code"}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_never_genuine_and_says_why(name: str) -> None:
    make, reason = ATTACKS[name]
    verdict = check_code(make(), Directory())
    expected = INVALID if reason in UNREADABLE else COUNTERFEIT
    assert verdict.status == expected, (name, verdict)
    assert verdict.codes == (reason,), verdict.reasons


def test_a_short_gtin_in_the_path_is_the_same_code() -> None:
    """GTIN-13 (and -12, -8) in a Digital Link path are the zero-padded GTIN-14."""
    gtin = GOOD.split("/01/")[1].split("/")[0]
    assert gtin.startswith("0")
    short = GOOD.replace(f"/01/{gtin}/", f"/01/{gtin[1:]}/")
    verdict = check_code(short, Directory())
    assert verdict.status == UNVERIFIED and verdict.item["gtin"] == gtin
    wrong = GOOD.replace(f"/01/{gtin}/", f"/01/{gtin[1:-1]}{(int(gtin[-1]) + 1) % 10}/")
    assert check_code(wrong, Directory()).status == INVALID


def test_compromised_key_is_counterfeit_offline() -> None:
    verdict = check_code(GOOD, Directory(revoked=10, compromised=5))
    assert verdict.status == COUNTERFEIT and verdict.codes == ("key_compromised",)


def test_ignored_query_parameters_do_not_change_the_verdict() -> None:
    assert check_code(GOOD + "&utm_source=live", Directory()).status == UNVERIFIED


def test_codes_are_domain_separated_from_entries() -> None:
    from ledger.log.entries import NOTICE, sign_entry

    envelope = sign_entry(NOTICE, {"title": "x"}, PRODUCER)
    assert not PRODUCER.public_key.verify(envelope.signature, code_message(ITEM))
    assert not code_message(ITEM).startswith(b"tracemark/entry/")


def test_parse_errors_are_the_projects_own() -> None:
    with pytest.raises(InvalidInput) as info:
        ItemCode.from_uri("https://vt.example.vn/01/123/21/x?8030=abc")
    assert info.value.code == "malformed_code"


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_any_text_gives_a_verdict(text: str) -> None:
    assert check_code(text, Directory()).status in (COUNTERFEIT, INVALID, UNVERIFIED)


@settings(max_examples=100)
@given(st.integers(min_value=0, max_value=len(GOOD) - 1), st.sampled_from("AZaz09-_%/?&="))
def test_any_single_character_change_is_refused(position: int, char: str) -> None:
    mutated = GOOD[:position] + char + GOOD[position + 1 :]
    if mutated == GOOD:
        return
    verdict = check_code(mutated, Directory())
    if verdict.status == UNVERIFIED:
        # Only the resolver host may change (the signature does not cover it by design).
        assert (
            mutated.split("/01/")[1] == GOOD.split("/01/")[1] or "unknown_resolver" in verdict.codes
        )


def test_a_percent_encoded_nul_is_a_malformed_code() -> None:
    with pytest.raises(InvalidInput) as info:
        ItemCode.from_uri(GOOD.replace("FS0000000001", "FS%0000000001"))
    assert info.value.code == "malformed_code"
