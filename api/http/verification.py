"""How a route verifies a code: the scan context and who vouches for it, the verdict, the
clone signals it sends, and the verdict's JSON bytes. Shared by the verify, resolver, scan and
listing routes (api/http/routes/), which never import each other.

    scan_context     a request's context (body, query or image query) -> (ScanContext, proof):
                     a platform API key, an overlay nonce or a seller's session proof vouch
    verify_code      the verifier's verdict, counted and recorded (a HEAD or linkset is not)
    observe_verdict  clone_suspected webhooks for a suspect verdict of a vouched context
    witnesses_of     which witnesses cosigned the checkpoint of a result's proof
    verify_body      ``result_json`` (api/results.py) as bytes, its item part cached, with
                     the time-dependent ``extra`` (attestations, api/http/attested.py)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from api.http.deps import platform_key
from api.http.errors import PlatformError
from api.http.nonce import NonceExpired, NonceInvalid, open_nonce
from api.http.schemas import Context
from api.http.state import AppState
from api.results import result_json
from api.webhooks import clone_reasons, producer_owner
from ledger import errors
from ledger.codes.identifiers import parse_item_id
from ledger.provenance.rules.streams import SessionProof
from ledger.usecases.queries import product_facts
from ledger.usecases.retention import coarse_place
from ledger.usecases.service import now_ms
from ledger.usecases.verify import VerifyResult
from ledger.verdicts import ANONYMOUS, OVERLAY, PLATFORM, SUSPECT, ScanContext

__all__ = [
    "Vouched",
    "dumps",
    "json_response",
    "observe_verdict",
    "scan_context",
    "verify_body",
    "verify_code",
    "witnesses_of",
]

log = logging.getLogger("tracemark.platform")

#: A scan context with who vouches for it, and a seller's session proof to check.
Vouched = tuple[ScanContext, SessionProof | None]
_MAX_TAILS = 10_000


def dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def witnesses_of(state: AppState, result: VerifyResult) -> dict[str, Any] | None:
    """Which witnesses cosigned the checkpoint of the result's proof (None: no proof, or no
    witness configured)."""
    if result.proof is None or state.witness_view is None:
        return None
    return state.witness_view.of(result.proof.tree_size)


def verify_body(
    result: VerifyResult,
    code: str,
    tails: dict[Any, bytes],
    witnesses: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """``result_json(result)`` as JSON bytes, built faster.

    Of a detailed result, only the verdict (status and reasons) depends on the scan; the
    rest (the item, its provenance and its proof) is a function of the code and of the
    snapshot the result was read from (``VerifyResult.snapshot``). That rest is
    serialised once per code and snapshot and kept in ``tails`` (one dict per app: a
    snapshot is a log size, meaningful for one ledger only)."""
    snapshot = result.snapshot
    if result.view is None or snapshot is None:
        return dumps({**result_json(result, witnesses), **(extra or {})})
    cosigned = None if witnesses is None else tuple(witnesses["cosigned_by"])
    key = (code, snapshot, cosigned)
    tail = tails.get(key)
    if tail is None:
        rest = result_json(result, witnesses)
        del rest["status"], rest["reasons"], rest["source"]
        tail = b"," + dumps(rest)[1:]  # '"item":...}', after the verdict's fields
        if len(tails) >= _MAX_TAILS:
            tails.clear()
        tails[key] = tail
    verdict = result.verdict
    head = dumps(
        {
            "status": verdict.status,
            "source": result.source,
            "reasons": [r.to_obj() for r in verdict.reasons],
            **(extra or {}),
        }
    )
    return head[:-1] + tail


def json_response(data: dict[str, Any]) -> Response:
    """Our own JSON, serialised once: ``result_json`` builds exactly the documented
    ``VerifyResponse`` shape (the schema tests check it), so FastAPI's second pass through
    the response model, which cost as much as the verdict itself, is skipped."""
    return Response(dumps(data), media_type="application/json")


def scan_context(request: Request, state: AppState, given: Context | None = None) -> Vouched:
    """The scan context and who vouches for it: a platform API key (checked here: a wrong
    key is a 401, not an anonymous request), an overlay nonce the operator signed for this
    platform, listing and stream (an expired or forged one vouches for nothing), or a
    seller's session proof (checked by the verifier against the log)."""
    hints = request.headers.get("user-agent", "") + "|" + request.headers.get("accept-language", "")
    ctx = given or Context()  # type: ignore[call-arg]
    platform, source = ctx.platform, ANONYMOUS
    if request.headers.get("x-api-key"):
        key = platform_key(request)
        if platform and platform != key.platform:
            raise PlatformError(
                403,
                "platform_mismatch",
                f"this API key speaks for {key.platform}, not {platform}",
            )
        platform, source = key.platform, PLATFORM
    elif ctx.nonce and state.log_key is not None:
        try:
            open_nonce(
                ctx.nonce,
                state.log_key.public_key,
                platform,
                ctx.listing_id,
                ctx.stream_id,
                now=now_ms(),
            )
            source = OVERLAY
        except (NonceInvalid, NonceExpired):
            source = ANONYMOUS
    proof = None
    if ctx.session_proof is not None and source == ANONYMOUS:
        p = ctx.session_proof
        try:
            proof = SessionProof.from_text(p.session_id, p.key_id, p.time, p.signature)
        except errors.InvalidInput:
            proof = None
    context = ScanContext(
        platform,
        ctx.stream_id,
        ctx.listing_id,
        ctx.seller,
        state.device_salts.hash(hints, now_ms()),  # type: ignore[union-attr]
        coarse_place(ctx.place),  # a country and region at most (docs/privacy.md)
        source,
    )
    return context, proof


def verify_code(
    state: AppState, code: str, context: Vouched, *, detail: bool = True, record: bool = True
) -> VerifyResult:
    """The verdict of one code; ``record=False`` (a HEAD, a linkset) is not a scan: it is
    neither recorded, counted nor sent to webhooks."""
    now = now_ms()
    scan, proof = context
    result = state.verifier.verify(code, scan, now=now, detail=detail, proof=proof, record=record)
    if record:
        state.metrics.verdict(result.verdict.status)
        observe_verdict(state, result, now)  # clone signals of vouched contexts
    return result


def _gtin_producer(state: AppState, gtin: str, item: object) -> str:
    """The registered, active producer owning the GTIN (of the item id when the verdict
    names no GTIN); "" for none."""
    if not gtin and isinstance(item, str) and item:
        try:
            gtin = parse_item_id(item).gtin
        except errors.TracemarkError:
            return ""
    if not (len(gtin) == 14 and gtin.isdigit()):
        return ""
    found = product_facts(state.service.store, gtin)
    return found[1].producer if found is not None else ""


def observe_verdict(
    state: AppState, result: VerifyResult, now: int, also: Sequence[str] = ()
) -> None:
    """Send ``clone_suspected`` events for a suspect verdict with clone reasons of a vouched
    context: to the platform the code was seen on, to platforms whose verified listings
    hold the item, and to the webhooks of the producer owning the item's GTIN (set in the
    console). An anonymous request never reaches anyone else. Never raises (a verify must
    not fail because a webhook could not be queued)."""
    verdict, context = result.verdict, result.context
    if context is None or not context.vouched:
        return
    if verdict.status != SUSPECT or not clone_reasons(verdict):
        return
    try:
        platform = state.platform
        platforms = {context.platform, *also} - {""}
        item = verdict.item.get("item_id", "")
        platforms.update(w.platform for w in platform.store.watches(item_id=item))
        producer = _gtin_producer(state, str(verdict.item.get("gtin", "")), item)
        if producer:
            platforms.add(producer_owner(producer))
        for name in sorted(platforms):
            platform.dispatcher.clone_suspected(name, context, verdict, now)
    except errors.TracemarkError as exc:
        log.warning("clone signal not queued: %s", exc.message)
