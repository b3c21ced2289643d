"""Routes: the ledger (submit signed entries, read keys, items, actors and listings).

    POST /v1/entries                          {"entries": [envelope, ...]} (at most 1,000)
    GET  /v1/keys/{key_id}                    a registered key, its actor and revocation
    GET  /v1/items/{gtin}/{serial}            an item's state and timeline
    GET  /v1/actors/{actor_id}                an actor and its keys
    GET  /v1/listings/{platform}/{listing_id} is the listing backed by genuine stock?

``POST /v1/entries`` is the contract of the CLI's ``RemoteSubmitter`` (api/submit.py): one
result per envelope, in order, ``{"index", "leaf_hash"}`` or ``{"error": {"code",
"message"}}``. A malformed envelope fails alone; a body of another shape is a 422.
Accepted entries come with an inclusion proof against the checkpoint returned with them.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from api.app import state_of
from api.routes.log import ERRORS, MAX_ENTRIES, ErrorBody, b64, fresh_checkpoint, log_state
from ledger import errors
from ledger.codes.gs1 import gtin14, validate_serial
from ledger.codes.identifiers import item_id
from ledger.log.entries import Envelope
from ledger.provenance.records import KeyRecord
from ledger.usecases.append import Accepted
from ledger.usecases.service import now_ms

__all__ = ["router"]

log = logging.getLogger("tracemark")
router = APIRouter(tags=["ledger"], responses=ERRORS)

_ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "body", "signer", "signature"],
    "properties": {
        "type": {"type": "string", "examples": ["event.commission"]},
        "body": {"type": "object"},
        "signer": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
        "signature": {"type": "string", "description": "base64 of 64 bytes"},
    },
}


class EntriesRequest(BaseModel):
    """Signed envelopes (docs/format.md), appended in order."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "entries": [
                        {
                            "type": "event.commission",
                            "body": {"gtin": "08930001000018", "serials": {"list": ["A1", "A2"]}},
                            "signer": "3db244f1f306e980",
                            "signature": "<base64 of 64 bytes>",
                        }
                    ]
                }
            ]
        },
    )

    entries: list[Any] = Field(
        ...,
        min_length=1,
        description=f"At most {MAX_ENTRIES} envelopes (413 too_many_entries beyond).",
        json_schema_extra={"items": _ENVELOPE_SCHEMA, "maxItems": MAX_ENTRIES},
    )


class EntryProof(BaseModel):
    tree_size: int
    inclusion_path: list[str] = Field(..., description="base64 hashes, RFC 9162 order")


class AcceptedResult(BaseModel):
    index: int
    leaf_hash: str = Field(..., description="base64 SHA-256(0x00 || leaf)")
    integrated_time: int
    proof: EntryProof | None = Field(None, description="against the returned checkpoint")


class RejectedResult(BaseModel):
    error: ErrorBody


class SubmitEntriesResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {
                            "index": 12,
                            "leaf_hash": "dneeIrYT3nyoHYYD9lOtTN0QZVrWDCysIrkF2zzn3kA=",
                            "integrated_time": 1796600000000,
                            "proof": {"tree_size": 13, "inclusion_path": ["<base64 hash>"]},
                        },
                        {"error": {"code": "signature_invalid", "message": "..."}},
                    ],
                    "checkpoint": "vt.example.vn/log\n13\n<base64 root hash>\n\n— ...\n",
                }
            ]
        }
    )

    results: list[AcceptedResult | RejectedResult]
    checkpoint: str | None = Field(None, description="signed note the proofs are against")


@router.post("/v1/entries", response_model=SubmitEntriesResponse, operation_id="submitEntries")
def submit_entries(body: EntriesRequest, request: Request) -> dict[str, Any]:
    """Append signed entries in order: one result per envelope, and inclusion proofs of the
    accepted ones against a checkpoint (freshly signed when this server holds the key)."""
    if len(body.entries) > MAX_ENTRIES:
        raise errors.LimitExceeded(
            f"a request holds at most {MAX_ENTRIES} entries", code="too_many_entries"
        )
    state, routes = state_of(request), log_state(request)
    results: list[dict[str, Any] | None] = [None] * len(body.entries)
    parsed: list[tuple[int, Envelope]] = []
    for position, obj in enumerate(body.entries):
        try:
            parsed.append((position, Envelope.from_obj(obj)))
        except errors.TracemarkError as exc:
            results[position] = {"error": {"code": exc.code, "message": exc.message}}
    outcomes = state.service.append([e for _, e in parsed], now=now_ms()) if parsed else []
    accepted: list[tuple[int, Accepted]] = []
    for (position, _), outcome in zip(parsed, outcomes, strict=True):
        if isinstance(outcome, Accepted):
            accepted.append((position, outcome))
            results[position] = {
                "index": outcome.index,
                "leaf_hash": b64(outcome.leaf_hash),
                "integrated_time": outcome.integrated_time,
            }
        else:
            results[position] = {"error": {"code": outcome.code, "message": outcome.message}}
    note = None
    try:  # the entries are in the log now: a failure below must not turn into an error
        checkpoint = fresh_checkpoint(state, routes)
        note = checkpoint.note
        for position, outcome in accepted:
            if outcome.index < checkpoint.tree_size:
                proof = state.service.inclusion_proof(outcome.index, checkpoint.tree_size)
                results[position]["proof"] = {  # type: ignore[index]
                    "tree_size": proof.tree_size,
                    "inclusion_path": [b64(h) for h in proof.hashes],
                }
    except errors.TracemarkError as exc:
        log.warning("entries appended, but no checkpoint or proof: %s", exc.message)
    return {"results": results, "checkpoint": note}


# --- reads ----------------------------------------------------------------------------------


def _optional(value: int) -> int | None:
    """The projection's -1 ("none") as null."""
    return None if value < 0 else value


def _key_json(record: KeyRecord) -> dict[str, Any]:
    return {
        "key_id": record.key_id,
        "actor_id": record.actor_id,
        "public_key": record.public_key,
        "added_index": record.added_index,
        "added_time": record.added_time,
        "revoked": record.revoked,
        "revoked_index": _optional(record.revoked_index),
        "effective_time": _optional(record.effective_time),
        "compromised_since": _optional(record.compromised_since),
        "reason": record.reason,
    }


class KeyOut(BaseModel):
    key_id: str
    actor_id: str
    public_key: str = Field(..., examples=["ed25519:<base64 32 bytes>"])
    added_index: int
    added_time: int
    revoked: bool
    revoked_index: int | None
    effective_time: int | None = Field(..., description="entries from then on are refused")
    compromised_since: int | None = Field(..., description="distrusted from then on")
    reason: str


@router.get("/v1/keys/{key_id}", response_model=KeyOut, operation_id="getKey")
def key(request: Request, key_id: str = Path(..., pattern=r"^[0-9a-f]{16}$")) -> dict[str, Any]:
    """A registered key: the actor it speaks for, and its revocation if any."""
    with state_of(request).service.store.reader() as view:
        record = view.get(KeyRecord, (key_id,))
    if record is None:
        raise errors.NotFound(f"key {key_id} is not registered", code="unknown_key")
    return _key_json(record)


class TimelineStepOut(BaseModel):
    index: int
    type: str
    actor: str
    event_time: int
    integrated_time: int
    tz: str
    summary: str


class ItemOut(BaseModel):
    item_id: str
    gtin: str
    serial: str
    lot: str
    expiry: str
    status: str = Field(..., examples=["active"])
    custody_status: str
    recalled: bool
    custodian: str
    pending_to: str
    parent: str
    producer: str
    claimed: bool
    product: dict[str, Any] | None
    timeline: list[TimelineStepOut]


@router.get("/v1/items/{gtin}/{serial:path}", response_model=ItemOut, operation_id="getItem")
def item(request: Request, gtin: str, serial: str) -> dict[str, Any]:
    """An item's state and timeline (as ``tracemark item show --json``)."""
    ident = item_id(gtin14(gtin), validate_serial(serial))
    return state_of(request).service.item_view(ident).to_obj()


class ActorOut(BaseModel):
    actor_id: str
    role: str
    name: str
    country: str
    verified: bool
    status: str
    prefixes: list[str]
    handles: list[str]
    registered_index: int
    keys: list[KeyOut]


@router.get("/v1/actors/{actor_id}", response_model=ActorOut, operation_id="getActor")
def actor(
    request: Request, actor_id: str = Path(..., pattern=r"^[a-z0-9][a-z0-9._-]{1,62}$")
) -> dict[str, Any]:
    """A registered actor and its keys (as ``tracemark actor show --json``)."""
    view = state_of(request).service.actor_view(actor_id)
    a = view.actor
    return {
        "actor_id": a.actor_id,
        "role": a.role,
        "name": a.name,
        "country": a.country,
        "verified": a.verified,
        "status": a.status,
        "prefixes": list(a.prefixes),
        "handles": list(a.handles),
        "registered_index": a.registered_index,
        "keys": [_key_json(k) for k in view.keys],
    }


class ListingOut(BaseModel):
    platform: str
    listing_id: str
    seller: str
    gtin: str
    quantity: int
    serials: list[str]
    stream_id: str
    status: str
    stock: int = Field(..., description="sellable items of the GTIN the seller holds now")
    backed: bool
    recalled: bool = Field(
        ..., description="the GTIN, a listed item or a held item of the GTIN is recalled"
    )
    reasons: list[str]


@router.get(
    "/v1/listings/{platform}/{listing_id:path}",
    response_model=ListingOut,
    operation_id="getListing",
)
def listing(
    request: Request,
    platform: str = Path(..., pattern=r"^[a-z0-9][a-z0-9_.-]{1,31}$"),
    listing_id: str = Path(..., pattern=r"^[\x21-\x7e]{1,128}$"),
) -> dict[str, Any]:
    """Is this listing backed by genuine stock, and how much? (``backed`` and ``reasons``)"""
    status = state_of(request).service.listing_status(platform, listing_id)
    lst = status.listing
    return {
        "platform": lst.platform,
        "listing_id": lst.listing_id,
        "seller": lst.seller,
        "gtin": lst.gtin,
        "quantity": lst.quantity,
        "serials": list(lst.serials),
        "stream_id": lst.stream_id,
        "status": lst.status,
        "stock": status.stock,
        "backed": status.backed,
        "recalled": status.recalled,
        "reasons": status.reasons,
    }
