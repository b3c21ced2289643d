"""Route: ``POST /v1/scan``, a photo or screenshot in, every QR code in it with its verdict out.

The image is the raw request body (``Content-Type: image/png``, ``image/jpeg``, ... or
``application/octet-stream``) of at most ``TRACEMARK_SCAN_MAX_BYTES``. A raw body needs no
form parser, so multipart uploads are refused (415). Where the image was seen comes in the
query (``platform``, ``listing_id``, ``stream_id``, ``seller``, ``place``), as in
``POST /v1/verify``'s context. Each distinct code is verified once, exactly as
``/v1/verify`` does it (same verdict, provenance and proof, and the scan is recorded); QR
codes that are not Tracemark codes come back ``unrecognised`` (ledger/verdicts/scans.py).

Decoding is CPU work of up to a few seconds for a large photo, so it runs in the thread pool,
never on the event loop. Its memory is bounded by design: an image costs at most its decoded
pixels (``ImageLimits.max_decoded_bytes``, channels counted) plus about four bytes a grey
pixel, and each worker decodes at most ``TRACEMARK_SCAN_CONCURRENCY`` images at once. A scan
beyond that is refused at once with 503 ``scan_busy`` and ``Retry-After`` rather than queued:
a queue of decoded images is the memory the cap is there to bound (docs/operations.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.http.apidocs import OPTIONAL_KEY
from api.http.deps import StateDep
from api.http.errors import ERRORS, ErrorResponse, error_response
from api.http.schemas import Context, ScanResponse
from api.http.state import AppState
from api.http.verification import Vouched, scan_context, verify_code, witnesses_of
from api.results import result_json
from ledger.errors import InvalidInput, LimitExceeded
from ledger.verdicts.scans import code_entry, malformed
from scanner.decode import decode_file
from scanner.images import DEFAULT_LIMITS, ImageLimits

__all__ = ["MAX_CODES", "RETRY_AFTER_S", "router"]

router = APIRouter(tags=["verify"])
#: Distinct codes verified per image: a sheet of labels fits, a flood of codes does not.
MAX_CODES = 64
#: Seconds a client is asked to wait when every scan slot of the worker is taken.
RETRY_AFTER_S = 2

_BINARY = {"schema": {"type": "string", "format": "binary"}}
_IMAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The image itself (PNG, JPEG, WebP, GIF or TIFF), not a form.",
        "content": dict.fromkeys(("image/png", "image/jpeg", "application/octet-stream"), _BINARY),
    }
}


class ScanQuery(BaseModel):
    """Where the image was taken: the fields of ``Context`` that fit a query string."""

    platform: str = Context.model_fields["platform"]
    stream_id: str = Context.model_fields["stream_id"]
    listing_id: str = Context.model_fields["listing_id"]
    seller: str = Context.model_fields["seller"]
    place: str = Context.model_fields["place"]
    nonce: str = Context.model_fields["nonce"]


@router.post(
    "/v1/scan",
    response_model=ScanResponse,
    responses={
        **ERRORS,
        415: {"model": ErrorResponse, "description": "Not an image content type"},
        503: {
            "model": ErrorResponse,
            "description": "scan_busy: every scan slot of this worker is taken (Retry-After)",
        },
    },
    openapi_extra={**_IMAGE_BODY, **OPTIONAL_KEY},
    operation_id="scanImage",
)
async def scan(request: Request, context: Annotated[ScanQuery, Query()], state: StateDep) -> Any:
    """Find every QR code in an uploaded image and verify each one in the given context."""
    settings = state.settings
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not (kind.startswith("image/") or kind == "application/octet-stream"):
        return error_response(
            415,
            "unsupported_media_type",
            "send the image itself as the body, with an image/* Content-Type",
        )
    data = await request.body()
    if len(data) > settings.scan_max_bytes:  # a body sent without Content-Length
        return error_response(
            413, "body_too_large", f"images are limited to {settings.scan_max_bytes} bytes"
        )
    given = Context.model_validate(context.model_dump())
    vouched = scan_context(request, state, given)
    slots = state.scan_slots
    if slots.busy >= slots.size:
        return error_response(
            503,
            "scan_busy",
            f"this server is already decoding {slots.size} images; retry in {RETRY_AFTER_S} s",
            {"Retry-After": str(RETRY_AFTER_S)},
        )
    slots.busy += 1  # on the event loop: no lock needed
    try:
        # The wait for the thread is shielded from cancellation (anyio): a client that goes
        # away frees the slot only when its decoding has really finished.
        return await run_in_threadpool(_scan, state, data, vouched)
    finally:
        slots.busy -= 1


def _scan(state: AppState, data: bytes, context: Vouched) -> dict[str, Any] | JSONResponse:
    limits = ImageLimits(
        state.settings.scan_max_bytes,
        DEFAULT_LIMITS.max_pixels,
        DEFAULT_LIMITS.max_decoded_bytes,
    )
    try:
        found = decode_file(data, limits=limits)
    except LimitExceeded as exc:
        return error_response(413, exc.code, exc.message)
    except InvalidInput as exc:  # not an image, or a corrupt one
        return error_response(422, exc.code, exc.message)
    texts = list(dict.fromkeys(d.text for d in found))
    if len(texts) > MAX_CODES:
        return error_response(
            422,
            "too_many_codes",
            f"the image holds {len(texts)} different codes; at most {MAX_CODES} are verified "
            "at once: crop it",
        )
    verdicts = {text: _verdict(state, text, context) for text in texts}
    return {"codes": [code_entry(d.to_obj(), verdicts[d.text]) for d in found]}


def _verdict(state: AppState, text: str, context: Vouched) -> dict[str, Any]:
    plain = malformed(text)
    if plain is not None:  # nothing to look up, nothing to record
        return plain.to_obj()
    result = verify_code(state, text, context)
    return result_json(result, witnesses_of(state, result))
