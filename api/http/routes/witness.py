"""Route: this server as a C2SP witness of other logs (https://c2sp.org/tlog-witness).

    POST /witness/add-checkpoint   old size, consistency proof, the log's signed checkpoint
                                   -> this witness's cosignature line(s), text/plain

Configured with ``TRACEMARK_WITNESS_NAME``, ``_KEY_FILE`` and ``_LOGS`` (api/settings.py);
without them the route answers 404 (not a witness). The decision is the pure
``ledger.log.witnessing.judge``; what was last cosigned per log is kept in the database
(``witnessed_logs``) and advanced by compare-and-set, so two racing requests can never roll
a log back: the loser gets 409 with the size that won. Answers follow the spec's statuses
and bodies (plain text, and ``text/x.tlog.size`` for 409), not Tracemark's JSON problems, so
that any tlog-witness client understands them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.http.deps import StateDep
from api.http.errors import ERRORS
from api.http.state import AppState
from api.settings import WitnessRole
from ledger import errors
from ledger.keys import PrivateKey
from ledger.log.checkpoint import Checkpoint
from ledger.log.note import Verifier, parse_note
from ledger.log.witnessing import (
    MAX_REQUEST_SIZE,
    SIZE_CONTENT_TYPE,
    Judgement,
    WitnessRecord,
    judge,
    parse_add_checkpoint,
)
from ledger.ports.witnesses import FollowedLog
from ledger.usecases.service import now_ms

__all__ = ["router"]

_TEXT = "text/plain; charset=utf-8"

router = APIRouter(tags=["witness"], responses=ERRORS)


def _answer(status: int, body: str, content_type: str = _TEXT) -> Response:
    # the type exactly as given: Starlette would add "; charset=utf-8" to a text/* media type,
    # and tlog-witness clients compare text/x.tlog.size as it is
    return Response(
        body.encode("utf-8"), status_code=status, headers={"Content-Type": content_type}
    )


def _witness(state: AppState, role: WitnessRole, key: PrivateKey, body: bytes) -> Judgement:
    request = parse_add_checkpoint(body)
    logs: dict[str, list[Verifier]] = {}
    for verifier in role.logs:
        logs.setdefault(verifier.name, []).append(verifier)
    origin = Checkpoint.from_text(parse_note(request.note).text).origin
    book = state.service.store.witnesses
    known = book.followed(origin)
    record = None if known is None else WitnessRecord(known.tree_size, known.root_hash)
    judgement = judge(
        request,
        logs=logs,
        record=record,
        name=role.name,
        key=key,
        now_s=now_ms() // 1000,
    )
    if judgement.record is None:
        return judgement
    new = FollowedLog(origin, judgement.record.tree_size, judgement.record.root_hash, request.note)
    raced = book.advance(request.old_size, new)
    if raced is not None:  # another request advanced this log first
        size = raced.tree_size
        return Judgement(409, f"{size}\n", SIZE_CONTENT_TYPE, f"the last cosigned size is {size}")
    return judgement


@router.post(
    "/witness/add-checkpoint",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        409: {"content": {SIZE_CONTENT_TYPE: {"schema": {"type": "string"}}}},
    },
    operation_id="witnessAddCheckpoint",
)
async def add_checkpoint(request: Request, state: StateDep) -> Response:
    """C2SP tlog-witness ``add-checkpoint``: cosign a followed log's checkpoint that is
    consistent with what this witness cosigned before."""
    role, key = state.settings.witness_role, state.witness_key
    if role is None or key is None:
        raise errors.NotFound("this server is not a witness", code="not_a_witness")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_REQUEST_SIZE:
            return _answer(413, f"the request is larger than {MAX_REQUEST_SIZE} bytes\n")
    try:
        judgement = await run_in_threadpool(_witness, state, role, key, bytes(body))
    except errors.InvalidInput as exc:  # a malformed request or checkpoint: 400 (the spec)
        return _answer(400, exc.message + "\n")
    return _answer(judgement.status, judgement.body, judgement.content_type)
