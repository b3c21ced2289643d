"""Receive Tracemark webhooks: Standard Webhooks (https://www.standardwebhooks.com) checks.

    from tracemark_client import webhooks

    event = webhooks.verify(secret, request.headers, raw_body)   # raises if it does not verify

A delivery carries ``webhook-id`` (the delivery's id, the same on every retry: deduplicate
on it), ``webhook-timestamp`` (unix seconds of this attempt) and ``webhook-signature``: a
space-separated list of ``v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>``.
The key is the base64 after ``whsec_`` in the secret Tracemark gave at registration.

Secrets from before Tracemark used Standard Webhooks (``whsec_`` + URL-safe text, 43
characters) sign with the UTF-8 bytes of the whole secret; ``verify`` knows them, and
``standard_secret`` turns one into the standard form for any other Standard Webhooks library
(docs/decisions.md 32).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from tracemark_client.errors import WebhookVerificationError

__all__ = [
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE_S",
    "WebhookVerificationError",
    "key_from_secret",
    "sign",
    "standard_secret",
    "verify",
]

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
#: How far a timestamp may be from now, either way (a replay, or a clock far off).
TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not one


def _standard_key(secret: str) -> bytes | None:
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX).encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeError):
        return None
    return key if 24 <= len(key) <= 64 else None


def key_from_secret(secret: str) -> bytes:
    """The HMAC key: the bytes of the standard base64 after ``whsec_`` (24 to 64 bytes); for a
    legacy Tracemark secret (``whsec_`` + URL-safe text), the UTF-8 bytes of the whole secret."""
    key = _standard_key(secret)
    if key is not None:
        return key
    if secret.startswith(SECRET_PREFIX) and len(secret) > len(SECRET_PREFIX):
        return secret.encode("utf-8")
    raise WebhookVerificationError("a webhook secret is whsec_ followed by base64")


def standard_secret(secret: str) -> str:
    """The secret in the Standard Webhooks form (unchanged when it already is): what to give
    another Standard Webhooks library for a legacy Tracemark secret."""
    if _standard_key(secret) is not None:
        return secret if secret.startswith(SECRET_PREFIX) else SECRET_PREFIX + secret
    return SECRET_PREFIX + base64.b64encode(key_from_secret(secret)).decode("ascii")


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes | str) -> str:
    """One ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256>`` (what the sender puts)."""
    if not webhook_id or "." in webhook_id:
        raise WebhookVerificationError("a webhook-id is not empty and has no '.'")
    data = body.encode("utf-8") if isinstance(body, str) else body
    signed = f"{webhook_id}.{timestamp}.".encode() + data
    mac = hmac.new(key_from_secret(secret), signed, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def verify(
    secret: str | Sequence[str],
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    now: float | None = None,
    tolerance_s: float = TOLERANCE_S,
) -> Any:
    """Check a delivery and return its JSON event; ``WebhookVerificationError`` if a header is
    missing or malformed, the timestamp is more than ``tolerance_s`` from ``now`` (either
    way), or no listed ``v1`` signature is the HMAC of the raw ``body`` under ``secret`` (or
    any of several secrets, while rotating). Every listed signature is compared, each in
    constant time. Give the body exactly as received: parsed and re-serialized JSON differs."""
    found = {str(name).lower(): str(value) for name, value in headers.items()}
    webhook_id = found.get(ID_HEADER, "")
    stamp = found.get(TIMESTAMP_HEADER, "").strip()
    listed = found.get(SIGNATURE_HEADER, "")
    if not webhook_id or not listed:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not (stamp.isascii() and stamp.isdigit()):
        raise WebhookVerificationError("webhook-timestamp is not unix seconds")
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is too old or too far ahead")
    given: list[bytes] = []
    for item in listed.split():
        version, _, value = item.partition(",")
        if version != "v1":
            continue  # v1a (asymmetric) and later versions are not Tracemark's
        try:
            given.append(base64.b64decode(value.encode("ascii"), validate=True))
        except (binascii.Error, ValueError, UnicodeError):
            continue
    data = body.encode("utf-8") if isinstance(body, str) else body
    secrets = [secret] if isinstance(secret, str) else list(secret)
    matched = False
    for each in secrets:
        expected = base64.b64decode(sign(each, webhook_id, int(stamp), data)[3:])
        for candidate in given:
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookVerificationError("no webhook-signature matches")
    try:
        return json.loads(data)
    except ValueError:
        raise WebhookVerificationError("the webhook body is not JSON") from None
