"""The API's answers as frozen dataclasses, and its requests as TypedDicts.

Each answer type has ``from_json(obj)``: a well-formed object or ``InvalidResponse`` (a field
the API promises is missing or of another type). Fields the client does not know yet are
kept: ``raw`` is the JSON object as the server sent it. The schemas are the served OpenAPI's
(``/openapi.json``: ``VerifyResponse``, ``ListingResult``, ``ItemOut`` ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, TypedDict, TypeVar

from tracemark_client.errors import InvalidResponse

__all__ = [
    "FAILING",
    "STATUSES",
    "Actor",
    "Context",
    "EntryProof",
    "EntryResult",
    "Item",
    "Key",
    "Listing",
    "ListingQuery",
    "ListingVerdict",
    "Proof",
    "Reason",
    "SessionProof",
    "Status",
    "Step",
    "SubmitResult",
    "TimelineStep",
    "Verdict",
    "Webhook",
    "WebhookCreated",
]

Status = Literal["genuine", "suspect", "counterfeit", "recalled", "invalid", "unverified"]
STATUSES: tuple[Status, ...] = (
    "genuine",
    "suspect",
    "counterfeit",
    "recalled",
    "invalid",
    "unverified",
)
#: The statuses a platform must not sell under (a scan's exit 3 in the CLI).
FAILING = frozenset({"counterfeit", "suspect", "recalled"})

T = TypeVar("T")


# --- requests --------------------------------------------------------------------------------


class SessionProof(TypedDict):
    session_id: str
    key_id: str
    time: int
    signature: str


class Context(TypedDict, total=False):
    """Where a code was seen (all optional): ``POST /v1/verify``'s ``context``."""

    platform: str
    stream_id: str
    listing_id: str
    seller: str
    place: str
    nonce: str
    session_proof: SessionProof


class ListingQuery(TypedDict):
    """A listing to verify (``POST /v1/listings/verify``)."""

    seller: str
    platform: str
    listing_id: str
    gtin: str
    quantity: NotRequired[int]
    codes: NotRequired[list[str]]


# --- parsing helpers -------------------------------------------------------------------------


def _obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidResponse(f"the server's {what} is not a JSON object")
    return value


def _get(obj: Mapping[str, Any], name: str, kind: type[T], what: str) -> T:
    value = obj.get(name)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InvalidResponse(f"the server's {what} has no valid {name!r}")
    return value


def _opt(obj: Mapping[str, Any], name: str, kind: type[T], what: str) -> T | None:
    return None if obj.get(name) is None else _get(obj, name, kind, what)


def _strs(obj: Mapping[str, Any], name: str, what: str) -> tuple[str, ...]:
    values = _get(obj, name, list, what)
    if not all(isinstance(v, str) for v in values):
        raise InvalidResponse(f"the server's {what} has a {name!r} that is not strings")
    return tuple(values)


def _list(obj: Mapping[str, Any], name: str, what: str) -> list[Any]:
    return list(obj.get(name) or [])


# --- verdicts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a verdict is what it is: ``code`` (machine-readable), ``message``, ``evidence``."""

    code: str
    message: str
    evidence: Mapping[str, Any]

    @classmethod
    def from_json(cls, value: Any) -> Reason:
        obj = _obj(value, "reason")
        return cls(
            _get(obj, "code", str, "reason"),
            _get(obj, "message", str, "reason"),
            dict(obj.get("evidence") or {}),
        )


@dataclass(frozen=True, slots=True)
class Step:
    """One step of an item's provenance (``index`` in the log)."""

    index: int
    type: str
    actor: str
    time: str
    summary: str

    @classmethod
    def from_json(cls, value: Any) -> Step:
        obj = _obj(value, "provenance step")
        w = "provenance step"
        return cls(
            _get(obj, "index", int, w),
            _get(obj, "type", str, w),
            _get(obj, "actor", str, w),
            _get(obj, "time", str, w),
            _get(obj, "summary", str, w),
        )


@dataclass(frozen=True, slots=True)
class Proof:
    """An RFC 9162 inclusion proof of the item's latest entry, with the signed checkpoint
    (a C2SP signed note) whose root it leads to. Hashes are standard base64."""

    index: int
    tree_size: int
    leaf_hash: str
    inclusion_path: tuple[str, ...]
    checkpoint: str

    @classmethod
    def from_json(cls, value: Any) -> Proof:
        obj = _obj(value, "proof")
        return cls(
            _get(obj, "index", int, "proof"),
            _get(obj, "tree_size", int, "proof"),
            _get(obj, "leaf_hash", str, "proof"),
            _strs(obj, "inclusion_path", "proof"),
            _get(obj, "checkpoint", str, "proof"),
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """``POST /v1/verify``'s answer for one code."""

    status: Status
    source: str
    reasons: tuple[Reason, ...]
    item: Mapping[str, Any]
    provenance: tuple[Step, ...]
    proof: Proof | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def genuine(self) -> bool:
        return self.status == "genuine"

    @property
    def failing(self) -> bool:
        """Counterfeit, suspect or recalled: not to be sold."""
        return self.status in FAILING

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)

    @classmethod
    def from_json(cls, value: Any) -> Verdict:
        obj = _obj(value, "verdict")
        status = obj.get("status")
        if status not in STATUSES:
            raise InvalidResponse(f"the server's verdict has an unknown status {status!r}")
        proof = obj.get("proof")
        return cls(
            status,
            str(obj.get("source") or "anonymous"),
            tuple(Reason.from_json(r) for r in _list(obj, "reasons", "verdict")),
            dict(_obj(obj.get("item") or {}, "verdict's item")),
            tuple(Step.from_json(s) for s in _list(obj, "provenance", "verdict")),
            None if proof is None else Proof.from_json(proof),
            obj,
        )


@dataclass(frozen=True, slots=True)
class ListingVerdict:
    """``POST /v1/listings/verify``'s answer for one listing."""

    platform: str
    listing_id: str
    status: str
    reasons: tuple[Reason, ...]
    seller: Mapping[str, Any]
    stock: Mapping[str, Any]
    recalls: tuple[Mapping[str, Any], ...]
    codes: tuple[Mapping[str, Any], ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, value: Any) -> ListingVerdict:
        obj = _obj(value, "listing verdict")
        w = "listing verdict"
        return cls(
            _get(obj, "platform", str, w),
            _get(obj, "listing_id", str, w),
            _get(obj, "status", str, w),
            tuple(Reason.from_json(r) for r in _list(obj, "reasons", w)),
            dict(obj.get("seller") or {}),
            dict(obj.get("stock") or {}),
            tuple(_list(obj, "recalls", w)),
            tuple(_list(obj, "codes", w)),
            obj,
        )


# --- lookups ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimelineStep:
    index: int
    type: str
    actor: str
    event_time: int
    integrated_time: int
    tz: str
    summary: str

    @classmethod
    def from_json(cls, value: Any) -> TimelineStep:
        obj, w = _obj(value, "timeline step"), "timeline step"
        return cls(
            _get(obj, "index", int, w),
            _get(obj, "type", str, w),
            _get(obj, "actor", str, w),
            _get(obj, "event_time", int, w),
            _get(obj, "integrated_time", int, w),
            str(obj.get("tz") or ""),
            _get(obj, "summary", str, w),
        )


@dataclass(frozen=True, slots=True)
class Item:
    """``GET /v1/items/{gtin}/{serial}``: an item's state and timeline."""

    item_id: str
    gtin: str
    serial: str
    lot: str
    status: str
    custody_status: str
    recalled: bool
    custodian: str
    producer: str
    product: Mapping[str, Any] | None
    timeline: tuple[TimelineStep, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, value: Any) -> Item:
        obj, w = _obj(value, "item"), "item"
        product = obj.get("product")
        return cls(
            _get(obj, "item_id", str, w),
            _get(obj, "gtin", str, w),
            _get(obj, "serial", str, w),
            str(obj.get("lot") or ""),
            _get(obj, "status", str, w),
            str(obj.get("custody_status") or ""),
            _get(obj, "recalled", bool, w),
            str(obj.get("custodian") or ""),
            str(obj.get("producer") or ""),
            None if product is None else dict(_obj(product, "item's product")),
            tuple(TimelineStep.from_json(s) for s in _list(obj, "timeline", w)),
            obj,
        )


@dataclass(frozen=True, slots=True)
class Listing:
    """``GET /v1/listings/{platform}/{listing_id}``: a listing declared in the ledger."""

    platform: str
    listing_id: str
    seller: str
    gtin: str
    quantity: int
    status: str
    stock: int
    backed: bool
    recalled: bool
    reasons: tuple[str, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, value: Any) -> Listing:
        obj, w = _obj(value, "listing"), "listing"
        return cls(
            _get(obj, "platform", str, w),
            _get(obj, "listing_id", str, w),
            _get(obj, "seller", str, w),
            _get(obj, "gtin", str, w),
            _get(obj, "quantity", int, w),
            _get(obj, "status", str, w),
            _get(obj, "stock", int, w),
            _get(obj, "backed", bool, w),
            _get(obj, "recalled", bool, w),
            _strs(obj, "reasons", w),
            obj,
        )


@dataclass(frozen=True, slots=True)
class Key:
    """``GET /v1/keys/{key_id}``: a registered signing key and whom it speaks for."""

    key_id: str
    actor_id: str
    public_key: str
    revoked: bool
    compromised_since: int | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, value: Any) -> Key:
        obj, w = _obj(value, "key"), "key"
        return cls(
            _get(obj, "key_id", str, w),
            _get(obj, "actor_id", str, w),
            _get(obj, "public_key", str, w),
            bool(obj.get("revoked", False)),
            _opt(obj, "compromised_since", int, w),
            obj,
        )


@dataclass(frozen=True, slots=True)
class Actor:
    """``GET /v1/actors/{actor_id}``: a producer, distributor or seller, with its keys."""

    actor_id: str
    role: str
    name: str
    country: str
    verified: bool
    status: str
    handles: tuple[str, ...]
    keys: tuple[Key, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, value: Any) -> Actor:
        obj, w = _obj(value, "actor"), "actor"
        return cls(
            _get(obj, "actor_id", str, w),
            _get(obj, "role", str, w),
            _get(obj, "name", str, w),
            str(obj.get("country") or ""),
            _get(obj, "verified", bool, w),
            _get(obj, "status", str, w),
            _strs(obj, "handles", w) if "handles" in obj else (),
            tuple(Key.from_json(k) for k in _list(obj, "keys", w)),
            obj,
        )


# --- entries ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryProof:
    tree_size: int
    inclusion_path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EntryResult:
    """One submitted entry: appended (``index``, ``leaf_hash``, ``integrated_time``, a
    ``proof`` when the server signed a checkpoint) or refused (``error_code``,
    ``error_message``: a rule of the ledger, not an HTTP error)."""

    index: int | None
    leaf_hash: str | None
    integrated_time: int | None
    proof: EntryProof | None
    error_code: str | None
    error_message: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def accepted(self) -> bool:
        return self.index is not None

    @classmethod
    def from_json(cls, value: Any) -> EntryResult:
        obj, w = _obj(value, "entry result"), "entry result"
        if "error" in obj:
            error = _obj(obj["error"], "entry error")
            code, message = _get(error, "code", str, w), _get(error, "message", str, w)
            return cls(None, None, None, None, code, message, obj)
        proof = obj.get("proof")
        found = None
        if proof is not None:
            proof = _obj(proof, "entry proof")
            found = EntryProof(_get(proof, "tree_size", int, w), _strs(proof, "inclusion_path", w))
        return cls(
            _get(obj, "index", int, w),
            _get(obj, "leaf_hash", str, w),
            _opt(obj, "integrated_time", int, w),
            found,
            None,
            None,
            obj,
        )


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """``POST /v1/entries``: one result per entry, in order, and the checkpoint signed after
    them (a C2SP signed note) when the server holds the operator key."""

    results: tuple[EntryResult, ...]
    checkpoint: str | None

    @classmethod
    def from_json(cls, value: Any, expected: int) -> SubmitResult:
        obj = _obj(value, "answer to POST /v1/entries")
        results = obj.get("results")
        if not isinstance(results, list) or len(results) != expected:
            raise InvalidResponse("the server answered without one result per entry")
        checkpoint = obj.get("checkpoint")
        return cls(
            tuple(EntryResult.from_json(r) for r in results),
            checkpoint if isinstance(checkpoint, str) else None,
        )


# --- webhooks --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]
    created: int

    @classmethod
    def from_json(cls, value: Any) -> Webhook:
        obj, w = _obj(value, "webhook"), "webhook"
        return cls(
            _get(obj, "id", str, w),
            _get(obj, "url", str, w),
            _strs(obj, "events", w),
            _get(obj, "created", int, w),
        )


@dataclass(frozen=True, slots=True)
class WebhookCreated:
    """A new webhook and its signing secret (``whsec_...``), which is shown only once."""

    webhook: Webhook
    secret: str = field(repr=False)

    @classmethod
    def from_json(cls, value: Any) -> WebhookCreated:
        obj = _obj(value, "webhook")
        return cls(Webhook.from_json(obj), _get(obj, "secret", str, "webhook"))
