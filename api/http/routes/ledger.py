"""Routes: the ledger (submit signed entries, read keys, items, actors and listings).

    POST /v1/entries                          {"entries": [envelope, ...]} (at most 1,000)
    GET  /v1/keys/{key_id}                    a registered key, its actor and revocation
    GET  /v1/items/{gtin}/{serial}            an item's state and timeline
    GET  /v1/items/{gtin}/{serial}/bundle     an offline proof bundle of its verdict
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

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.http.checkpoints import fresh_checkpoint, key_usable
from api.http.deps import ServiceDep, StateDep
from api.http.errors import ERRORS, error_response
from api.http.schemas import ActorOut, ItemOut, KeyOut, ListingOut, SubmitEntriesResponse
from api.results import b64
from ledger import errors
from ledger.codes.gs1 import gtin14, validate_serial
from ledger.codes.identifiers import item_id
from ledger.codes.signed import MAX_CODE_LENGTH
from ledger.log.entries import Envelope
from ledger.provenance.records import KeyRecord
from ledger.usecases.append import Accepted
from ledger.usecases.bundles import build_item_bundle
from ledger.usecases.service import now_ms

__all__ = ["MAX_ENTRIES", "router"]

#: Envelopes one POST /v1/entries takes at most.
MAX_ENTRIES = 1_000

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


@router.post("/v1/entries", response_model=SubmitEntriesResponse, operation_id="submitEntries")
def submit_entries(body: EntriesRequest, state: StateDep) -> dict[str, Any]:
    """Append signed entries in order: one result per envelope, and inclusion proofs of the
    accepted ones against a checkpoint (freshly signed when this server holds the key)."""
    if len(body.entries) > MAX_ENTRIES:
        raise errors.LimitExceeded(
            f"a request holds at most {MAX_ENTRIES} entries", code="too_many_entries"
        )
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
        checkpoint = fresh_checkpoint(state.service, state.checkpoints)
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


@router.get("/v1/keys/{key_id}", response_model=KeyOut, operation_id="getKey")
def key(service: ServiceDep, key_id: str = Path(..., pattern=r"^[0-9a-f]{16}$")) -> dict[str, Any]:
    """A registered key: the actor it speaks for, and its revocation if any."""
    with service.store.reader() as view:
        record = view.get(KeyRecord, (key_id,))
    if record is None:
        raise errors.NotFound(f"key {key_id} is not registered", code="unknown_key")
    return _key_json(record)


@router.get(
    "/v1/items/{gtin}/{serial:path}/bundle",
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
    response_class=JSONResponse,
    operation_id="getItemBundle",
)
def item_bundle(
    state: StateDep,
    gtin: str,
    serial: str,
    code: str | None = Query(
        None,
        max_length=MAX_CODE_LENGTH,
        description="The item's signed code (Digital Link URI), checked and carried in the bundle",
    ),
) -> JSONResponse:
    """Everything needed to check the item's verdict offline (docs/format.md, "Item bundle"):
    its entries with inclusion proofs to a (witnessed) checkpoint, the trust bundle, the code
    and the operator's signed statement. Declared before ``getItem``, whose serial is a path.
    503 ``no_operator_key`` on a server without the key; 409 ``not_checkpointed``."""
    service = state.service
    key = service.log_key
    if key is None or not key_usable(service, state.checkpoints):
        return error_response(
            503, "no_operator_key", "this server does not hold the operator key: no bundle"
        )
    ident = item_id(gtin14(gtin), validate_serial(serial))
    fresh_checkpoint(service, state.checkpoints)
    bundle = build_item_bundle(
        service.prover,
        ident,
        log_key=key,
        resolvers=[state.settings.resolver],
        code=code,
        now=now_ms(),
    )
    return JSONResponse(bundle)


@router.get("/v1/items/{gtin}/{serial:path}", response_model=ItemOut, operation_id="getItem")
def item(service: ServiceDep, gtin: str, serial: str) -> dict[str, Any]:
    """An item's state and timeline (as ``tracemark item show --json``)."""
    ident = item_id(gtin14(gtin), validate_serial(serial))
    return service.item_view(ident).to_obj()


@router.get("/v1/actors/{actor_id}", response_model=ActorOut, operation_id="getActor")
def actor(
    service: ServiceDep, actor_id: str = Path(..., pattern=r"^[a-z0-9][a-z0-9._-]{1,62}$")
) -> dict[str, Any]:
    """A registered actor and its keys (as ``tracemark actor show --json``)."""
    view = service.actor_view(actor_id)
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


@router.get(
    "/v1/listings/{platform}/{listing_id:path}",
    response_model=ListingOut,
    operation_id="getListing",
)
def listing(
    service: ServiceDep,
    platform: str = Path(..., pattern=r"^[a-z0-9][a-z0-9_.-]{1,31}$"),
    listing_id: str = Path(..., pattern=r"^[\x21-\x7e]{1,128}$"),
) -> dict[str, Any]:
    """Is this listing backed by genuine stock, and how much? (``backed`` and ``reasons``)"""
    status = service.listing_status(platform, listing_id)
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
