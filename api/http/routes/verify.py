"""Routes: the Digital Link resolver and scan-verify (``/01/...``, ``/v1/verify``), health.

The resolver answers the URL printed in every QR code: browsers (``Accept: text/html``) get
the viewer page, programs get the verdict JSON. ``POST /v1/verify`` takes a code and where
it was seen (platform, stream, listing, seller) and returns the explained verdict with the
item's provenance and an inclusion proof; ``/v1/verify/batch`` takes up to 1,000 codes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import ValidationError

from api.http import resolver
from api.http.apidocs import OPTIONAL_KEY
from api.http.attested import attested_json
from api.http.deps import StateDep, state_of
from api.http.errors import ERRORS, error_response, error_responses
from api.http.jsonroute import JsonBodyRoute
from api.http.pages.i18n import language_of
from api.http.pages.kit import CSP_VIEWER
from api.http.pages.viewer import PageExtras, render_viewer_page
from api.http.schemas import BatchRequest, BatchResponse, Context, VerifyRequest, VerifyResponse
from api.http.state import AppState
from api.http.verification import (
    dumps,
    scan_context,
    verify_body,
    verify_code,
    witnesses_of,
)
from api.results import result_json
from ledger import errors
from ledger.codes.gs1 import DigitalLink, gtin14
from ledger.usecases.queries import actor_names, product_facts, recall_notice
from ledger.usecases.service import now_ms
from ledger.verdicts import ANONYMOUS, RECALLED, judge_product

__all__ = ["router"]

router = APIRouter()
#: A body that is not JSON at all is a 400 (app-wide handler), a JSON body of the wrong shape 422.
_BAD_BODY: dict[int | str, dict[str, Any]] = {400: ERRORS[400], 422: ERRORS[422], 429: ERRORS[429]}


async def verify(body: VerifyRequest, request: Request) -> Response:
    """Verify one scanned code in its context: an explained verdict with provenance and proof."""
    # Run on the event loop, not in the thread pool: a verify is a few hundred microseconds
    # of CPU and local reads, and handing it to a thread (and the GIL back) cost more than
    # the verify itself (docs/decisions.md). Batches, which can take longer, use the pool.
    # JsonBodyRoute calls the endpoint with (body, request) only: no dependencies here.
    state = state_of(request)
    result = verify_code(state, body.code, scan_context(request, state, body.context))
    extra = attested_json(state, result, now_ms())
    body_bytes = verify_body(result, body.code, state.rendered, witnesses_of(state, result), extra)
    return Response(body_bytes, media_type="application/json")


# The hot path: the body is read in one step (api/http/jsonroute.py).
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
def verify_batch(body: BatchRequest, request: Request, state: StateDep) -> dict[str, Any]:
    """Verify up to 1,000 codes seen in the same context (verdicts only, no timelines)."""
    context = scan_context(request, state, body.context)
    return {
        "results": [result_json(verify_code(state, c, context, detail=False)) for c in body.codes]
    }


def _resolve(request: Request, state: AppState) -> Response:
    """An item URL: the verdict in the representation the link type or ``Accept`` asks."""
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
    result = verify_code(
        state, code, scan_context(request, state, _query_context(request)), record=record
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
    data = result_json(result, witnesses_of(state, result))
    data.update(attested_json(state, result, now_ms()))
    description = str(data["item"].get("name") or "")
    if wanted == "recall":
        recalled = bool(view is not None and view.recalled)
        return answer.json("recall", _recall_status(data, recalled=recalled, known=known))
    context = result.context
    seller = context.seller if context is not None and ":" not in context.seller else ""
    return answer.render(
        wanted, data, description, lambda: _extras(request, state, data, path, seller)
    )


_FORM_CONTEXT = (
    ("platform", "platform"),
    ("stream", "stream_id"),
    ("listing", "listing_id"),
    ("seller", "seller"),
    ("n", "nonce"),
)


def _actor_ids(data: dict[str, Any]) -> list[str]:
    """Every actor id a viewer page may name: producer, holder, timeline, reasons."""
    item = data.get("item") or {}
    ids = [str(item.get("producer") or ""), str(item.get("custodian") or "")]
    ids += [str(step.get("actor", "")) for step in data.get("provenance") or []]
    for reason in data.get("reasons") or []:
        evidence = reason.get("evidence") or {}
        ids += [str(evidence.get(k, "")) for k in ("seller", "custodian")]
        ids += [str(s) for s in evidence.get("sellers", []) if isinstance(s, str)]
    return ids


def _extras(
    request: Request, state: AppState, data: dict[str, Any], path: str, seller: str = ""
) -> PageExtras:
    """What the viewer page shows beyond the verdict: names, time zone, the recall's
    reason and contact, the URL for the language switch, the report form's fields and the
    seller of the scan's context (whose identity checks ``seller_identity`` holds)."""
    store = state.service.store
    item = data.get("item") or {}
    recall = None
    if data.get("status") == "recalled" and item.get("item_id"):
        notice = recall_notice(store, str(item["item_id"]))
        if notice is not None:
            when = dt.datetime.fromtimestamp(notice.event_time / 1000, dt.UTC)
            recall = {"reason": notice.reason, "contact": notice.contact, "time": when.isoformat()}
    query = request.url.query
    kept = "&".join(p for p in query.split("&") if p and p.split("=", 1)[0] != "lang")
    params = request.query_params
    context = {field: params.get(name, "")[:200] for name, field in _FORM_CONTEXT}
    return PageExtras(
        names=actor_names(store, [*_actor_ids(data), seller]),
        zone=state.settings.timezone,
        recall=recall,
        path=path,
        query=query,
        code=state.settings.resolver.rstrip("/") + path + (f"?{kept}" if kept else ""),
        context={k: v for k, v in context.items() if v},
        seller=seller if "seller_identity" in data else "",
    )


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
        return self._send(dumps(data), "application/json", status, (representation, "-"))

    def render(
        self,
        wanted: str,
        data: dict[str, Any],
        description: str,
        extras: Callable[[], PageExtras] | None = None,
    ) -> Response:
        if wanted == "html":
            language = language_of(
                self.request.query_params.get("lang"), self.request.headers.get("accept-language")
            )
            shown = extras() if extras is not None else PageExtras()
            page = render_viewer_page(data, language, shown).encode("utf-8")
            self.headers["Content-Security-Policy"] = CSP_VIEWER
            return self._send(page, "text/html; charset=utf-8", 200, ("html", language))
        if wanted == "linkset":
            body = dumps(resolver.linkset(self.anchor, self.links, description=description))
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


async def resolve(gtin: str, serial: str, request: Request, state: StateDep) -> Response:
    """The GS1 Digital Link resolver: viewer page for browsers, verdict JSON for programs,
    other links by ``?linkType=`` (docs/api.md, Resolver)."""
    return _resolve(request, state)


async def resolve_with_lot(
    gtin: str, lot: str, serial: str, request: Request, state: StateDep
) -> Response:
    """The resolver for codes that carry a lot."""
    return _resolve(request, state)


async def resolve_product(gtin: str, request: Request, state: StateDep) -> Response:
    """A product URL (``/01/{gtin}``): the product's page and links, with a product-level
    verdict that never says an item is genuine (docs/api.md, Resolver)."""
    return _resolve_product(request, state)


def _problem(
    request: Request, status: int, code: str, message: str, headers: dict[str, str]
) -> Response:
    """An error answer of the resolver; for HEAD, its headers without the body."""
    response = error_response(status, code, message, headers=headers)
    if request.method == "HEAD":
        response.body = b""
    return response


_SHORT_GTIN = re.compile(r"^/01/([0-9]{8}|[0-9]{12,13})(?=/|$)")


async def resolve_lot(gtin: str, lot: str, request: Request, state: StateDep) -> Response:
    """A lot's URL (``/01/{gtin}/10/{lot}``): the product's page and links for that lot,
    ``recalled`` when the producer recalled the lot or the GTIN."""
    return _resolve_product(request, state)


def _resolve_product(request: Request, state: AppState) -> Response:
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
    return answer.render(wanted, data, facts.name, lambda: _extras(request, state, data, path))


def _not_digital_link(rest: str, request: Request, state: StateDep) -> Response:
    """Any other path under ``/01/``: 400 unless it parses (then 404), as Resolver CE does."""
    return _resolve_product(request, state)


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
def healthz(state: StateDep) -> dict[str, Any]:
    """Liveness and the log's size (reads the database)."""
    return {"ok": True, "tree_size": state.service.store.head().size}


@router.get("/v1/ping", tags=["operations"])
async def ping() -> dict[str, bool]:
    """A constant answer: the baseline of the service benchmark (no database, no crypto)."""
    return {"ok": True}


@router.get(
    "/metrics", tags=["operations"], response_class=PlainTextResponse, operation_id="getMetrics"
)
def metrics(state: StateDep) -> str:
    """Prometheus metrics of this worker: requests, latencies, verdicts."""
    return state.metrics.render()
