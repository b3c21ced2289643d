"""Routes: shoppers' reports. ``POST /v1/reports`` (JSON) and ``POST /report`` (the viewer
page's form, a plain ``application/x-www-form-urlencoded`` POST answered with a thank-you
page: no script needed).

A report names the scanned code (or an item id), a reason, an optional short text and an
optional contact. It is classified by who vouches for its context exactly as a scan is
(``scan_context`` and the verifier: a platform API key, an overlay nonce the log backs, a
seller's session proof; anything else is ``anonymous``), kept outside the log
(``ledger.ports.reports``; no network address is kept) and sent as a ``report.received``
webhook event to the platform that vouched for it and to platforms watching the item. It
never changes a verdict: an anonymous report is a weak signal for the producer
(``tracemark reports list``). Reports are limited per client (``REPORTS_PER_MINUTE``) on
top of the public limit.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.http.apidocs import OPTIONAL_KEY
from api.http.deps import StateDep
from api.http.errors import ERRORS, error_response
from api.http.pages.i18n import language_of
from api.http.pages.report import render_report_answer
from api.http.schemas import Context, ReportIn, ReportOut
from api.http.state import AppState
from api.http.verification import scan_context
from api.webhooks import producer_owner
from ledger import errors
from ledger.codes.identifiers import parse_item_id
from ledger.ports.reports import Report
from ledger.provenance.records import Item
from ledger.usecases.queries import product_facts
from ledger.usecases.reports import file_report
from ledger.usecases.service import now_ms
from ledger.verdicts import OVERLAY, ScanContext

__all__ = ["router"]

router = APIRouter(tags=["reports"])
log = logging.getLogger("tracemark.platform")

_FORM_FIELDS = ("code", "reason", "text", "contact", "lang")
_FORM_CONTEXT = ("platform", "stream_id", "listing_id", "seller", "nonce")
_MAX_FORM_FIELDS = 16


def _limited(request: Request, state: AppState) -> dict[str, str] | None:
    """The Retry-After headers when this client made too many reports this minute."""
    limiter = state.report_limiter
    if limiter is None:
        return None
    client = request.client.host if request.client else "unknown"
    decision = limiter.decide(client)  # counted in memory or the shared storage; never kept
    if decision is None or decision.allowed:
        return None
    state.metrics.rate_limited(decision.policy)
    return decision.headers()


def _make(request: Request, state: AppState, body: ReportIn) -> Report:
    """Classify, check and keep one report; send it to the platforms concerned."""
    if bool(body.code) == bool(body.item):
        raise errors.InvalidInput("give the scanned code or an item id, one of them")
    now = now_ms()
    scan, proof = scan_context(request, state, body.context)
    store = state.service.store
    if body.code:
        result = state.verifier.verify(
            body.code, scan, now=now, detail=False, proof=proof, record=False
        )
        context = result.context or scan
        status = result.verdict.status
        item_id = str(result.verdict.item.get("item_id") or "")
        gtin = str(result.verdict.item.get("gtin") or "")
    else:
        ref = parse_item_id(body.item)
        item_id, gtin, status = ref.item_id, ref.gtin, ""
        # An overlay nonce or a session proof vouch only for a code the log can check.
        context = scan if scan.source != OVERLAY and proof is None else _anonymous(scan)
    with store.reader() as view:
        record = view.get(Item, (item_id,)) if item_id else None
    if body.item and record is None:
        raise errors.NotFound(f"{item_id} was never commissioned", code="unknown_item")
    # A counterfeit's serial was never made: its producer is the GTIN's, who must hear of it.
    producer = record.producer if record is not None else _gtin_producer(state, gtin)
    report = Report.new(
        "rep_" + secrets.token_hex(10),
        now,
        item_id=item_id,
        gtin=gtin,
        producer=producer,
        status=status,
        reason=body.reason,
        text=body.text,
        contact=body.contact,
        platform=context.platform,
        stream_id=context.stream_id,
        listing_id=context.listing_id,
        seller=context.seller,
        source=context.source,
        session=context.session,
    )
    file_report(store, report)
    _notify(state, report, now)
    return report


def _gtin_producer(state: AppState, gtin: str) -> str:
    """The registered producer of a GTIN ("" for none, or no GTIN)."""
    if not (len(gtin) == 14 and gtin.isdigit()):
        return ""
    found = product_facts(state.service.store, gtin)
    return found[1].producer if found is not None else ""


def _anonymous(c: ScanContext) -> ScanContext:
    return ScanContext(c.platform, c.stream_id, c.listing_id, c.seller, c.device, c.place)


def _notify(state: AppState, report: Report, now: int) -> None:
    """``report.received`` to the platform that vouched for the report, to platforms
    watching the item, and to the webhooks of the report's producer (set in the console;
    weak reports too, deduplicated per hour as for platforms). Never raises: the report is
    kept whatever the queue does."""
    try:
        platform = state.platform
        names = {report.platform} if not report.weak else set()
        if report.item_id:
            names.update(w.platform for w in platform.store.watches(item_id=report.item_id))
        if report.producer:
            names.add(producer_owner(report.producer))
        for name in sorted(names - {""}):
            platform.dispatcher.report_received(name, report, now)
    except errors.TracemarkError as exc:
        log.warning("report event not queued: %s", exc.message)


def _out(report: Report) -> dict[str, Any]:
    return {
        "id": report.report_id,
        "time": report.time,
        "item_id": report.item_id,
        "status": report.status,
        "source": report.source,
        "weak": report.weak,
    }


@router.post(
    "/v1/reports",
    status_code=201,
    response_model=ReportOut,
    responses=ERRORS,
    operation_id="createReport",
    openapi_extra=OPTIONAL_KEY,
)
def create_report(body: ReportIn, request: Request, state: StateDep) -> Any:
    """Report a scanned code (or an item): kept for its producer, sent to the platforms
    concerned; classified by who vouches for the context; never changes a verdict."""
    limited = _limited(request, state)
    if limited is not None:
        return error_response(429, "rate_limited", "too many reports; slow down", limited)
    return _out(_make(request, state, body))


@router.post("/report", include_in_schema=False, response_class=HTMLResponse)
async def report_form(request: Request, state: StateDep) -> Response:
    """The viewer page's report form (urlencoded): a thank-you page, or why not."""
    raw = await request.body()
    # The limit's storage, the verify and the write are blocking: not on the event loop.
    return await run_in_threadpool(_form_answer, request, state, raw)


def _form_answer(request: Request, state: AppState, raw: bytes) -> Response:
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"), keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        pairs = []
    form = {k: v for k, v in pairs if k in _FORM_FIELDS or k in _FORM_CONTEXT}
    lang = language_of(form.get("lang"), request.headers.get("accept-language"))
    code = form.get("code", "")
    parts = urlsplit(code)
    back = parts.path + (f"?{parts.query}" if parts.query else "") if code else ""
    back = back if back.startswith("/01/") else ""

    def answer(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        html = render_report_answer(lang, sent=status < 400, back=back, message=message)
        return HTMLResponse(html, status_code=status, headers=headers)

    limited = _limited(request, state)
    if limited is not None:
        return answer(429, "Too many reports from here; try again in a minute.", limited)
    try:
        context = Context.model_validate({k: form[k] for k in _FORM_CONTEXT if form.get(k)})
        body = ReportIn.model_validate(
            {
                "code": code,
                "reason": form.get("reason", ""),
                "text": form.get("text", ""),
                "contact": form.get("contact", ""),
                "context": context,
            }
        )
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem.get("loc", ()))
        return answer(422, f"{where}: {problem.get('msg', 'invalid')}")
    try:
        _make(request, state, body)
    except errors.TracemarkError as exc:
        return answer(422 if isinstance(exc, errors.InvalidInput) else 404, exc.message)
    return answer(200, "")
