"""Log entries: the signed envelope, the registry of entry types, and the stored leaf.

Envelope (what a signer submits), canonical JSON (RFC 8785)::

    {"body": {...}, "signature": "<base64 64 bytes>", "signer": "<key id>", "type": "<name>"}

The signature covers domain-separated bytes, so no signature made for one purpose verifies
for another (item codes, checkpoints and cosignatures use other contexts)::

    "tracemark/entry/" || type || "/v" || version || 0x00 || canonical(body)

Signed notes never contain a NUL byte, so these messages can never be note texts.

Leaf (what the log stores and hashes): the envelope plus the sequencer's integrated time
in milliseconds, canonical JSON with keys ``body, signature, signer, time, type``. The time
is inside the leaf so that it is covered by the tree, like RFC 6962's timestamp.

Replays: ``Envelope.statement_hash`` = SHA-256(signer || 0x00 || signed message) is unique
in the log, whatever the signature bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger.errors import InvalidInput, LimitExceeded
from ledger.keys import SIGNATURE_SIZE, PrivateKey, PublicKey
from ledger.log.canonical import canonical_json, parse_json
from ledger.log.hashing import leaf_hash

__all__ = [
    "GENESIS",
    "MAX_BODY_SIZE",
    "MAX_ENTRY_SIZE",
    "NOTICE",
    "EntryType",
    "Envelope",
    "LogEntry",
    "entry_type",
    "register_entry_type",
    "registered_types",
    "sign_entry",
    "signing_message",
]

MAX_BODY_SIZE = 256 * 1024
MAX_ENTRY_SIZE = MAX_BODY_SIZE + 1024
_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_ENVELOPE_KEYS = frozenset({"body", "signature", "signer", "type"})
_LEAF_KEYS = _ENVELOPE_KEYS | {"time"}
#: What ``tracemark log show --json`` prints beside the envelope's fields.
_HASH_KEYS = ("leaf_hash", "chain_hash")
_SHOWN_KEYS = frozenset({"index", "integrated_time", *_HASH_KEYS})

BodyValidator = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True, slots=True)
class EntryType:
    """A kind of log entry: its name, version and the validator of its body."""

    name: str
    version: int
    validate: BodyValidator

    @property
    def context(self) -> bytes:
        return f"tracemark/entry/{self.name}/v{self.version}".encode("ascii") + b"\x00"


_REGISTRY: dict[str, EntryType] = {}


def register_entry_type(name: str, validate: BodyValidator, version: int = 1) -> EntryType:
    """Add an entry type. Later issues register actors, keys, events, listings, ..."""
    if not _TYPE_RE.fullmatch(name) or len(name) > 64:
        raise InvalidInput(f"entry type name {name!r} is not of the form 'word.word'")
    if name in _REGISTRY and _REGISTRY[name] != EntryType(name, version, validate):
        raise InvalidInput(f"entry type {name!r} is already registered")
    kind = EntryType(name, version, validate)
    _REGISTRY[name] = kind
    return kind


def registered_types() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def entry_type(name: object) -> EntryType:
    if not isinstance(name, str) or name not in _REGISTRY:
        known = ", ".join(registered_types())
        raise InvalidInput(f"unknown entry type {name!r} (known: {known})", code="unknown_type")
    return _REGISTRY[name]


def signing_message(kind: EntryType, body_bytes: bytes) -> bytes:
    """The exact bytes an entry signature covers."""
    return kind.context + body_bytes


def _b64decode(text: object, what: str) -> bytes:
    if not isinstance(text, str) or len(text) > 200:
        raise InvalidInput(f"{what} must be a short base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not valid base64") from None


@dataclass(frozen=True, slots=True)
class Envelope:
    """A signed entry as submitted. Exists only if well formed (signature not yet checked)."""

    kind: EntryType
    body: Mapping[str, Any]
    body_bytes: bytes
    signer: str
    signature: bytes

    @property
    def type(self) -> str:
        return self.kind.name

    @classmethod
    def from_obj(cls, obj: object) -> Envelope:
        if not isinstance(obj, dict):
            raise InvalidInput("an entry must be a JSON object")
        keys = set(obj)
        if keys != _ENVELOPE_KEYS:
            missing = ", ".join(sorted(_ENVELOPE_KEYS - keys)) or "none"
            extra = ", ".join(sorted(keys - _ENVELOPE_KEYS)) or "none"
            raise InvalidInput(f"entry fields wrong: missing {missing}; unexpected {extra}")
        kind = entry_type(obj["type"])
        signer = obj["signer"]
        if not isinstance(signer, str) or not _KEY_ID_RE.fullmatch(signer):
            raise InvalidInput("entry signer must be a key id of 16 lowercase hex digits")
        signature = _b64decode(obj["signature"], "entry signature")
        if len(signature) != SIGNATURE_SIZE:
            raise InvalidInput(f"entry signature must be {SIGNATURE_SIZE} bytes")
        body = obj["body"]
        if not isinstance(body, dict):
            raise InvalidInput("entry body must be a JSON object")
        body_bytes = canonical_json(body)
        if len(body_bytes) > MAX_BODY_SIZE:
            raise LimitExceeded(f"entry body exceeds {MAX_BODY_SIZE} bytes")
        kind.validate(body)
        return cls(kind, body, body_bytes, signer, signature)

    @classmethod
    def from_json(cls, data: bytes | str) -> Envelope:
        return cls.from_obj(parse_json(data, max_size=MAX_ENTRY_SIZE))

    def to_obj(self) -> dict[str, Any]:
        return {
            "body": self.body,
            "signature": base64.b64encode(self.signature).decode("ascii"),
            "signer": self.signer,
            "type": self.kind.name,
        }

    def to_json(self) -> bytes:
        return canonical_json(self.to_obj())

    def message(self) -> bytes:
        return signing_message(self.kind, self.body_bytes)

    @property
    def statement_hash(self) -> bytes:
        """Unique per (signer, type, body): the log refuses a second copy (replay)."""
        return hashlib.sha256(self.signer.encode("ascii") + b"\x00" + self.message()).digest()

    def verify(self, key: PublicKey) -> bool:
        return key.key_id == self.signer and key.verify(self.signature, self.message())

    def leaf_bytes(self, integrated_time: int) -> bytes:
        """The canonical leaf: this envelope plus the integrated time (milliseconds)."""
        if not isinstance(integrated_time, int) or not 0 <= integrated_time < 2**53:
            raise InvalidInput("integrated time must be non-negative milliseconds")
        sig = base64.b64encode(self.signature)
        return b"".join(
            (
                b'{"body":',
                self.body_bytes,
                b',"signature":"',
                sig,
                b'","signer":"',
                self.signer.encode("ascii"),
                b'","time":',
                str(integrated_time).encode("ascii"),
                b',"type":"',
                self.kind.name.encode("ascii"),
                b'"}',
            )
        )


def sign_entry(kind_name: str, body: Mapping[str, Any], key: PrivateKey) -> Envelope:
    """Build and sign an envelope; the body is validated first."""
    kind = entry_type(kind_name)
    body_dict = dict(body)
    kind.validate(body_dict)
    body_bytes = canonical_json(body_dict)
    if len(body_bytes) > MAX_BODY_SIZE:
        raise LimitExceeded(f"entry body exceeds {MAX_BODY_SIZE} bytes")
    signature = key.sign(signing_message(kind, body_bytes))
    return Envelope(kind, body_dict, body_bytes, key.key_id, signature)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """An entry as stored in the log: its index, envelope and integrated time."""

    index: int
    envelope: Envelope
    integrated_time: int
    leaf: bytes

    @classmethod
    def from_leaf(cls, index: int, leaf: bytes) -> LogEntry:
        """Parse stored leaf bytes; they must be exactly canonical."""
        obj = parse_json(leaf, max_size=MAX_ENTRY_SIZE)
        if not isinstance(obj, dict) or set(obj) != _LEAF_KEYS:
            raise InvalidInput(f"entry {index}: stored leaf does not have the leaf fields")
        integrated_time = obj.pop("time")
        if not isinstance(integrated_time, int) or isinstance(integrated_time, bool):
            raise InvalidInput(f"entry {index}: integrated time is not an integer")
        envelope = Envelope.from_obj(obj)
        if envelope.leaf_bytes(integrated_time) != leaf:
            raise InvalidInput(f"entry {index}: stored leaf is not in canonical form")
        return cls(index, envelope, integrated_time, leaf)

    @classmethod
    def from_shown(cls, obj: object) -> LogEntry:
        """Parse an entry as ``tracemark log show --json`` prints it: the envelope's fields
        (``type``, ``signer``, ``signature``, ``body``) and ``index``, ``integrated_time``,
        ``leaf_hash`` and ``chain_hash`` (base64).

        Nothing beside the envelope is taken on trust: the leaf is rebuilt from the envelope
        and ``integrated_time``, and ``leaf_hash`` must be its hash, so an edited body, type
        or time is refused. ``index`` and ``chain_hash`` only say where the entry sits in a
        log, which a lone entry cannot check (an inclusion proof can): both must be well
        formed, and are otherwise ignored (``index`` is kept for messages)."""
        if not isinstance(obj, dict):
            raise InvalidInput("a log entry must be a JSON object")
        keys = set(obj)
        if keys != _ENVELOPE_KEYS | _SHOWN_KEYS:
            expected = _ENVELOPE_KEYS | _SHOWN_KEYS
            missing = ", ".join(sorted(expected - keys)) or "none"
            extra = ", ".join(sorted(keys - expected)) or "none"
            raise InvalidInput(f"log entry fields wrong: missing {missing}; unexpected {extra}")
        index, integrated_time = obj["index"], obj["integrated_time"]
        for name, value in (("index", index), ("integrated_time", integrated_time)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidInput(f"log entry {name} must be a non-negative integer")
        hashes = {name: _b64decode(obj[name], f"log entry {name}") for name in _HASH_KEYS}
        for name, value in hashes.items():
            if len(value) != 32:
                raise InvalidInput(f"log entry {name} must be 32 bytes")
        envelope = Envelope.from_obj({k: obj[k] for k in _ENVELOPE_KEYS})
        leaf = envelope.leaf_bytes(integrated_time)
        if leaf_hash(leaf) != hashes["leaf_hash"]:
            raise InvalidInput(
                f"log entry {index}: leaf_hash is not the hash of this entry and integrated "
                "time (edited after it was printed?)"
            )
        return cls(index, envelope, integrated_time, leaf)


# --- The operator's genesis entry: entry 0 of every log -------------------------------

GENESIS = "log.genesis"
_ORIGIN_RE = re.compile(r"^[\x21-\x7e]{1,200}$")


def _validate_genesis(body: Mapping[str, Any]) -> None:
    expected = {"origin", "operator", "key"}
    if set(body) != expected:
        raise InvalidInput("genesis body needs exactly: origin, operator, key")
    origin = body["origin"]
    if not isinstance(origin, str) or not _ORIGIN_RE.fullmatch(origin) or "+" in origin:
        raise InvalidInput("genesis origin must be printable ASCII without spaces or '+'")
    operator = body["operator"]
    if not isinstance(operator, dict) or set(operator) != {"id", "name"}:
        raise InvalidInput("genesis operator needs exactly: id, name")
    if operator["id"] != "operator":
        raise InvalidInput("genesis operator id must be 'operator' (the operator's actor id)")
    name = operator["name"]
    if not isinstance(name, str) or not 0 < len(name) <= 200 or not name.isprintable():
        raise InvalidInput("genesis operator name must be 1 to 200 printable characters")
    PublicKey.from_text(body["key"])


register_entry_type(GENESIS, _validate_genesis)


# --- Operator notices: statements the operator publishes in its own log -----------------

NOTICE = "log.notice"


def _validate_notice(body: Mapping[str, Any]) -> None:
    if set(body) - {"title", "text", "ref"} or "title" not in body:
        raise InvalidInput("notice body needs a title, and may have text and ref")
    for name, limit in (("title", 200), ("text", 4000), ("ref", 200)):
        value = body.get(name, "")
        if not isinstance(value, str) or len(value) > limit:
            raise InvalidInput(f"notice {name} must be a string of at most {limit} characters")
    if not body["title"]:
        raise InvalidInput("notice title must not be empty")


register_entry_type(NOTICE, _validate_notice)
