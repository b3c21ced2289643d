"""Standard Webhooks signing of deliveries (api/webhooks.py, docs/decisions.md 32).

spec-vector        the Standard Webhooks reference libraries' published vector signs alike
window             a timestamp 300 s away either way verifies; 301 s is refused
rotation           any listed v1 signature may match, under any of the receiver's secrets
tampered-*         one changed part (body, id, timestamp, signature bit, secret) is refused
malformed-*        a missing header, a timestamp that is no integer, no v1 signature
legacy-secret      a secret of the old form signs with the key it always had, and keeps the
                   deprecated X-Tracemark-Signature; new secrets do not get it
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest

from api.webhooks import (
    delivery_headers,
    is_legacy_secret,
    new_secret,
    sign_delivery,
    sign_legacy,
    verify_delivery,
    webhook_key,
)
from ledger import errors

# The vector of the Standard Webhooks reference libraries (standard-webhooks/standard-webhooks,
# libraries/*/tests: test_sign_function and its equivalents in every language).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

NOW = 1_800_000_000
BODY = b'{"id":"evt_1","type":"recall"}'


def headers(secret: str, *, webhook_id: str = "dlv_1", at: int = NOW) -> dict[str, str]:
    return delivery_headers(secret, webhook_id, at, BODY)


def test_spec_vector() -> None:
    got = sign_delivery(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)
    assert got == VECTOR_SIGNATURE
    signed = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    verify_delivery(VECTOR_SECRET, signed, VECTOR_BODY, now_s=VECTOR_TIMESTAMP)
    # the reference libraries' invalid signature: the vector's with its last byte changed
    wrong = dict(signed, **{"webhook-signature": VECTOR_SIGNATURE[:-2] + "A="})
    with pytest.raises(errors.SignatureError):
        verify_delivery(VECTOR_SECRET, wrong, VECTOR_BODY, now_s=VECTOR_TIMESTAMP)


def test_new_secrets_are_standard() -> None:
    secret = new_secret()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    assert webhook_key(secret) == base64.b64decode(secret[6:]) and len(webhook_key(secret)) == 32
    assert not is_legacy_secret(secret) and new_secret() != secret
    sent = headers(secret)
    assert set(sent) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert sent["webhook-timestamp"] == str(NOW)
    mac = hmac.new(webhook_key(secret), f"dlv_1.{NOW}.".encode() + BODY, hashlib.sha256)
    assert sent["webhook-signature"] == "v1," + base64.b64encode(mac.digest()).decode()


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_window_accepts(offset: int) -> None:
    secret = new_secret()
    verify_delivery(secret, headers(secret), BODY, now_s=NOW + offset)


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_window_refuses_replay_and_future(offset: int) -> None:
    secret = new_secret()
    with pytest.raises(errors.SignatureError, match="too old"):
        verify_delivery(secret, headers(secret), BODY, now_s=NOW + offset)
    verify_delivery(secret, headers(secret), BODY, now_s=NOW + offset, tolerance_s=abs(offset))


def test_rotation_any_listed_signature_under_any_secret() -> None:
    old, new = new_secret(), new_secret()
    sent = headers(new)
    decoys = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,Ceo5qEr07ixe2NLpvHk3FH9bwy/"
    listed = dict(sent, **{"webhook-signature": f"{decoys} {sent['webhook-signature']} v1,@@"})
    verify_delivery(new, listed, BODY, now_s=NOW)
    verify_delivery([old, new], listed, BODY, now_s=NOW)  # the receiver mid-rotation
    with pytest.raises(errors.SignatureError):
        verify_delivery(old, listed, BODY, now_s=NOW)
    # the sender mid-rotation: both signatures sent, a receiver with either secret accepts
    both = " ".join(headers(s)["webhook-signature"] for s in (old, new))
    for secret in (old, new):
        verify_delivery(secret, dict(sent, **{"webhook-signature": both}), BODY, now_s=NOW)


def _flip(signature: str) -> str:
    raw = bytearray(base64.b64decode(signature[3:]))
    raw[3] ^= 0x01
    return "v1," + base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    "mutation",
    [
        "tampered-body",
        "tampered-id",
        "tampered-timestamp",
        "tampered-signature-bit",
        "tampered-secret",
        "malformed-no-id",
        "malformed-no-timestamp",
        "malformed-no-signature",
        "malformed-timestamp-not-integer",
        "malformed-timestamp-float",
        "malformed-only-v1a",
        "malformed-signature-not-base64",
    ],
)
def test_refused(mutation: str) -> None:
    secret = new_secret()
    sent, body, key = headers(secret), BODY, secret
    signature = sent["webhook-signature"]
    changes: dict[str, dict[str, str]] = {
        "tampered-id": {"webhook-id": "dlv_2"},
        "tampered-timestamp": {"webhook-timestamp": str(NOW + 1)},
        "tampered-signature-bit": {"webhook-signature": _flip(signature)},
        "malformed-timestamp-not-integer": {"webhook-timestamp": "soon"},
        "malformed-timestamp-float": {"webhook-timestamp": f"{NOW}.0"},
        "malformed-only-v1a": {"webhook-signature": "v1a" + signature[2:]},
        "malformed-signature-not-base64": {"webhook-signature": "v1,not base64!"},
    }
    sent.update(changes.get(mutation, {}))
    if mutation.startswith("malformed-no-"):
        del sent["webhook-" + mutation.removeprefix("malformed-no-")]
    if mutation == "tampered-body":
        body = BODY + b" "
    if mutation == "tampered-secret":
        key = new_secret()
    with pytest.raises(errors.SignatureError):
        verify_delivery(key, sent, body, now_s=NOW)


def test_header_names_are_case_insensitive() -> None:
    secret = new_secret()
    shouted = {name.upper(): value for name, value in headers(secret).items()}
    verify_delivery(secret, shouted, BODY, now_s=NOW)


def test_an_id_with_a_dot_is_never_signed() -> None:
    with pytest.raises(errors.InvalidInput):
        sign_delivery(new_secret(), "dlv.1", NOW, BODY)


def test_legacy_secret_keeps_its_key_and_the_deprecated_header() -> None:
    legacy = "whsec_" + "Zm9vYmFy-_" * 4 + "abc"  # the old form: token_urlsafe(32), 43 chars
    assert is_legacy_secret(legacy) and is_legacy_secret("whsec_k")
    assert webhook_key(legacy) == legacy.encode()  # the key X-Tracemark-Signature always used
    sent = headers(legacy)
    assert sent["X-Tracemark-Signature"] == sign_legacy(legacy, NOW, BODY)
    mac = hmac.new(legacy.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sent["X-Tracemark-Signature"] == f"t={NOW},v1={mac}"
    verify_delivery(legacy, sent, BODY, now_s=NOW)
    # what a platform gives a Standard Webhooks library: the same key, in the standard form
    standard = "whsec_" + base64.b64encode(legacy.encode()).decode()
    assert not is_legacy_secret(standard) and webhook_key(standard) == webhook_key(legacy)
    verify_delivery(standard, sent, BODY, now_s=NOW)
