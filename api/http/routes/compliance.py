"""Routes: the document store and a stream session's compliance.

    PUT|POST /v1/documents                 store a document (raw body, its Content-Type);
                                           answers its SHA-256 (what attestations name)
    GET  /v1/documents/{sha256}            the document, re-hashed on read: bytes that no
                                           longer hash to their name are a 422
                                           ``document_tampered``, never served
    GET  /v1/sessions/{session_id}/compliance   is the session ready to go live: identity,
                                           stock and qualifications, and what is missing

Documents are public evidence (anyone may check what an attestation names); uploads are
bounded (``TRACEMARK_DOCUMENT_MAX_BYTES``, the accepted types) and rate limited like every
public call. A session is named by its platform: a platform API key names its own, others
say ``?platform=``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.http.apidocs import OPTIONAL_KEY
from api.http.deps import StateDep, platform_key
from api.http.errors import ERRORS, PlatformError, error_response
from ledger import errors
from ledger.ports.documents import CONTENT_TYPES, parse_digest, prepare
from ledger.usecases.compliance import check_session
from ledger.usecases.service import now_ms

__all__ = ["router"]

router = APIRouter(tags=["compliance"])

_SHA256 = Path(..., pattern=r"^[0-9a-f]{64}$", description="the document's SHA-256, hex")
_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in CONTENT_TYPES},
    }
}
_STORED = {
    "type": "object",
    "properties": {
        "sha256": {"type": "string"},
        "content_type": {"type": "string"},
        "size": {"type": "integer"},
        "stored": {"type": "boolean", "description": "false: the same bytes were stored before"},
        "url": {"type": "string"},
    },
}


async def _put(request: Request, state: StateDep) -> Response:
    limit = state.settings.document_max_bytes
    data = await request.body()
    if len(data) > limit:  # a body sent without Content-Length
        return error_response(413, "body_too_large", f"documents are limited to {limit} bytes")
    document = prepare(data, request.headers.get("content-type", ""))
    stored = state.documents.put(document)
    body = {
        "sha256": document.sha256,
        "content_type": document.content_type,
        "size": len(data),
        "stored": stored,
        "url": f"{state.settings.resolver}/v1/documents/{document.sha256}",
    }
    return JSONResponse(body, status_code=201 if stored else 200)


for _method, _name in (("PUT", "putDocument"), ("POST", "postDocument")):
    router.add_api_route(
        "/v1/documents",
        _put,
        methods=[_method],
        operation_id=_name,
        summary="Store Document",
        responses={
            200: {
                "description": "Already stored",
                "content": {"application/json": {"schema": _STORED}},
            },
            201: {"description": "Stored", "content": {"application/json": {"schema": _STORED}}},
            **ERRORS,
        },
        openapi_extra=_UPLOAD,
    )


@router.get(
    "/v1/documents/{sha256}",
    operation_id="getDocument",
    responses={
        200: {"description": "The document, its hash checked", "content": {"*/*": {}}},
        **ERRORS,
    },
)
def get_document(state: StateDep, sha256: Annotated[str, _SHA256]) -> Response:
    """A stored document, served only when its bytes still hash to its name."""
    document = state.documents.get(parse_digest(sha256))
    return Response(
        document.data,
        media_type=document.content_type,
        headers={
            "ETag": f'"{document.sha256}"',
            "Cache-Control": "public, max-age=31536000, immutable",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Content-Disposition": (
                "attachment" if document.content_type == "application/octet-stream" else "inline"
            )
            + f'; filename="{document.sha256}"',
        },
    )


@router.get(
    "/v1/sessions/{session_id}/compliance",
    operation_id="getSessionCompliance",
    responses={
        **ERRORS,
        403: {"description": "The key's platform is not the one asked (platform_mismatch)"},
    },
    openapi_extra=OPTIONAL_KEY,
)
def session_compliance(
    request: Request,
    state: StateDep,
    session_id: Annotated[str, Path(pattern=r"^[\x21-\x7e]{1,128}$")],
    platform: Annotated[
        str, Query(pattern=r"^[a-z0-9][a-z0-9_.-]{1,31}$", description="the session's platform")
    ] = "",
    at: Annotated[
        int | None,
        Query(ge=0, le=2**53 - 1, description="the time asked, ms since the epoch (now)"),
    ] = None,
) -> dict[str, Any]:
    """Is every listing of the session backed by stock, a verified seller and valid
    qualifications (``TRACEMARK_COMPLIANCE_KINDS``) at the time asked; what is missing."""
    if request.headers.get("x-api-key"):
        key = platform_key(request)
        if platform and platform != key.platform:
            raise PlatformError(
                403, "platform_mismatch", f"this API key speaks for {key.platform}, not {platform}"
            )
        platform = key.platform
    if not platform:
        raise errors.InvalidInput(
            "name the session's platform (?platform=) or call with its API key",
            code="platform_required",
        )
    found = check_session(
        state.service.store,
        platform,
        session_id,
        now_ms() if at is None else at,
        policy=state.settings.compliance,
        documents=state.documents,
    )
    return found.to_obj()
