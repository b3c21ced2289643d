"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys. Pure: no I/O.

A signed note is a text ending in a newline, a blank line, and one or more signature lines::

    <text>\\n
    \\n
    — <key name> base64(4-byte key id || signature)\\n

    key id (type t) = SHA-256(key name || 0x0A || t || public key)[:4]
    vkey            = <name>+<8 hex key id>+base64(t || public key)
    skey            = PRIVATE+KEY+<name>+<8 hex key id>+base64(0x01 || 32-byte seed)

Type 0x01 (``NoteVerifier``, ``NoteSigner``) signs the text with Ed25519; other types plug
in through the ``Verifier``/``Signer`` protocols (type 0x04 cosignatures:
``ledger.log.checkpoint``).
The key id hashes the type byte, so one type's signature is never checked as another's.

Opening follows Go's ``golang.org/x/mod/sumdb/note``, stricter in three ways: base64 must be
canonical, every signature of a known key is verified (Go skips a key's repeats), and a note
is at most ``MAX_NOTE_SIZE`` bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger.errors import InvalidInput, LimitExceeded, SignatureError
from ledger.keys import PrivateKey, PublicKey, verify_signature

__all__ = [
    "ED25519_TYPE",
    "MAX_NOTE_SIZE",
    "MAX_SIGNATURES",
    "Note",
    "NoteSigner",
    "NoteVerifier",
    "OpenedNote",
    "Signature",
    "Signer",
    "Verifier",
    "check_key_name",
    "decode_base64",
    "format_vkey",
    "note_key_id",
    "open_note",
    "parse_note",
    "parse_vkey",
    "sign_note",
]

ED25519_TYPE = 0x01
MAX_NOTE_SIZE = 1 << 20
MAX_SIGNATURES = 100
KEY_ID_SIZE = 4
_SIG_PREFIX = "\u2014 "
_SKEY_PREFIX = "PRIVATE+KEY+"
_HEX_DIGITS = frozenset("0123456789abcdef")
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f]")


class Verifier(Protocol):
    """Checks signatures made by one key; looked up by ``(name, key_id)``."""

    @property
    def name(self) -> str: ...
    @property
    def key_id(self) -> bytes: ...
    def verify(self, message: bytes, signature: bytes) -> bool: ...


class Signer(Protocol):
    """Signs note texts with one key; ``sign`` returns the bytes after the key id."""

    @property
    def name(self) -> str: ...
    @property
    def key_id(self) -> bytes: ...
    def sign(self, message: bytes) -> bytes: ...


def _name_problem(name: str) -> str | None:
    if not name:
        return "is empty"
    if "+" in name:
        return "contains '+'"
    if any(ch.isspace() or ch < " " or ch == "\x7f" for ch in name):
        return "contains whitespace or a control character"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    return None


def check_key_name(name: str) -> None:
    """Raise InvalidInput unless ``name`` is a valid key name (non-empty, no space or '+')."""
    if not isinstance(name, str):
        raise InvalidInput("a key name must be a string")
    problem = _name_problem(name)
    if problem is not None:
        raise InvalidInput(f"key name {name!r} {problem}")


def note_key_id(name: str, key_type: int, public_key: bytes) -> bytes:
    """``SHA-256(name || 0x0A || key_type || public_key)[:4]``."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([key_type]) + public_key)
    return digest.digest()[:KEY_ID_SIZE]


def decode_base64(text: str, what: str) -> bytes:
    """Decode canonical standard base64 (padded, nothing else round-trips) or raise."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise InvalidInput(f"{what} is not canonical base64")
    return raw


def _split_key(text: str, key_type: int, what: str) -> tuple[str, bytes, bytes]:
    """Split ``<name>+<hex key id>+base64(type || 32 bytes)``; the base64 may hold '+'."""
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise InvalidInput(f"{what} must look like '<name>+<key id>+<base64 key>'")
    name, key_id_hex, encoded = parts
    check_key_name(name)
    if len(key_id_hex) != 8 or not _HEX_DIGITS.issuperset(key_id_hex):
        raise InvalidInput(f"{what} key id must be 8 lowercase hex digits")
    material = decode_base64(encoded, what)
    if not material or material[0] != key_type:
        found = f"0x{material[0]:02x}" if material else "none"
        raise InvalidInput(f"{what} has signature type {found}, expected 0x{key_type:02x}")
    if len(material) != 33:
        raise InvalidInput(f"{what} holds {len(material) - 1} key bytes, expected 32")
    return name, bytes.fromhex(key_id_hex), material[1:]


def parse_vkey(text: str, key_type: int) -> tuple[str, bytes, PublicKey]:
    """Parse ``<name>+<hex key id>+base64(type || key)`` into (name, key id, public key)."""
    if not isinstance(text, str):
        raise InvalidInput("a verifier key must be a string")
    name, key_id, raw = _split_key(text, key_type, "verifier key")
    if note_key_id(name, key_type, raw) != key_id:
        raise InvalidInput(f"verifier key {name}+{key_id.hex()}: key id does not match the key")
    return name, key_id, PublicKey.from_raw(raw)


def format_vkey(name: str, key_type: int, public_key: PublicKey) -> str:
    """Render a vkey; the inverse of ``parse_vkey``."""
    key_id = note_key_id(name, key_type, public_key.raw)
    material = base64.b64encode(bytes([key_type]) + public_key.raw).decode("ascii")
    return f"{name}+{key_id.hex()}+{material}"


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """An Ed25519 (type 0x01) note verifier. Build with ``from_vkey`` or ``from_public_key``."""

    name: str
    key_id: bytes
    public_key: PublicKey

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if self.key_id != note_key_id(self.name, ED25519_TYPE, self.public_key.raw):
            raise InvalidInput(f"key id does not match the key of {self.name}")

    @property
    def key_type(self) -> int:
        return ED25519_TYPE

    @classmethod
    def from_public_key(cls, name: str, public_key: PublicKey) -> NoteVerifier:
        check_key_name(name)
        return cls(name, note_key_id(name, ED25519_TYPE, public_key.raw), public_key)

    @classmethod
    def from_vkey(cls, text: str) -> NoteVerifier:
        return cls(*parse_vkey(text, ED25519_TYPE))

    def to_vkey(self) -> str:
        return format_vkey(self.name, ED25519_TYPE, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        return verify_signature(self.public_key.raw, signature, message)


class NoteSigner:
    """An Ed25519 (type 0x01) note signer: a key name and a private key."""

    __slots__ = ("_private_key", "key_id", "name")

    def __init__(self, name: str, private_key: PrivateKey) -> None:
        check_key_name(name)
        self.name = name
        self._private_key = private_key
        self.key_id = note_key_id(name, ED25519_TYPE, private_key.public_key.raw)

    def __repr__(self) -> str:
        return f"NoteSigner(name={self.name!r}, key_id={self.key_id.hex()})"

    @classmethod
    def from_skey(cls, text: str) -> NoteSigner:
        """Parse ``PRIVATE+KEY+<name>+<hex key id>+base64(0x01 || seed)``."""
        if not isinstance(text, str) or not text.startswith(_SKEY_PREFIX):
            raise InvalidInput(f"a signer key must start with '{_SKEY_PREFIX}'")
        name, key_id, seed = _split_key(text[len(_SKEY_PREFIX) :], ED25519_TYPE, "signer key")
        signer = cls(name, PrivateKey.from_seed(seed))
        if signer.key_id != key_id:
            raise InvalidInput(f"signer key {name}+{key_id.hex()}: key id does not match the key")
        return signer

    def to_skey(self) -> str:
        """The secret skey text. Handle it like the private key it is."""
        material = base64.b64encode(bytes([ED25519_TYPE]) + self._private_key.seed())
        return f"{_SKEY_PREFIX}{self.name}+{self.key_id.hex()}+{material.decode('ascii')}"

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self.key_id, self._private_key.public_key)

    def to_vkey(self) -> str:
        return self.verifier.to_vkey()

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)


@dataclass(frozen=True, slots=True)
class Signature:
    """One signature line: key name, 4-byte key id, and the signature bytes after the id."""

    name: str
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        check_key_name(self.name)
        if len(self.key_id) != KEY_ID_SIZE:
            raise InvalidInput(f"a key id is {KEY_ID_SIZE} bytes, got {len(self.key_id)}")
        if not self.signature:
            raise InvalidInput("a signature must not be empty")

    @property
    def line(self) -> str:
        """The signature line, including its final newline."""
        encoded = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{_SIG_PREFIX}{self.name} {encoded}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A structurally valid signed note whose signatures have NOT been verified."""

    text: str
    signatures: tuple[Signature, ...]


@dataclass(frozen=True, slots=True)
class OpenedNote:
    """A note with at least one verified signature; ``unverified`` are from unknown keys."""

    text: str
    verified: tuple[Signature, ...]
    unverified: tuple[Signature, ...]


def _check_text(text: str, what: str) -> bytes:
    """Return the UTF-8 of a well-formed note text or raise InvalidInput."""
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be a string")
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} is not valid UTF-8") from None
    if len(encoded) > MAX_NOTE_SIZE:
        raise LimitExceeded(f"{what} is larger than {MAX_NOTE_SIZE} bytes")
    control = _CONTROL.search(text)
    if control is not None:
        raise InvalidInput(f"{what} contains the control character U+{ord(control[0]):04X}")
    if not text.endswith("\n"):
        raise InvalidInput(f"{what} must end with a newline")
    return encoded


def _parse_signature_line(line: str, number: int) -> Signature:
    where = f"signature line {number}"
    if not line.startswith(_SIG_PREFIX):
        raise InvalidInput(f"{where}: does not start with an em dash and a space")
    name, _, encoded = line[len(_SIG_PREFIX) :].partition(" ")
    problem = _name_problem(name)
    if problem is not None:
        raise InvalidInput(f"{where}: key name {name!r} {problem}")
    if not encoded:
        raise InvalidInput(f"{where}: has no signature")
    raw = decode_base64(encoded, f"{where}: signature")
    if len(raw) <= KEY_ID_SIZE:
        raise InvalidInput(f"{where}: signature is too short ({len(raw)} bytes)")
    return Signature(name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:])


def _decode_note(note: str | bytes) -> str:
    if not isinstance(note, str | bytes | bytearray):
        raise InvalidInput("a note must be text or bytes")
    if len(note) > MAX_NOTE_SIZE:
        raise LimitExceeded(f"the note is larger than {MAX_NOTE_SIZE} bytes")
    if isinstance(note, str):
        return note
    try:
        return bytes(note).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the note is not valid UTF-8") from None


def parse_note(note: str | bytes) -> Note:
    """Split a signed note into its text and signature lines. Verifies nothing."""
    decoded = _decode_note(note)
    _check_text(decoded, "the note")
    split = decoded.rfind("\n\n")
    if split < 0:
        raise InvalidInput("the note has no blank line before its signatures")
    text, block = decoded[: split + 1], decoded[split + 2 :]
    if not block:
        raise InvalidInput("the note has no signature lines")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise LimitExceeded(f"the note has more than {MAX_SIGNATURES} signature lines")
    signatures = tuple(_parse_signature_line(line, i) for i, line in enumerate(lines, 1))
    return Note(text, signatures)


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> OpenedNote:
    """Parse a note and verify it: at least one known key must have signed it.

    Signatures from unknown ``(name, key id)`` pairs are returned as unverified. A
    signature from a known key that fails raises SignatureError, as does a note that no
    known key signed. Repeated signatures of one key (or identical unknown lines) are kept
    once. Malformed notes raise InvalidInput.
    """
    parsed = parse_note(note)
    known: dict[tuple[str, bytes], Verifier] = {}
    for candidate in verifiers:
        key = (candidate.name, bytes(candidate.key_id))
        if known.setdefault(key, candidate) != candidate:
            raise InvalidInput(f"two verifiers share the name and key id {key[0]}+{key[1].hex()}")
    message = parsed.text.encode("utf-8")
    verified: dict[tuple[str, bytes], Signature] = {}
    unverified: dict[Signature, None] = {}
    for number, sig in enumerate(parsed.signatures, 1):
        key = (sig.name, sig.key_id)
        verifier = known.get(key)
        if verifier is None:
            unverified.setdefault(sig)
            continue
        if not verifier.verify(message, sig.signature):
            who = f"{sig.name}+{sig.key_id.hex()}"
            raise SignatureError(f"signature line {number}: signature of {who} does not verify")
        verified.setdefault(key, sig)
    if not verified:
        raise SignatureError("the note has no valid signature from a trusted key")
    return OpenedNote(parsed.text, tuple(verified.values()), tuple(unverified))


def sign_note(note: str | Note | OpenedNote, signers: Sequence[Signer]) -> str:
    """Sign a text, or add signatures to an already signed note, as Go's ``note.Sign``.

    A ``str`` is always the text to sign. For a ``Note`` or ``OpenedNote`` the existing
    signatures are kept (verified ones first), except those of a key that signs again, and
    the new signature lines follow them.
    """
    if isinstance(note, Note):
        text, existing = note.text, note.signatures
    elif isinstance(note, OpenedNote):
        text, existing = note.text, note.verified + note.unverified
    else:
        text, existing = note, ()
    message = _check_text(text, "the note text")
    if not signers:
        raise InvalidInput("signing a note needs at least one signer")
    fresh: dict[tuple[str, bytes], Signature] = {}
    for signer in signers:
        check_key_name(signer.name)
        key = (signer.name, bytes(signer.key_id))
        if key in fresh:
            raise InvalidInput(f"two signers share the name and key id {key[0]}+{key[1].hex()}")
        fresh[key] = Signature(signer.name, key[1], signer.sign(message))
    kept = [sig for sig in existing if (sig.name, sig.key_id) not in fresh]
    lines = [sig.line for sig in (*kept, *fresh.values())]
    if len(lines) > MAX_SIGNATURES:
        raise LimitExceeded(f"a note may carry at most {MAX_SIGNATURES} signatures")
    signed = text + "\n" + "".join(lines)
    if len(signed.encode("utf-8")) > MAX_NOTE_SIZE:
        raise LimitExceeded(f"the signed note would be larger than {MAX_NOTE_SIZE} bytes")
    return signed
