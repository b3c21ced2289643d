"""Routes: the transparency log (checkpoint, entries, proofs, witness cosignatures, trust).

    GET  /v1/log/checkpoint[?cosigned=1]       latest signed checkpoint, text/plain, byte-exact
    GET  /v1/log/entries?start&end              up to 1,000 stored leaves
    GET  /v1/log/proof/inclusion?index[&size]   RFC 9162 inclusion proof (+ checkpoint note)
    GET  /v1/log/proof/consistency?old[&new]    RFC 9162 consistency proof
    POST /v1/log/witness/cosignature            a witness hands back its cosigned checkpoint
    GET  /v1/trust                              trust bundle signed with the operator key

A server that holds the operator key signs a fresh checkpoint whenever the log grew before
answering; a replica without the key serves the latest stored one. Witnesses are the
cosignature verifier keys of ``Settings.witnesses`` (``TRACEMARK_WITNESSES``); their verified
cosignatures are stored in the log's database (``ledger/storage/sql/witnesses.py``), so every
worker and replica serves them (docs/api.md).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

from api.http.checkpoints import fresh_checkpoint, key_usable, note_of_size
from api.http.deps import StateDep
from api.http.errors import ERRORS, ErrorResponse, error_response
from api.http.schemas import (
    ConsistencyProofOut,
    CosignatureResponse,
    InclusionProofOut,
    LogEntriesResponse,
)
from api.http.state import AppState
from api.results import b64, consistency_json, inclusion_json
from ledger import errors
from ledger.codes.trust import TrustBundle
from ledger.log.checkpoint import open_checkpoint
from ledger.log.merkle import MAX_TREE_SIZE
from ledger.log.note import Signature, open_note
from ledger.ports.witnesses import Cosignature
from ledger.usecases.queries import trust_bundle
from ledger.usecases.service import now_ms

__all__ = ["MAX_ENTRIES", "router"]

log = logging.getLogger("tracemark")

#: Entries one GET /v1/log/entries answers at most.
MAX_ENTRIES = 1_000
#: Cosigned tree sizes kept in the database.
KEEP_COSIGNED = 64
TRUST_TTL_MS = 60_000
MAX_COSIGNED_NOTE = 65_536
_TEXT = "text/plain; charset=utf-8"

router = APIRouter(tags=["transparency"], responses=ERRORS)


# --- checkpoint -------------------------------------------------------------------------------


def _text(body: str) -> Response:
    return Response(body.encode("utf-8"), media_type=_TEXT)


@router.get(
    "/v1/log/checkpoint",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    operation_id="getCheckpoint",
)
def checkpoint(
    state: StateDep,
    cosigned: bool = Query(False, description="Append the witnesses' cosignatures."),
) -> Response:
    """The latest checkpoint as a C2SP signed note (text/plain, byte-exact).

    With ``cosigned=1``: the newest checkpoint that witnesses cosigned, with their
    cosignature lines appended (the latest checkpoint when no witness cosigned yet).
    """
    witnessed = state.service.store.witnesses.cosigned() if cosigned else None
    if witnessed is not None:
        return _text(witnessed)
    return _text(fresh_checkpoint(state.service, state.checkpoints).note)


# --- entries --------------------------------------------------------------------------------


@router.get("/v1/log/entries", response_model=LogEntriesResponse, operation_id="getLogEntries")
def entries(
    state: StateDep,
    start: int = Query(0, ge=0, le=MAX_TREE_SIZE, description="First index."),
    end: int | None = Query(
        None, ge=1, le=MAX_TREE_SIZE, description="One past the last index (default start+1000)."
    ),
) -> dict[str, Any]:
    """Stored entries ``start <= index < end``: at most 1,000, fewer at the log's tail."""
    stop = start + MAX_ENTRIES if end is None else min(end, start + MAX_ENTRIES)
    if stop <= start:
        raise errors.InvalidInput("end must be greater than start", code="invalid_range")
    rows = state.service.store.entries(start, stop)
    return {
        "entries": [
            {
                "index": row.index,
                "leaf": b64(row.data),
                "leaf_hash": b64(row.leaf_hash),
                "type": row.entry_type,
                "integrated_time": row.integrated_time,
            }
            for row in rows
        ]
    }


# --- proofs -----------------------------------------------------------------------------------


def _size_or_fresh(state: AppState, size: int | None) -> tuple[int, str]:
    if size is not None:
        return size, note_of_size(state.service, state.checkpoints, size) or ""
    latest = fresh_checkpoint(state.service, state.checkpoints)
    return latest.tree_size, latest.note


@router.get(
    "/v1/log/proof/inclusion", response_model=InclusionProofOut, operation_id="getInclusionProof"
)
def inclusion(
    state: StateDep,
    index: int = Query(..., ge=0, lt=MAX_TREE_SIZE, description="The entry's index."),
    size: int | None = Query(None, ge=1, le=MAX_TREE_SIZE, description="Default: latest."),
) -> dict[str, Any]:
    """An RFC 9162 inclusion proof of entry ``index`` in the tree of ``size`` entries."""
    tree_size, note = _size_or_fresh(state, size)
    if index >= tree_size:
        raise errors.InvalidInput(
            f"index {index} is not below tree size {tree_size}", code="index_beyond_tree"
        )
    proof = state.service.inclusion_proof(index, tree_size)
    return {**inclusion_json(proof), "checkpoint": note or None}


@router.get(
    "/v1/log/proof/consistency",
    response_model=ConsistencyProofOut,
    operation_id="getConsistencyProof",
)
def consistency(
    state: StateDep,
    old: int = Query(..., ge=1, le=MAX_TREE_SIZE, description="The older tree size."),
    new: int | None = Query(None, ge=1, le=MAX_TREE_SIZE, description="Default: latest."),
) -> dict[str, Any]:
    """An RFC 9162 consistency proof from the tree of ``old`` entries to ``new``."""
    new_size, note = _size_or_fresh(state, new)
    if old > new_size:
        raise errors.InvalidInput(
            f"old size {old} is larger than new size {new_size}", code="invalid_range"
        )
    proof = state.service.consistency_proof(old, new_size)
    return {**consistency_json(proof), "checkpoint": note or None}


# --- witnesses ------------------------------------------------------------------------------


_NOTE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/plain": {
                "schema": {"type": "string", "maxLength": MAX_COSIGNED_NOTE},
                "example": "tracemark.example/log\n42\n<base64 root>\n\n— tracemark.example/log "
                "<base64 sig>\n— witness.example <base64 cosig>\n",
            }
        },
    }
}


@router.post(
    "/v1/log/witness/cosignature",
    response_model=CosignatureResponse,
    openapi_extra=_NOTE_BODY,
    responses={403: {"model": ErrorResponse, "description": "Not cosigned by a known witness"}},
    operation_id="addCosignature",
)
async def witness_cosignature(request: Request, state: StateDep) -> Any:
    """A witness hands back the log's checkpoint note with its cosignature (C2SP
    tlog-cosignature, type 0x04) appended. The log's signature, the root (equal to this
    log's root at that size) and the cosignatures of configured witnesses are verified;
    verified cosignatures are then served by ``GET /v1/log/checkpoint?cosigned=1``."""
    data = await request.body()
    if len(data) > MAX_COSIGNED_NOTE:
        raise errors.LimitExceeded(f"a cosigned checkpoint is at most {MAX_COSIGNED_NOTE} bytes")
    try:
        note = data.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.InvalidInput("the note is not valid UTF-8") from None
    stamped = await run_in_threadpool(_accept_cosigned, state, note)
    if stamped is None:
        return error_response(
            403, "unknown_witness", "the note carries no cosignature of a witness this log knows"
        )
    tree_size, found = stamped
    return {
        "tree_size": tree_size,
        "cosignatures": [
            {"witness": sig.name, "key_id": sig.key_id.hex(), "timestamp": stamp}
            for sig, stamp in found
        ],
    }


def _accept_cosigned(state: AppState, note: str) -> tuple[int, list[tuple[Signature, int]]] | None:
    """Verify a cosigned checkpoint against this log and the witnesses, and store its
    cosignatures. None when no known witness cosigned it."""
    info = state.service.info()
    signed = open_checkpoint(note, info.verifier, origin=info.origin)
    body = signed.checkpoint
    if body.extensions:
        raise errors.InvalidInput("this log's checkpoints have no extension lines")
    if body.tree_size < 1 or body.tree_size > state.service.store.head().size:
        raise errors.Conflict(
            f"the log has no tree of size {body.tree_size}", code="checkpoint_mismatch"
        )
    root = state.service.root_at(body.tree_size)
    if root != body.root_hash:
        log.error("an operator-signed checkpoint disagrees with the log at %d", body.tree_size)
        raise errors.Conflict(
            f"the checkpoint's root differs from the log's root at size {body.tree_size}",
            code="checkpoint_mismatch",
        )
    witnesses = state.settings.witnesses
    known = {(w.name, w.key_id) for w in witnesses}
    if not any((s.name, s.key_id) in known for s in signed.other_signatures):
        return None
    opened = open_note(note, witnesses)  # SignatureError if a known one fails
    stamped = [(sig, int.from_bytes(sig.signature[:8], "big")) for sig in opened.verified]
    # Ed25519 is deterministic: this is byte for byte the note the log signed and stores.
    operator_note = signed.text + "\n" + signed.log_signature.line
    state.service.store.witnesses.add(
        body.tree_size,
        operator_note,
        [Cosignature(sig.name, sig.key_id, stamp, sig.line) for sig, stamp in stamped],
        keep=KEEP_COSIGNED,
    )
    return body.tree_size, stamped


# --- trust bundle -------------------------------------------------------------------------------


@router.get(
    "/v1/trust",
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
    response_class=Response,
    operation_id="getTrustBundle",
)
def trust(state: StateDep) -> Response:
    """The trust bundle (actors, prefixes, keys with revocations, latest checkpoint, resolvers)
    signed with the operator key, for offline verification (ledger/codes/trust.py). 503
    ``no_operator_key`` on a server without the key."""
    routes = state.checkpoints
    key = state.service.log_key
    if key is None or not key_usable(state.service, routes):
        return error_response(
            503, "no_operator_key", "this server does not hold the operator key: no trust bundle"
        )
    latest = fresh_checkpoint(state.service, routes)
    now = now_ms()
    cached = routes.trust
    if cached is not None and cached[0] == latest.tree_size and now - cached[1] < TRUST_TTL_MS:
        data = cached[2]
    else:
        info = state.service.info()
        body = trust_bundle(
            state.service.store,
            origin=info.origin,
            checkpoint=latest.note,
            resolvers=[state.settings.resolver],
            created=now,
        )
        data = TrustBundle.sign(body, key)
        routes.trust = (latest.tree_size, now, data)
    return Response(data, media_type="application/json")
