"""Ed25519 keys: generation, key ids, signing, verification, PKCS#8 serialization.

Pure: no file I/O here (see ``ledger.keyfile`` for reading and writing key files).

Text forms
    public key   ``ed25519:<base64 of the 32 raw bytes>``
    key id       16 lowercase hex digits:
                 ``SHA-256("tracemark/key-id/v1" || 0x00 || public key)[:8]``

Verification uses libsodium (PyNaCl), the fastest Ed25519 verifier available to Python
here (about 1.8x OpenSSL through ``cryptography`` on this machine). libsodium rejects
non-canonical signatures and small-order public keys; ``PublicKey.from_raw`` applies the
same small-order check up front so a key that could never verify is refused at parse time.
Signing uses ``cryptography``; Ed25519 signatures are deterministic, so both agree.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field

import nacl.bindings
import nacl.exceptions
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ledger.errors import InvalidInput, SignatureError

__all__ = [
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_SIZE",
    "PrivateKey",
    "PublicKey",
    "VerifiedSignatures",
    "key_id_for",
    "verify_signature",
]

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
_KEY_ID_CONTEXT = b"tracemark/key-id/v1\x00"
_TEXT_PREFIX = "ed25519:"
_MAX_PEM_SIZE = 16 * 1024

_crypto_sign_open = nacl.bindings.crypto_sign_open
_BadSignature = nacl.exceptions.BadSignatureError
_CryptoError = nacl.exceptions.CryptoError


def key_id_for(raw_public_key: bytes) -> str:
    """The Tracemark key id (16 hex digits) of a raw 32-byte Ed25519 public key."""
    return hashlib.sha256(_KEY_ID_CONTEXT + raw_public_key).hexdigest()[:16]


def verify_signature(raw_public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message``. Never raises."""
    if len(signature) != SIGNATURE_SIZE or len(raw_public_key) != PUBLIC_KEY_SIZE:
        return False
    try:
        _crypto_sign_open(signature + message, raw_public_key)
    except (_BadSignature, _CryptoError, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A parsed Ed25519 public key. Exists only if well formed."""

    raw: bytes
    key_id: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.raw) != PUBLIC_KEY_SIZE:
            raise InvalidInput(
                f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes, got {len(self.raw)}"
            )
        try:
            Ed25519PublicKey.from_public_bytes(self.raw)
        except ValueError:
            raise InvalidInput("not a valid Ed25519 public key") from None
        object.__setattr__(self, "key_id", key_id_for(self.raw))

    @classmethod
    def from_raw(cls, raw: bytes) -> PublicKey:
        return cls(bytes(raw))

    @classmethod
    def from_text(cls, text: str) -> PublicKey:
        """Parse ``ed25519:<base64>``."""
        if not isinstance(text, str) or not text.startswith(_TEXT_PREFIX):
            raise InvalidInput(f"a public key must look like '{_TEXT_PREFIX}<base64>'")
        body = text[len(_TEXT_PREFIX) :]
        if len(body) != 44:
            raise InvalidInput("a public key's base64 part must be 44 characters")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("a public key's base64 part is not valid base64") from None
        return cls(raw)

    def to_text(self) -> str:
        return _TEXT_PREFIX + base64.b64encode(self.raw).decode("ascii")

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True when the signature is valid for this key; never raises."""
        return verify_signature(self.raw, signature, message)

    def require(self, signature: bytes, message: bytes, what: str = "signature") -> None:
        """Raise SignatureError unless the signature is valid for this key."""
        if not verify_signature(self.raw, signature, message):
            raise SignatureError(f"{what} does not verify with key {self.key_id}")

    def to_pem(self) -> bytes:
        return Ed25519PublicKey.from_public_bytes(self.raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


class VerifiedSignatures:
    """A bounded memo of signatures that verified: (public key, signature, message) triples.

    Ed25519 verification is a pure function of the triple, so a triple that verified once
    verifies again; Bitcoin Core keeps such a cache for the same reason. A livestream's
    viewers scan the same few codes thousands of times, and the check costs more than the
    rest of a verify's reads. Only successes are kept, under the exact bytes (no digest
    that could collide), so the cache can never make a bad signature pass; a failure is
    checked again each time. Which key may sign what, and whether it was revoked, is not
    the cache's business: callers decide that from the ledger on every check. Full, it
    starts over (``max_entries`` triples of about 250 bytes each). Safe across threads."""

    __slots__ = ("_seen", "max_entries")

    def __init__(self, max_entries: int = 32_768) -> None:
        self.max_entries = max_entries
        self._seen: set[bytes] = set()

    def __len__(self) -> int:
        return len(self._seen)

    def verify(self, key: PublicKey, signature: bytes, message: bytes) -> bool:
        """``key.verify(signature, message)``, remembered when it is True."""
        if len(signature) != SIGNATURE_SIZE:  # never valid; and the triple is unambiguous
            return False  # only with a fixed-size key and signature before the message
        triple = key.raw + signature + message
        if triple in self._seen:
            return True
        if not key.verify(signature, message):
            return False
        if len(self._seen) >= self.max_entries:
            self._seen = set()
        self._seen.add(triple)
        return True


class PrivateKey:
    """An Ed25519 private key. Holds the secret; never printed or compared by value."""

    __slots__ = ("_key", "public_key")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key = PublicKey(key.public_key().public_bytes_raw())

    def __repr__(self) -> str:
        return f"PrivateKey(key_id={self.public_key.key_id})"

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> PrivateKey:
        """Derive the key from its 32-byte seed (RFC 8032 private key)."""
        if len(seed) != 32:
            raise InvalidInput(f"an Ed25519 seed is 32 bytes, got {len(seed)}")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def key_id(self) -> str:
        return self.public_key.key_id

    def seed(self) -> bytes:
        return self._key.private_bytes_raw()

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def to_pkcs8_pem(self, passphrase: bytes | None) -> bytes:
        """PKCS#8 PEM, encrypted with the best available scheme when a passphrase is given."""
        encryption: serialization.KeySerializationEncryption
        if passphrase:
            encryption = serialization.BestAvailableEncryption(passphrase)
        else:
            encryption = serialization.NoEncryption()
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @classmethod
    def from_pkcs8_pem(cls, data: bytes, passphrase: bytes | None) -> PrivateKey:
        """Parse a PKCS#8 PEM private key; wrong passphrase or bad data raise InvalidInput."""
        if len(data) > _MAX_PEM_SIZE:
            raise InvalidInput("the key file is too large to be an Ed25519 PEM key")
        encrypted = b"ENCRYPTED PRIVATE KEY" in data
        if encrypted and not passphrase:
            raise InvalidInput("the key file is encrypted: a passphrase is needed")
        try:
            key = serialization.load_pem_private_key(
                data, password=passphrase if encrypted else None
            )
        except (ValueError, TypeError, UnsupportedAlgorithm):
            if encrypted:
                raise InvalidInput(
                    "cannot decrypt the key file: wrong passphrase or damaged file"
                ) from None
            raise InvalidInput("not a PKCS#8 PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise InvalidInput("the key file holds a key that is not Ed25519")
        return cls(key)
