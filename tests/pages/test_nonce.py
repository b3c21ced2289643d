"""The overlay nonce helpers (api/http/nonce.py), without a browser or a server."""

from __future__ import annotations

import base64

import pytest

from api.http.nonce import (
    DOMAIN,
    NONCE_LENGTH,
    NonceExpired,
    NonceInvalid,
    OverlayNonce,
    epoch_expiry,
    issue_nonce,
    nonce_message,
    open_nonce,
)
from ledger.errors import InvalidInput
from ledger.keys import PrivateKey

KEY = PrivateKey.from_seed(b"overlay-nonce-TEST-ONLY-seed-32b")  # TEST ONLY
OTHER = PrivateKey.from_seed(b"another-operator-TEST-ONLY-seed!")  # TEST ONLY
NOW = 1_790_000_000_000
WINDOW = 600_000
FIELDS = ("tiktok", "L-1", "live-1")


def issued(expiry: int = NOW + WINDOW, key: PrivateKey = KEY, fields=FIELDS) -> str:  # type: ignore[no-untyped-def]
    return issue_nonce(key, *fields, expiry=expiry).to_text()


def test_round_trip_and_shape() -> None:
    text = issued()
    assert len(text) == NONCE_LENGTH == 96 and "=" not in text
    raw = base64.urlsafe_b64decode(text)
    assert int.from_bytes(raw[:8], "big") == NOW + WINDOW
    nonce = open_nonce(text, KEY.public_key, *FIELDS, now=NOW)
    assert nonce.expiry == NOW + WINDOW and OverlayNonce.from_text(text) == nonce


def test_the_signed_message_is_domain_separated_and_exact() -> None:
    message = nonce_message("tiktok", "L-1", "live-1", 5)
    assert message == b"tracemark/overlay/v1\x00tiktok\x00L-1\x00live-1\x00" + (5).to_bytes(
        8, "big"
    )
    assert message.startswith(DOMAIN)


def test_expiry_is_exclusive() -> None:
    text = issued(expiry=NOW + 10)
    open_nonce(text, KEY.public_key, *FIELDS, now=NOW + 9)
    with pytest.raises(NonceExpired) as info:
        open_nonce(text, KEY.public_key, *FIELDS, now=NOW + 10)
    assert info.value.code == "nonce_expired"


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("wrong-platform", ("shopee", "L-1", "live-1")),
        ("wrong-listing", ("tiktok", "L-2", "live-1")),
        ("wrong-stream", ("tiktok", "L-1", "live-2")),
        ("no-stream", ("tiktok", "L-1", "")),
        ("shifted-separator", ("tiktok", "L-1\x00live", "1")),
    ],
)
def test_a_nonce_is_bound_to_its_platform_listing_and_stream(name: str, fields: tuple) -> None:  # type: ignore[type-arg]
    with pytest.raises(NonceInvalid):
        open_nonce(issued(), KEY.public_key, *fields, now=NOW)


def test_another_key_is_refused() -> None:
    with pytest.raises(NonceInvalid):
        open_nonce(issued(key=OTHER), KEY.public_key, *FIELDS, now=NOW)


def test_every_single_bit_flip_is_refused() -> None:
    raw = bytearray(base64.urlsafe_b64decode(issued()))
    for bit in range(len(raw) * 8):
        mutated = bytearray(raw)
        mutated[bit // 8] ^= 1 << (bit % 8)
        text = base64.urlsafe_b64encode(bytes(mutated)).decode()
        with pytest.raises(NonceInvalid):
            open_nonce(text, KEY.public_key, *FIELDS, now=NOW)


def test_a_forged_nonce_with_a_past_expiry_is_reported_forged_not_expired() -> None:
    forged = OverlayNonce(NOW - 1, bytes(64)).to_text()
    with pytest.raises(NonceInvalid):
        open_nonce(forged, KEY.public_key, *FIELDS, now=NOW)


def test_extending_the_expiry_breaks_the_signature() -> None:
    nonce = OverlayNonce.from_text(issued(expiry=NOW - 1))
    stretched = OverlayNonce(NOW + 10 * WINDOW, nonce.signature).to_text()
    with pytest.raises(NonceInvalid):
        open_nonce(stretched, KEY.public_key, *FIELDS, now=NOW)


def test_other_signatures_of_the_key_do_not_pass_as_nonces() -> None:
    """Domain separation: the key signing the same fields without the prefix is no nonce."""
    expiry = NOW + WINDOW
    bare = nonce_message(*FIELDS, expiry)[len(DOMAIN) :]
    for message in (bare, b"tracemark/overlay/v2\x00" + bare):
        text = OverlayNonce(expiry, KEY.sign(message)).to_text()
        with pytest.raises(NonceInvalid):
            open_nonce(text, KEY.public_key, *FIELDS, now=NOW)


@pytest.mark.parametrize(
    "text",
    ["", "abc", "A" * 95, "A" * 97, "!" * 96, "é" * 96, issued()[:-1] + "=", None],
)
def test_malformed_nonces_are_invalid(text: object) -> None:
    with pytest.raises(NonceInvalid):
        open_nonce(text, KEY.public_key, *FIELDS, now=NOW)  # type: ignore[arg-type]


def test_huge_expiry_is_invalid_not_a_crash() -> None:
    text = base64.urlsafe_b64encode(b"\xff" * 8 + bytes(64)).decode()
    with pytest.raises(NonceInvalid):
        open_nonce(text, KEY.public_key, *FIELDS, now=NOW)


def test_fields_with_nul_cannot_be_signed() -> None:
    with pytest.raises(InvalidInput):
        issue_nonce(KEY, "tiktok", "L\x001", "", expiry=NOW)


def test_epochs_rotate_before_expiry_and_keep_half_the_window() -> None:
    seen = set()
    for now in range(NOW, NOW + 3 * WINDOW, 7_001):
        expiry = epoch_expiry(now, WINDOW)
        assert WINDOW // 2 < expiry - now <= WINDOW
        seen.add(expiry)
    assert len(seen) >= 6  # a new code every half window
    # within one epoch the nonce (and so the QR) does not change: Ed25519 is deterministic
    start = NOW - NOW % (WINDOW // 2)
    a = issued(expiry=epoch_expiry(start, WINDOW))
    b = issued(expiry=epoch_expiry(start + WINDOW // 2 - 1, WINDOW))
    assert a == b
    with pytest.raises(InvalidInput):
        epoch_expiry(NOW, 1)
