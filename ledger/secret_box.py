"""Secrets at rest (webhook signing secrets): AES-256-GCM under a key from the settings.

A sealed secret is the text ``enc:v1:<key id>:<base64url(nonce || ciphertext || tag)>``; the
associated data binds it to its purpose and row (``context``, e.g. the webhook id), so a
sealed value copied to another row does not open. A ``SecretBox`` holds one or more keys,
``<key id>:<base64url of 32 bytes>`` separated by commas or whitespace: the first seals,
every one opens. Rotation: add the new key after the old one everywhere, then put it
first (processes re-seal what they find under another key when they open the platform
tables), then drop the old key once no row uses it. A value without the ``enc:`` prefix is a
secret stored before encryption; it is sealed on the next open.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.errors import InvalidInput, StorageUnavailable

__all__ = ["PREFIX", "SecretBox", "is_sealed", "new_key_text"]

PREFIX = "enc:v1:"
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_DOMAIN = b"tracemark/secret-at-rest/v1\x00"
_NONCE = 12


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key_text(key_id: str) -> str:
    """A fresh key in the settings' form, ``<key id>:<base64url 32 bytes>``."""
    if not _KEY_ID.fullmatch(key_id):
        raise InvalidInput("a key id is 1 to 32 letters, digits, '.', '_' or '-'")
    return f"{key_id}:{_b64(secrets.token_bytes(32))}"


@dataclass(frozen=True, slots=True)
class SecretBox:
    """Seals and opens secrets; ``keys`` are (key id, 32-byte key), the first seals."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise InvalidInput("a secret box needs at least one key")
        ids = [key_id for key_id, _ in self.keys]
        if len(set(ids)) != len(ids):
            raise InvalidInput("each key id may appear once")
        for key_id, key in self.keys:
            if not _KEY_ID.fullmatch(key_id) or len(key) != 32:
                raise InvalidInput(f"key {key_id!r}: an id and 32 bytes are needed")

    @classmethod
    def from_text(cls, text: str, *, name: str = "TRACEMARK_SECRETS_KEY") -> SecretBox:
        """Parse ``id:base64url[, id:base64url ...]``; the message names the setting."""
        keys: list[tuple[str, bytes]] = []
        for item in re.split(r"[\s,]+", text.strip()):
            if not item:
                continue
            key_id, sep, encoded = item.partition(":")
            try:
                key = _unb64(encoded) if sep else b""
            except (binascii.Error, ValueError):
                key = b""
            if not _KEY_ID.fullmatch(key_id) or len(key) != 32:
                raise InvalidInput(
                    f"{name}: each key is <key id>:<base64url of 32 random bytes> "
                    "(docs/operations.md, Webhook secrets at rest)"
                )
            keys.append((key_id, key))
        if not keys:
            raise InvalidInput(f"{name} is empty")
        try:
            return cls(tuple(keys))
        except InvalidInput as exc:
            raise InvalidInput(f"{name}: {exc.message}") from None

    @property
    def key_id(self) -> str:
        """The id of the key that seals."""
        return self.keys[0][0]

    def seal(self, secret: str, *, context: str, nonce: bytes | None = None) -> str:
        """``secret`` sealed under the first key, bound to ``context``."""
        key_id, key = self.keys[0]
        nonce = secrets.token_bytes(_NONCE) if nonce is None else nonce
        if len(nonce) != _NONCE:
            raise InvalidInput("an AES-GCM nonce is 12 bytes")
        sealed = AESGCM(key).encrypt(nonce, secret.encode("utf-8"), _aad(key_id, context))
        return f"{PREFIX}{key_id}:{_b64(nonce + sealed)}"

    def open(self, stored: str, *, context: str) -> str:
        """The secret in ``stored`` (sealed, or plain text from before encryption).
        StorageUnavailable, naming the key id, when no key here opens it."""
        if not is_sealed(stored):
            return stored
        key_id, _, body = stored[len(PREFIX) :].partition(":")
        key = dict(self.keys).get(key_id)
        if key is None:
            raise StorageUnavailable(
                f"a secret is sealed with key id {key_id!r}, which TRACEMARK_SECRETS_KEY lacks "
                f"(it has {', '.join(k for k, _ in self.keys)}): add that key back",
                code="secrets_key_missing",
            )
        try:
            raw = _unb64(body)
            plain = AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], _aad(key_id, context))
            return plain.decode("utf-8")
        except (InvalidTag, binascii.Error, ValueError):
            raise StorageUnavailable(
                f"a secret sealed with key id {key_id!r} does not open: the key set under "
                "that id in TRACEMARK_SECRETS_KEY is not the one it was sealed with",
                code="secrets_key_wrong",
            ) from None

    def current(self, stored: str) -> bool:
        """True when ``stored`` is sealed under the key that seals now."""
        return stored.startswith(f"{PREFIX}{self.key_id}:")


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def _aad(key_id: str, context: str) -> bytes:
    return _DOMAIN + key_id.encode("ascii") + b"\x00" + context.encode("utf-8")
