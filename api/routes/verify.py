"""Routes: the Digital Link resolver and scan-verify (``/01/...``, ``/v1/verify``), health.

The resolver answers the URL printed in every QR code: browsers (``Accept: text/html``) get
the viewer page, programs get the verdict JSON. ``POST /v1/verify`` takes a code and where
it was seen (platform, stream, listing, seller) and returns the explained verdict with the
item's provenance and an inclusion proof; ``/v1/verify/batch`` takes up to 1,000 codes.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api import resolver
from api.apidocs import OPTIONAL_KEY
from api.app import AppState, error_response, state_of
from api.i18n import pick_language
from api.jsonroute import JsonBodyRoute
from api.nonce import NonceExpired, NonceInvalid, open_nonce
from api.routes.log import ERRORS, error_responses
from api.routes.platform import PlatformError, observe_verdict, platform_key
from ledger import errors
from ledger.codes.gs1 import DigitalLink, gtin14
from ledger.provenance.rules.streams import SessionProof
from ledger.usecases.queries import product_facts
from ledger.usecases.service import now_ms
from ledger.usecases.verify import VerifyResult, device_hash
from ledger.verdicts import ANONYMOUS, OVERLAY, PLATFORM, RECALLED, ScanContext, judge_product

__all__ = ["Vouched", "result_json", "router", "verify_body"]

#: A scan context with who vouches for it, and a seller's session proof to check.

Vouched = tuple[ScanContext, SessionProof | None]
router = APIRouter()
#: A body that is not JSON at all is a 400 (app-wide handler), a JSON body of the wrong shape 422.
_BAD_BODY: dict[int | str, dict[str, Any]] = {400: ERRORS[400], 422: ERRORS[422], 429: ERRORS[429]}
MAX_BATCH = 1_000
_MAX_TAILS = 10_000
_PRINTABLE = r"^[\x21-\x7e]{0,128}$"
#: The examples of the OpenAPI schema (/docs, generated clients): one item of the samples.
_CODE = (
    "https://vt.example.vn/01/08930001000018/10/L7/21/A1?8030=AQptbkfGxx-VqE3gw2o4O-G3X_Obd3DRrQ"
    "SKtn1POCjyjEB4Y1jWaV9HvP4SpmibWThgpvf4fwebqZUDwVb5GDYD"
)
_CONTEXT = {"platform": "tiktok", "listing_id": "1234567890", "seller": "tiktok:@shopa"}
_VERDICT: dict[str, Any] = {
    "status": "genuine",
    "source": "platform",
    "reasons": [
        {
            "code": "custody_verified",
            "message": "signed by its producer and recorded in the ledger from fishco to now "
            "(held by shop-a)",
            "evidence": {"custodian": "shop-a", "status": "active"},
        }
    ],
    "item": {
        "gtin": "08930001000018",
        "serial": "A1",
        "item_id": "01/08930001000018/21/A1",
        "lot": "L7",
        "producer": "fishco",
        "producer_name": "Fishco",
        "status": "active",
        "custodian": "shop-a",
    },
    "provenance": [
        {
            "index": 7,
            "type": "event.commission",
            "actor": "fishco",
            "time": "2026-10-09T08:53:26.001+00:00",
            "summary": "commissioned by fishco",
        }
    ],
    "proof": {
        "index": 7,
        "tree_size": 12,
        "leaf_hash": "dneeIrYT3nyoHYYD9lOtTN0QZVrWDCysIrkF2zzn3kA=",
        "inclusion_path": ["rjEhsGxBB8m6tS3P1S4gSgAc2lWnYCZtJ6cYZG7ZbcQ="],
        "checkpoint": "vt.example.vn/log\n12\n<base64 root hash>\n\n— vt.example.vn/log ...\n",
    },
}


class SessionProofIn(BaseModel):
    """A seller's signature over this scan in its declared stream session (docs/format.md)."""

    session_id: str = Field(..., pattern=r"^[\x21-\x7e]{1,128}$")
    key_id: str = Field(..., pattern=r"^[0-9a-f]{16}$")
    time: int = Field(..., ge=0, le=2**53, description="ms since the Unix epoch")
    signature: str = Field(..., pattern=r"^[A-Za-z0-9_-]{86}={0,2}$")


class Context(BaseModel):
    """Where the code was seen. All optional; a listing or stream makes it an offer.

    Naming a platform, seller or stream vouches for nothing: the verdict answers about
    this context, and only a platform API key (``X-API-Key``), a valid overlay ``nonce``
    or the seller's ``session_proof`` make it evidence that others' verdicts may use."""

    platform: str = Field(
        "",
        pattern=r"^[a-z0-9_.-]{0,32}$",
        examples=["tiktok"],
        description="the platform the code was seen on",
    )
    stream_id: str = Field(
        "", pattern=_PRINTABLE, examples=["live-2026-11-23"], description="the live stream's id"
    )
    listing_id: str = Field(
        "", pattern=_PRINTABLE, examples=["1234567890"], description="the listing's id"
    )
    seller: str = Field(
        "",
        pattern=r"^[\x21-\x7e]{0,140}$",
        examples=["tiktok:@shopname"],
        description="the seller's handle (platform:handle)",
    )
    place: str = Field("", pattern=r"^[A-Za-z0-9-]{0,16}$", description="coarse place code")
    nonce: str = Field(
        "",
        pattern=r"^([A-Za-z0-9_-]{96})?$",
        description="the overlay nonce of the listing QR the viewer came from",
    )
    session_proof: SessionProofIn | None = None


class VerifyRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": _CODE, "context": _CONTEXT}]}
    )

    code: str = Field(..., min_length=1, max_length=1024, description="the scanned URI")
    context: Context = Field(default_factory=Context)  # type: ignore[arg-type]


class BatchRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"codes": [_CODE], "context": _CONTEXT}]}
    )

    codes: list[str] = Field(..., min_length=1, max_length=MAX_BATCH)
    context: Context = Field(default_factory=Context)  # type: ignore[arg-type]


class Reason(BaseModel):
    code: str
    message: str
    evidence: dict[str, Any]


class Step(BaseModel):
    index: int
    type: str
    actor: str
    time: str
    summary: str


class Proof(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str
    inclusion_path: list[str]
    checkpoint: str


class VerifyResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_VERDICT]})

    status: Literal["genuine", "suspect", "counterfeit", "recalled", "invalid", "unverified"] = (
        Field(
            ...,
            examples=["genuine"],
            description="invalid: the code cannot be read (scan again or type it carefully), "
            "never a sign of a fake",
        )
    )
    source: Literal["platform", "session", "overlay", "anonymous"] = Field(
        "anonymous",
        description="who vouched for the context: only vouched contexts are evidence for "
        "others' verdicts (docs/threat-model.md)",
    )
    reasons: list[Reason]
    item: dict[str, Any]
    provenance: list[Step] = Field(default_factory=list)
    proof: Proof | None = None


class BatchResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {k: v for k, v in _VERDICT.items() if k not in ("provenance", "proof")}
                    ]
                }
            ]
        }
    )

    results: list[VerifyResponse]


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def result_json(result: VerifyResult) -> dict[str, Any]:
    """The JSON of a verify result (also what the viewer page renders)."""
    data: dict[str, Any] = result.verdict.to_obj()
    data["source"] = result.source
    view = result.view
    if view is not None:
        data["item"] = dict(data["item"], status=view.status, custodian=view.record.custodian)
        if view.product is not None:
            data["item"]["name"] = view.product.name
        data["provenance"] = [
            {
                "index": s.index,
                "type": s.type,
                "actor": s.actor,
                "time": _iso(s.event_time),
                "summary": s.summary,
            }
            for s in view.timeline
        ]
    proof = result.proof
    if proof is not None and result.checkpoint is not None:
        data["proof"] = {
            "index": proof.index,
            "tree_size": proof.tree_size,
            "leaf_hash": _b64(proof.leaf_hash),
            "inclusion_path": [_b64(h) for h in proof.hashes],
            "checkpoint": result.checkpoint,
        }
    return data


def _dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def verify_body(result: VerifyResult, code: str, tails: dict[Any, bytes]) -> bytes:
    """``result_json(result)`` as JSON bytes, built faster.

    Of a detailed result, only the verdict (status and reasons) depends on the scan; the
    rest (the item, its provenance and its proof) is a function of the code and of the
    snapshot the result was read from (``VerifyResult.snapshot``). That rest is
    serialised once per code and snapshot and kept in ``tails`` (one dict per app: a
    snapshot is a log size, meaningful for one ledger only)."""
    snapshot = result.snapshot
    if result.view is None or snapshot is None:
        return _dumps(result_json(result))
    key = (code, snapshot)
    tail = tails.get(key)
    if tail is None:
        rest = result_json(result)
        del rest["status"], rest["reasons"], rest["source"]
        tail = b"," + _dumps(rest)[1:]  # '"item":...}', after the verdict's fields
        if len(tails) >= _MAX_TAILS:
            tails.clear()
        tails[key] = tail
    verdict = result.verdict
    head = _dumps(
        {
            "status": verdict.status,
            "source": result.source,
            "reasons": [r.to_obj() for r in verdict.reasons],
        }
    )
    return head[:-1] + tail


def json_response(data: dict[str, Any]) -> Response:
    """Our own JSON, serialised once: ``result_json`` builds exactly the documented
    ``VerifyResponse`` shape (the schema tests check it), so FastAPI's second pass through
    the response model, which cost as much as the verdict itself, is skipped."""
    return Response(_dumps(data), media_type="application/json")


def _context(
    request: Request, given: Context | None = None, state: AppState | None = None
) -> Vouched:
    """The scan context and who vouches for it: a platform API key (checked here: a wrong
    key is a 401, not an anonymous request), an overlay nonce the operator signed for this
    platform, listing and stream (an expired or forged one vouches for nothing), or a
    seller's session proof (checked by the verifier against the log)."""
    state = state or state_of(request)
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
        device_hash(state.settings.scan_salt, hints),
        ctx.place,
        source,
    )
    return context, proof


def _verify(
    request: Request,
    code: str,
    context: Vouched,
    *,
    detail: bool = True,
    state: AppState | None = None,
    record: bool = True,
) -> VerifyResult:
    """The verdict of one code; ``record=False`` (a HEAD, a linkset) is not a scan: it is
    neither recorded, counted nor sent to webhooks."""
    state = state or state_of(request)
    now = now_ms()
    scan, proof = context
    result = state.verifier.verify(code, scan, now=now, detail=detail, proof=proof, record=record)
    if record:
        state.metrics.verdict(result.verdict.status)
        observe_verdict(request.app, result, now)  # clone signals of vouched contexts
    return result


async def verify(body: VerifyRequest, request: Request) -> Response:
    """Verify one scanned code in its context: an explained verdict with provenance and proof."""
    # Run on the event loop, not in the thread pool: a verify is a few hundred microseconds
    # of CPU and local reads, and handing it to a thread (and the GIL back) cost more than
    # the verify itself (docs/decisions.md). Batches, which can take longer, use the pool.
    state = state_of(request)
    result = _verify(request, body.code, _context(request, body.context, state), state=state)
    return Response(verify_body(result, body.code, state.rendered), media_type="application/json")


# The hot path: the body is read in one step (api/jsonroute.py).
router.add_api_route(
    "/v1/verify",
    verify,
    methods=["POST"],
    response_model=VerifyResponse,
    tags=["verify"],
    responses=_BAD_BODY,
    route_class_override=JsonBodyRoute,
    operation_id="verifyCode",
    summary="Verify Code",
    openapi_extra=OPTIONAL_KEY,
)


@router.post(
    "/v1/verify/batch",
    response_model=BatchResponse,
    tags=["verify"],
    responses=_BAD_BODY,
    operation_id="verifyBatch",
    openapi_extra=OPTIONAL_KEY,
)
def verify_batch(body: BatchRequest, request: Request) -> dict[str, Any]:
    """Verify up to 1,000 codes seen in the same context (verdicts only, no timelines)."""
    context = _context(request, body.context)
    return {
        "results": [result_json(_verify(request, c, context, detail=False)) for c in body.codes]
    }


def _resolve(request: Request) -> Response:
    """An item URL: the verdict in the representation the link type or ``Accept`` asks."""
    state = state_of(request)
    query = request.url.query
    # The path as printed (raw_path): decoded, an escaped '/' splits the serial and an
    # escaped '"' or '<' is no longer a valid code. Without raw_path, the decoded one.
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else request.url.path
    code = state.settings.resolver + path + (f"?{query}" if query else "")
    url = state.settings.resolver.rstrip("/") + path
    wanted = _representation(request)
    # HEAD, the linkset and the recall status are not scans: nothing is recorded for them.
    record = request.method == "GET" and wanted in ("html", "json")
    result = _verify(
        request, code, _context(request, _query_context(request)), detail=True, record=record
    )
    view = result.view
    known = view is not None and result.verdict.status != "counterfeit"
    record_href = None
    if known and view is not None:
        r = view.record
        record_href = (
            f"{state.settings.resolver.rstrip('/')}/v1/items/{r.gtin}/" + path.rsplit("/21/", 1)[1]
        )
    links = resolver.item_links(url, query, record=record_href)
    size = result.snapshot[0] if result.snapshot else state.service.store.size()
    answer = _Answer(request, url, query, links, size)
    if wanted == "traceability":
        if record_href is None:
            return answer.error(404, "link_type_not_offered", "the ledger holds no such item")
        return answer.redirect(record_href)
    data = result_json(result)
    description = str(data["item"].get("name") or "")
    if wanted == "recall":
        recalled = bool(view is not None and view.recalled)
        return answer.json("recall", _recall_status(data, recalled=recalled, known=known))
    return answer.render(wanted, data, description)


def _recall_status(data: dict[str, Any], *, recalled: bool, known: bool) -> dict[str, Any]:
    """The ``gs1:recallStatus`` answer: is the item (or its lot or GTIN) recalled?"""
    item = {k: v for k, v in data["item"].items() if k in ("gtin", "serial", "lot", "producer")}
    return {
        "recalled": recalled,
        "known": known,
        "status": data["status"],
        "item": item,
        "reasons": [r for r in data["reasons"] if "recall" in r["code"]],
    }


_LINK_TYPES = {
    resolver.PIP: "html",
    resolver.VERIFICATION: "json",
    resolver.RECALL: "recall",
    resolver.TRACEABILITY: "traceability",
    resolver.ALL: "linkset",
}


def _representation(request: Request) -> str:
    """What to answer: the link type asked (``?linkType=``), else by ``Accept``:
    ``html``, ``json``, ``linkset``, ``recall``, ``traceability`` or ``unknown``."""
    link_type = resolver.link_type_of(request.query_params)
    if link_type is not None:
        return _LINK_TYPES.get(link_type, "unknown")
    accept = request.headers.get("accept", "")
    if "text/html" in accept:
        return "html"
    if resolver.LINKSET_JSON in accept:
        return "linkset"
    return "json"


def _private(request: Request) -> bool:
    """Does the answer depend on the request's context (docs/api.md, Resolver, caching)?"""
    return bool(request.headers.get("x-api-key")) or any(
        p in resolver.CONTEXT_PARAMETERS for p in request.query_params
    )


class _Answer:
    """One resolver answer with its headers: ``Link``, ``Vary``, ``Cache-Control``, ``ETag``;
    a 304 for a matching ``If-None-Match``, headers without a body for ``HEAD``."""

    def __init__(
        self, request: Request, url: str, query: str, links: list[resolver.Link], size: int
    ) -> None:
        self.request = request
        self.private = _private(request)
        self.size = size
        kept = "&".join(
            p for p in query.split("&") if p and p.split("=")[0] not in ("linkType", "linktype")
        )
        self.anchor = url + (f"?{kept}" if kept else "")
        self.links = links
        linkset_href = resolver.linkset_href(url, query)
        self.headers = {
            "Link": resolver.link_header(links, linkset_href),
            "Vary": resolver.VARY,
            "Cache-Control": resolver.cache_control(private=self.private),
        }

    def _send(self, body: bytes, media_type: str, status: int, tag: tuple[str, str]) -> Response:
        headers = dict(self.headers)
        if not self.private and status == 200:
            etag = resolver.entity_tag(self.size, tag[0], tag[1], body)
            headers["ETag"] = etag
            if resolver.not_modified(self.request.headers.get("if-none-match"), etag):
                return Response(status_code=304, headers=headers)
        if self.request.method == "HEAD":
            headers["Content-Length"] = str(len(body))
            return Response(status_code=status, headers=headers, media_type=media_type)
        return Response(body, status_code=status, headers=headers, media_type=media_type)

    def json(self, representation: str, data: dict[str, Any], status: int = 200) -> Response:
        return self._send(_dumps(data), "application/json", status, (representation, "-"))

    def render(self, wanted: str, data: dict[str, Any], description: str) -> Response:
        if wanted == "html":
            from api.routes.pages import render_viewer  # noqa: PLC0415 - pages import this module

            language = pick_language(self.request.headers.get("accept-language"))
            page = render_viewer(data, language).encode("utf-8")
            return self._send(page, "text/html; charset=utf-8", 200, ("html", language))
        if wanted == "linkset":
            body = _dumps(resolver.linkset(self.anchor, self.links, description=description))
            return self._send(body, resolver.LINKSET_JSON, 200, ("linkset", "-"))
        if wanted == "unknown":
            return self.error(
                404,
                "link_type_not_offered",
                "this URL offers no link of that type; ask ?linkType=linkset for those it offers",
            )
        return self.json("json", data)

    def error(self, status: int, code: str, message: str) -> Response:
        return _problem(self.request, status, code, message, dict(self.headers))

    def redirect(self, href: str) -> Response:
        headers = dict(self.headers, Location=href)
        return Response(status_code=307, headers=headers)


_QUERY_FIELDS = (
    ("platform", "platform"),
    ("stream", "stream_id"),
    ("listing", "listing_id"),
    ("seller", "seller"),
    ("n", "nonce"),
)


def _query_context(request: Request) -> Context:
    """The context a resolver URL names (``?platform=&stream=&listing=&seller=&n=``). A
    printed code is opened by every phone, so a value that is not a valid context field
    (``?platform=X``, ``?seller=%20``) is left out, never an error: the code is still
    verified, in the context that remains."""
    params = request.query_params
    given: dict[str, str] = {}
    for name, field in _QUERY_FIELDS:
        value = params.get(name, "").strip()
        if field == "platform":
            value = value.lower()
        if not value:
            continue
        try:
            Context.model_validate({field: value})
        except ValidationError:
            continue
        given[field] = value
    return Context.model_validate(given)


_RESOLVER_ERRORS = error_responses(
    (400, "Not a GS1 Digital Link path"),
    (404, "No registered producer for the GTIN, or no link of the type asked"),
)


async def resolve(gtin: str, serial: str, request: Request) -> Response:
    """The GS1 Digital Link resolver: viewer page for browsers, verdict JSON for programs,
    other links by ``?linkType=`` (docs/api.md, Resolver)."""
    return _resolve(request)


async def resolve_with_lot(gtin: str, lot: str, serial: str, request: Request) -> Response:
    """The resolver for codes that carry a lot."""
    return _resolve(request)


async def resolve_product(gtin: str, request: Request) -> Response:
    """A product URL (``/01/{gtin}``): the product's page and links, with a product-level
    verdict that never says an item is genuine (docs/api.md, Resolver)."""
    return _resolve_product(request)


def _problem(
    request: Request, status: int, code: str, message: str, headers: dict[str, str]
) -> Response:
    """An error answer of the resolver; for HEAD, its headers without the body."""
    response = error_response(status, code, message, headers=headers)
    if request.method == "HEAD":
        response.body = b""
    return response


_SHORT_GTIN = re.compile(r"^/01/([0-9]{8}|[0-9]{12,13})(?=/|$)")


async def resolve_lot(gtin: str, lot: str, request: Request) -> Response:
    """A lot's URL (``/01/{gtin}/10/{lot}``): the product's page and links for that lot,
    ``recalled`` when the producer recalled the lot or the GTIN."""
    return _resolve_product(request)


def _resolve_product(request: Request) -> Response:
    state = state_of(request)
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else request.url.path
    url = state.settings.resolver.rstrip("/") + path
    plain = {"Vary": resolver.VARY, "Cache-Control": resolver.cache_control(private=False)}
    # A GTIN-8, -12 or -13 is its 14-digit zero-padded form, as in item codes (ledger.codes.signed).
    padded = _SHORT_GTIN.sub(lambda m: "/01/" + m.group(1).zfill(14), path)
    try:
        link = DigitalLink.from_uri(state.settings.resolver.rstrip("/") + padded)
    except errors.TracemarkError as exc:
        message = f"not a GS1 Digital Link path: {exc}"
        return _problem(request, 400, "not_digital_link", message, plain)
    ais = tuple(ai for ai, _ in link.path)
    if ais not in (("01",), ("01", "10")):
        message = f"this resolver answers no {'/'.join(ais)} path"
        return _problem(request, 404, "not_resolvable", message, plain)
    gtin, lot = gtin14(link.get("01") or ""), link.get("10") or ""
    found = product_facts(state.service.store, gtin, lot)
    if found is None:
        message = f"no registered producer owns GTIN {gtin}"
        return _problem(request, 404, "unknown_product", message, plain)
    size, facts = found
    verdict = judge_product(facts)
    data: dict[str, Any] = verdict.to_obj()
    data["source"] = ANONYMOUS
    data["item"] = dict(data["item"], producer_name=facts.producer_name)
    if facts.name:
        data["item"]["name"] = facts.name
    data["provenance"] = []
    query = request.url.query
    answer = _Answer(request, url, query, resolver.product_links(url, query), size)
    wanted = _representation(request)
    if wanted == "recall":
        recalled = verdict.status == RECALLED
        return answer.json("recall", _recall_status(data, recalled=recalled, known=True))
    if wanted == "traceability":
        wanted = "unknown"
    return answer.render(wanted, data, facts.name)


def _not_digital_link(rest: str, request: Request) -> Response:
    """Any other path under ``/01/``: 400 unless it parses (then 404), as Resolver CE does."""
    return _resolve_product(request)


# GET and HEAD on every resolver path (HEAD is left out of the OpenAPI); the catch-all last.
for _path, _handler in (
    ("/01/{gtin}/21/{serial:path}", resolve),
    ("/01/{gtin}/10/{lot:path}/21/{serial:path}", resolve_with_lot),
    ("/01/{gtin}", resolve_product),
    ("/01/{gtin}/10/{lot}", resolve_lot),
    ("/01/{rest:path}", _not_digital_link),
):
    router.add_api_route(
        _path,
        _handler,
        methods=["GET"],
        tags=["resolver"],
        response_model=VerifyResponse,
        responses=_RESOLVER_ERRORS,
        include_in_schema=_handler is not _not_digital_link,
    )
    router.add_api_route(_path, _handler, methods=["HEAD"], include_in_schema=False)


@router.get("/healthz", tags=["operations"], operation_id="getHealth")
def healthz(request: Request) -> dict[str, Any]:
    """Liveness and the log's size (reads the database)."""
    state = state_of(request)
    return {"ok": True, "tree_size": state.service.store.head().size}


@router.get("/v1/ping", tags=["operations"])
async def ping() -> dict[str, bool]:
    """A constant answer: the baseline of the service benchmark (no database, no crypto)."""
    return {"ok": True}


@router.get(
    "/metrics", tags=["operations"], response_class=PlainTextResponse, operation_id="getMetrics"
)
def metrics(request: Request) -> str:
    """Prometheus metrics of this worker: requests, latencies, verdicts."""
    return state_of(request).metrics.render()
