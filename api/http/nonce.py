"""Overlay nonces: short-lived, operator-signed tokens that bind a listing QR to one stream.

The QR an overlay shows on a livestream opens ``/l/{platform}/{listing}?s=<stream>&n=<nonce>``
on the resolver. The nonce proves that the operator issued this code for this platform,
listing and stream, recently::

    nonce   = base64url(expiry || signature)          (no padding; 96 characters)
    expiry  = 8 bytes, big-endian milliseconds since the Unix epoch
    message = "tracemark/overlay/v1" 0x00 platform 0x00 listing 0x00 stream 0x00 expiry
    signature = Ed25519(operator key, message)

The domain-separation prefix keeps an overlay signature from ever passing as a code,
event or checkpoint signature (and theirs from passing as a nonce). Fields may not contain
NUL, so the message is unambiguous. Nonces are issued in epochs of half the window
(``epoch_expiry``): the QR stays the same for a while, is rotated before it expires, and
always has at least half the window left when shown.

Pure: time and keys are parameters; no web imports. ``open_nonce`` checks the signature
before the expiry, so a forged nonce is reported as forged even when its claimed expiry
has passed.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from ledger.errors import InvalidInput, VerificationError
from ledger.keys import SIGNATURE_SIZE, PrivateKey, PublicKey

__all__ = [
    "DEFAULT_WINDOW_MS",
    "DOMAIN",
    "NONCE_LENGTH",
    "NonceExpired",
    "NonceInvalid",
    "OverlayNonce",
    "epoch_expiry",
    "issue_nonce",
    "nonce_message",
    "open_nonce",
]

DOMAIN = b"tracemark/overlay/v1\x00"
DEFAULT_WINDOW_MS = 10 * 60 * 1000
_EXPIRY_SIZE = 8
NONCE_LENGTH = 4 * (_EXPIRY_SIZE + SIGNATURE_SIZE) // 3  # 96 base64url characters
_MAX_FIELD = 256


class NonceInvalid(VerificationError):
    """The nonce is malformed, or not signed by the operator for this listing and stream."""

    code = "nonce_invalid"


class NonceExpired(VerificationError):
    """A genuine nonce whose window has passed (the code is from an old stream)."""

    code = "nonce_expired"


@dataclass(frozen=True, slots=True)
class OverlayNonce:
    """A parsed nonce: its expiry (ms) and the operator's signature."""

    expiry: int
    signature: bytes

    @classmethod
    def from_text(cls, text: str) -> OverlayNonce:
        if not isinstance(text, str) or len(text) != NONCE_LENGTH or not text.isascii():
            raise NonceInvalid(f"a nonce is {NONCE_LENGTH} base64url characters")
        try:
            raw = base64.urlsafe_b64decode(text)
        except (binascii.Error, ValueError):
            raise NonceInvalid("the nonce is not base64url") from None
        if base64.urlsafe_b64encode(raw).decode("ascii") != text:
            raise NonceInvalid("the nonce is not canonical base64url")
        return cls(int.from_bytes(raw[:_EXPIRY_SIZE], "big"), raw[_EXPIRY_SIZE:])

    def to_text(self) -> str:
        raw = self.expiry.to_bytes(_EXPIRY_SIZE, "big") + self.signature
        return base64.urlsafe_b64encode(raw).decode("ascii")


def _field(name: str, value: str) -> bytes:
    if not isinstance(value, str) or "\x00" in value or len(value) > _MAX_FIELD:
        raise InvalidInput(f"{name} must be text without NUL, at most {_MAX_FIELD} characters")
    return value.encode("utf-8")


def nonce_message(platform: str, listing: str, stream: str, expiry: int) -> bytes:
    """The exact bytes the operator signs for one overlay nonce."""
    if not 0 <= expiry < 1 << 63:
        raise InvalidInput("a nonce expiry is milliseconds since the epoch, 0 to 2^63-1")
    return b"\x00".join(
        [
            DOMAIN + _field("platform", platform),
            _field("listing", listing),
            _field("stream", stream),
            expiry.to_bytes(_EXPIRY_SIZE, "big"),
        ]
    )


def epoch_expiry(now: int, window_ms: int) -> int:
    """The expiry of the nonce to show at ``now``: epochs of half the window, each valid for
    the whole window from its start, so a shown code has at least half the window left."""
    if window_ms < 2:
        raise InvalidInput("the nonce window must be at least 2 ms")
    half = window_ms // 2
    return now - now % half + window_ms


def issue_nonce(
    key: PrivateKey, platform: str, listing: str, stream: str, *, expiry: int
) -> OverlayNonce:
    """Sign a nonce valid until ``expiry`` (ms) for this platform, listing and stream."""
    message = nonce_message(platform, listing, stream, expiry)
    return OverlayNonce(expiry, key.sign(message))


def open_nonce(
    text: str, key: PublicKey, platform: str, listing: str, stream: str, *, now: int
) -> OverlayNonce:
    """The nonce, if the operator signed it for exactly these fields and it has not expired.

    Raises NonceInvalid (malformed, forged, or made for another listing or stream) or
    NonceExpired (genuine but past its expiry)."""
    nonce = OverlayNonce.from_text(text)
    try:
        message = nonce_message(platform, listing, stream, nonce.expiry)
    except InvalidInput:
        raise NonceInvalid("the nonce does not match this listing and stream") from None
    if not key.verify(nonce.signature, message):
        raise NonceInvalid("the nonce was not issued by the operator for this listing and stream")
    if now >= nonce.expiry:
        raise NonceExpired("the nonce has expired: the code is from an earlier stream")
    return nonce
