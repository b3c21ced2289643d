"""C2SP tlog checkpoints and their Ed25519 witness cosignatures. Pure: no I/O, no clock.

Checkpoint body (https://c2sp.org/tlog-checkpoint), a signed note's text::

    <origin>\\n                      non-empty
    <tree size>\\n                   ASCII decimal, no sign, no leading zeros ("0" if empty)
    <base64 of the 32-byte root>\\n  RFC 6962 root hash at that size
    <extension line>\\n ...          optional, each non-empty

Cosignature (https://c2sp.org/tlog-cosignature, signature type 0x04)::

    key id    = SHA-256(name || 0x0A || 0x04 || 32-byte public key)[:4]
    signature = key id || u64 big-endian timestamp || Ed25519(message)
    message   = "cosignature/v1\\ntime <timestamp>\\n" || whole checkpoint body

The "cosignature/v1" header and the type byte in the key id keep cosignatures and plain
note signatures (type 0x01) from ever standing in for each other. Timestamps are
parameters; callers supply the clock.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.errors import InvalidInput, LimitExceeded, SignatureError
from ledger.keys import PrivateKey, PublicKey, verify_signature
from ledger.log.hashing import HASH_SIZE
from ledger.log.note import (
    MAX_NOTE_SIZE,
    Signature,
    Signer,
    Verifier,
    check_key_name,
    decode_base64,
    format_vkey,
    note_key_id,
    open_note,
    parse_note,
    parse_vkey,
    sign_note,
)

__all__ = [
    "COSIGNATURE_TYPE",
    "MAX_TIMESTAMP",
    "Checkpoint",
    "Cosignature",
    "CosignatureVerifier",
    "SignedCheckpoint",
    "cosign_checkpoint",
    "cosignature_message",
    "open_checkpoint",
    "sign_checkpoint",
    "verify_cosignatures",
]

COSIGNATURE_TYPE = 0x04
MAX_TIMESTAMP = (1 << 63) - 1
MAX_TREE_SIZE = (1 << 64) - 1
_TIMESTAMP_SIZE = 8
_ED25519_SIGNATURE_SIZE = 64
_SIZE_PATTERN = re.compile("0|[1-9][0-9]{0,19}")
_COSIGNATURE_HEADER = b"cosignature/v1\ntime "


def _line_problem(line: str) -> str | None:
    for ch in line:
        if ch < " ":
            return f"contains the control character U+{ord(ch):04X}"
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    return None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: origin, tree size, RFC 6962 root hash, optional extension lines."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin:
            raise InvalidInput("checkpoint origin must not be empty")
        problem = _line_problem(self.origin)
        if problem is not None:
            raise InvalidInput(f"checkpoint origin {problem}")
        size = self.tree_size
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_TREE_SIZE:
            raise InvalidInput("checkpoint size must be an integer from 0 to 2^64-1")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise InvalidInput(f"checkpoint root hash must be {HASH_SIZE} bytes")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for number, line in enumerate(self.extensions, 4):
            if not isinstance(line, str) or not line:
                raise InvalidInput(f"checkpoint line {number}: extension lines must not be empty")
            problem = _line_problem(line)
            if problem is not None:
                raise InvalidInput(f"checkpoint line {number}: {problem}")

    @classmethod
    def from_text(cls, text: str, *, origin: str | None = None) -> Checkpoint:
        """Parse a checkpoint body; with ``origin``, also require that origin line."""
        if not isinstance(text, str):
            raise InvalidInput("a checkpoint must be text")
        if len(text) > MAX_NOTE_SIZE:
            raise LimitExceeded(f"the checkpoint is larger than {MAX_NOTE_SIZE} characters")
        if not text.endswith("\n"):
            raise InvalidInput("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise InvalidInput(
                f"a checkpoint has at least 3 lines (origin, size, root hash), got {len(lines)}"
            )
        found_origin, size_text, root_text, *extensions = lines
        if not _SIZE_PATTERN.fullmatch(size_text):
            raise InvalidInput("checkpoint size must be a decimal number without leading zeros")
        if int(size_text) > MAX_TREE_SIZE:
            raise InvalidInput("checkpoint size must be below 2^64")
        root_hash = decode_base64(root_text, "checkpoint root hash")
        if len(root_hash) != HASH_SIZE:
            raise InvalidInput(
                f"checkpoint root hash must be {HASH_SIZE} bytes, got {len(root_hash)}"
            )
        checkpoint = cls(found_origin, int(size_text), root_hash, tuple(extensions))
        if origin is not None and checkpoint.origin != origin:
            raise InvalidInput(f"checkpoint origin is {checkpoint.origin!r}, expected {origin!r}")
        return checkpoint

    def to_text(self) -> str:
        root = base64.b64encode(self.root_hash).decode("ascii")
        lines = [self.origin, str(self.tree_size), root, *self.extensions]
        return "".join(line + "\n" for line in lines)


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint whose log signature verified, with the note it came from.

    ``other_signatures`` are the signature lines from keys other than the log's
    (cosignatures among them); see ``verify_cosignatures``.
    """

    checkpoint: Checkpoint
    note: str
    log_signature: Signature
    other_signatures: tuple[Signature, ...]

    @property
    def text(self) -> str:
        """The note text (the checkpoint body) that the signatures cover."""
        return self.checkpoint.to_text()


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A verified cosignature: which witness vouched for the checkpoint, and when."""

    name: str
    key_id: bytes
    timestamp: int


def _check_timestamp(timestamp: int) -> None:
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise InvalidInput("a cosignature timestamp must be an integer")
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise InvalidInput("a cosignature timestamp must be from 0 to 2^63-1")


def cosignature_message(body: bytes, timestamp: int) -> bytes:
    """The bytes a witness signs: ``cosignature/v1\\ntime <t>\\n`` then the checkpoint body."""
    _check_timestamp(timestamp)
    return _COSIGNATURE_HEADER + str(timestamp).encode("ascii") + b"\n" + body


@dataclass(frozen=True, slots=True)
class CosignatureVerifier:
    """A witness's Ed25519 cosignature (type 0x04) verifier; usable with ``open_note``."""

    name: str
    key_id: bytes
    public_key: PublicKey

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if self.key_id != note_key_id(self.name, COSIGNATURE_TYPE, self.public_key.raw):
            raise InvalidInput(f"key id does not match the cosignature key of {self.name}")

    @property
    def key_type(self) -> int:
        return COSIGNATURE_TYPE

    @classmethod
    def from_public_key(cls, name: str, public_key: PublicKey) -> CosignatureVerifier:
        check_key_name(name)
        return cls(name, note_key_id(name, COSIGNATURE_TYPE, public_key.raw), public_key)

    @classmethod
    def from_vkey(cls, text: str) -> CosignatureVerifier:
        return cls(*parse_vkey(text, COSIGNATURE_TYPE))

    def to_vkey(self) -> str:
        return format_vkey(self.name, COSIGNATURE_TYPE, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True when ``signature`` is ``timestamp || Ed25519 sig`` over the cosigned message."""
        if len(signature) != _TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        signed = cosignature_message(message, timestamp)
        return verify_signature(self.public_key.raw, signature[_TIMESTAMP_SIZE:], signed)


class _Cosigner:
    """A ``Signer`` that makes type 0x04 cosignatures at a fixed timestamp."""

    __slots__ = ("_private_key", "key_id", "name", "timestamp")

    def __init__(self, name: str, private_key: PrivateKey, timestamp: int) -> None:
        check_key_name(name)
        _check_timestamp(timestamp)
        self.name = name
        self.key_id = note_key_id(name, COSIGNATURE_TYPE, private_key.public_key.raw)
        self.timestamp = timestamp
        self._private_key = private_key

    def sign(self, message: bytes) -> bytes:
        signed = cosignature_message(message, self.timestamp)
        stamp = self.timestamp.to_bytes(_TIMESTAMP_SIZE, "big")
        return stamp + self._private_key.sign(signed)


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    """The checkpoint as a signed note carrying the log's signature."""
    return sign_note(checkpoint.to_text(), [signer])


def open_checkpoint(
    note: str | bytes, log_verifier: Verifier, *, origin: str | None = None
) -> SignedCheckpoint:
    """Verify the log's signature on a checkpoint note, then parse the checkpoint.

    Raises SignatureError when the log did not sign it (or its signature fails) and
    InvalidInput for a malformed note or body, or an origin other than ``origin``.
    """
    opened = open_note(note, [log_verifier])
    checkpoint = Checkpoint.from_text(opened.text, origin=origin)
    text = note if isinstance(note, str) else bytes(note).decode("utf-8")
    return SignedCheckpoint(checkpoint, text, opened.verified[0], opened.unverified)


def cosign_checkpoint(
    note: str | bytes, witness_name: str, private_key: PrivateKey, timestamp: int
) -> str:
    """Add (or replace) the witness's cosignature line on a signed checkpoint note.

    Only the structure is checked here: a witness must first verify the log's signature
    (``open_checkpoint``) and the consistency of the tree before vouching for it.
    """
    cosigner = _Cosigner(witness_name, private_key, timestamp)
    parsed = parse_note(note)
    Checkpoint.from_text(parsed.text)
    return sign_note(parsed, [cosigner])


def verify_cosignatures(
    note: str | bytes | SignedCheckpoint,
    witnesses: Iterable[CosignatureVerifier],
    *,
    quorum: int = 1,
) -> tuple[Cosignature, ...]:
    """Verify the cosignatures of known witnesses and return them with their timestamps.

    Raises SignatureError if a known witness's cosignature fails or fewer than ``quorum``
    witnesses cosigned; InvalidInput if the note is malformed or not a checkpoint.
    """
    if quorum < 1:
        raise InvalidInput("a cosignature quorum must be at least 1")
    if isinstance(note, SignedCheckpoint):
        note = note.note
    opened = open_note(note, witnesses)
    Checkpoint.from_text(opened.text)
    cosignatures = tuple(
        Cosignature(sig.name, sig.key_id, int.from_bytes(sig.signature[:_TIMESTAMP_SIZE], "big"))
        for sig in opened.verified
    )
    if len(cosignatures) < quorum:
        raise SignatureError(
            f"{len(cosignatures)} witness cosignature(s) verified, {quorum} required"
        )
    return cosignatures
