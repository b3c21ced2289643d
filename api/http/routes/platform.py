"""Routes: the platform API. Every endpoint needs a platform API key (``X-API-Key``).

    POST   /v1/listings/verify               up to 1,000 listings -> a verdict per listing
    GET    /v1/reports/regulator             a period's regulator report (operator-signed)

A key belongs to a platform name (``tracemark platform add tiktok``): it may only ask about
that platform's listings. The app's per-client limiter skips requests that carry a key; the
key check (``KeyDep``, api/http/deps.py) limits each key in its own bucket, and a missing or
wrong key spends a token of the client's public bucket (no free guessing).

Sections: gathering a listing's facts; the listing route. The verdict rules are
ledger/verdicts/listings.py's (``judge``); clone signals of the codes' verdicts are
api/http/verification.py's (``observe_verdict``); webhook delivery is api/webhooks.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Security
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.http.apidocs import api_key_header
from api.http.attested import identity_json, qualifications_json
from api.http.deps import KeyDep, StateDep
from api.http.errors import PLATFORM_ERRORS, ErrorResponse, PlatformError, PlatformRoute
from api.http.schemas import ListingsResponse, RegulatorReportOut
from api.http.verification import observe_verdict
from api.periods import period
from ledger import errors
from ledger.codes.gs1 import gtin14
from ledger.ports.log import ProjectionReader
from ledger.ports.platform import Watch
from ledger.provenance.handles import handle_key
from ledger.provenance.records import Actor, Handle, Item, Listing, Recall
from ledger.provenance.rules.common import gtin_owner, is_recalled
from ledger.usecases.regulator import build_report
from ledger.usecases.service import now_ms
from ledger.verdicts import PLATFORM, ScanContext, Verdict
from ledger.verdicts.listings import ListingFacts, judge

__all__ = ["MAX_CODES_PER_BATCH", "MAX_LISTINGS", "router"]

MAX_LISTINGS = 1_000
MAX_CODES_PER_LISTING = 100
MAX_CODES_PER_BATCH = 2_000
WATCH_RETENTION_MS = 90 * 24 * 3_600_000

router = APIRouter(
    route_class=PlatformRoute,
    responses=PLATFORM_ERRORS,
    dependencies=[Security(api_key_header)],  # the OpenAPI scheme; KeyDep checks it
)


# --- gathering facts -----------------------------------------------------------------------------


class ListingIn(BaseModel):
    seller: str = Field(..., pattern=r"^[\x21-\x7e]{1,140}$", examples=["tiktok:@shopname"])
    platform: str = Field(..., pattern=r"^[a-z0-9_.-]{1,32}$", examples=["tiktok"])
    listing_id: str = Field(..., pattern=r"^[\x21-\x7e]{1,128}$", examples=["1234567890"])
    gtin: str = Field(..., pattern=r"^[0-9]{8,14}$", examples=["08930001000011"])
    quantity: int = Field(1, ge=1, le=1_000_000)
    codes: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(
        default_factory=list, max_length=MAX_CODES_PER_LISTING
    )

    @field_validator("gtin")
    @classmethod
    def _gtin(cls, value: str) -> str:
        try:
            return gtin14(value)
        except errors.InvalidInput as exc:
            raise ValueError(exc.message) from None

    @property
    def handle(self) -> str:
        return self.seller if ":" in self.seller else f"{self.platform}:{self.seller}"


#: The examples of the OpenAPI schema (/docs, generated clients).
_LISTING = {"seller": "tiktok:@shopa", "platform": "tiktok", "listing_id": "1234567890"}
_LISTINGS_EXAMPLE = {"listings": [{**_LISTING, "gtin": "08930001000018", "quantity": 5}]}


class ListingsRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_LISTINGS_EXAMPLE]})

    listings: list[ListingIn] = Field(..., min_length=1, max_length=MAX_LISTINGS)


def _facts(
    view: ProjectionReader, given: ListingIn, recalls: dict[str, list[Recall]]
) -> ListingFacts:
    handle = view.get(Handle, (handle_key(given.handle),))
    seller = view.get(Actor, (handle.actor_id,)) if handle is not None else None
    owner = gtin_owner(view, given.gtin)
    producer = view.get(Actor, (owner.actor_id,)) if owner is not None else None
    declared = view.get(Listing, (given.platform, given.listing_id))
    held, listed_recalled = 0, tuple[str, ...]()
    if seller is not None:
        if declared is not None and declared.seller == seller.actor_id and declared.serials:
            items = [view.get(Item, (ident,)) for ident in declared.serials]
            listed_recalled = tuple(
                i.item_id for i in items if i is not None and is_recalled(view, i)
            )
            held = sum(
                1
                for i in items
                if i is not None
                and i.custodian == seller.actor_id
                and i.status == "active"
                and i.item_id not in listed_recalled
            )
        else:
            held = view.stock(seller.actor_id, given.gtin)
    return ListingFacts(
        platform=given.platform,
        listing_id=given.listing_id,
        handle=given.handle,
        gtin=given.gtin,
        quantity=given.quantity,
        seller=seller,
        producer=producer.actor_id
        if producer is not None and producer.status == "active"
        else None,
        declared=declared,
        held=held,
        listed_recalled=listed_recalled,
        recalls=tuple(recalls.get(given.gtin, ())),
        given_codes=bool(given.codes),
    )


def _listing_json(
    facts: ListingFacts, verdict: Verdict, codes: Sequence[tuple[str, Verdict]]
) -> dict[str, Any]:
    seller = facts.seller
    declared = facts.declared
    return {
        "platform": facts.platform,
        "listing_id": facts.listing_id,
        "status": verdict.status,
        "reasons": [r.to_obj() for r in verdict.reasons],
        "seller": {
            "handle": facts.handle,
            "actor_id": seller.actor_id if seller else None,
            "registered": seller is not None,
            "verified": bool(seller and seller.verified),
            "active": bool(seller and seller.status == "active"),
        },
        "stock": {
            "gtin": facts.gtin,
            "producer": facts.producer,
            "held": facts.held,
            "quantity": facts.quantity,
            "declared": declared is not None,
            "listing_status": declared.status if declared else None,
        },
        "recalls": [
            {"gtin": r.gtin, "lot": r.lot, "reason": r.reason, "index": r.recall_index}
            for r in facts.recalls
        ],
        "codes": [
            {"code": code, "item_id": v.item.get("item_id"), **v.to_obj()} for code, v in codes
        ],
    }


# --- routes --------------------------------------------------------------------------------------


@router.post(
    "/v1/listings/verify",
    response_model=ListingsResponse,
    tags=["platform"],
    operation_id="verifyListings",
    responses={
        403: {
            "model": ErrorResponse,
            "description": "A listing names another platform than the key's (platform_mismatch)",
        }
    },
)
def verify_listings(body: ListingsRequest, key: KeyDep, state: StateDep) -> dict[str, Any]:
    """Verify up to 1,000 listings: seller, stock from registered producers, recalls, clone
    signals of the codes given, and an explained verdict per listing."""
    for position, given in enumerate(body.listings):
        if given.platform != key.platform:
            raise PlatformError(
                403,
                "platform_mismatch",
                f"listings.{position}: this API key speaks for {key.platform}, "
                f"not {given.platform}",
            )
    if sum(len(g.codes) for g in body.listings) > MAX_CODES_PER_BATCH:
        raise errors.LimitExceeded(f"a batch carries at most {MAX_CODES_PER_BATCH} codes")
    now = now_ms()
    with state.service.store.reader() as view:
        recalls: dict[str, list[Recall]] = {}
        for recall in view.rows(Recall.TABLE):
            recalls.setdefault(recall.gtin, []).append(recall)
        all_facts = [_facts(view, given, recalls) for given in body.listings]
    results: list[dict[str, Any]] = []
    watches: list[Watch] = []
    for given, facts in zip(body.listings, all_facts, strict=True):
        # The handle as given, resolved by the verifier on this platform: a handle of another
        # platform (handle_platform_mismatch above) names no seller the key speaks for.
        context = ScanContext(given.platform, "", given.listing_id, given.handle, source=PLATFORM)
        checked: list[tuple[str, Verdict]] = []
        for code in given.codes:
            result = state.verifier.verify(code, context, now=now)
            state.metrics.verdict(result.verdict.status)
            checked.append((code, result.verdict))
            observe_verdict(state, result, now, also=(key.platform,))
        verdict = judge(facts, [v for _, v in checked])
        answer = _listing_json(facts, verdict, checked)
        if facts.seller is not None:  # "identity verified by X, level, until"
            answer["seller"]["identity"] = identity_json(state, facts.seller.actor_id, now) or []
        answer["qualifications"] = qualifications_json(state, given.gtin, "", now)
        results.append(answer)
        items = sorted({v.item["item_id"] for _, v in checked if v.item.get("item_id")}) or [""]
        owner = facts.seller.actor_id if facts.seller else ""
        watches.extend(
            Watch(given.platform, given.listing_id, item, given.gtin, owner, now) for item in items
        )
    state.platform.store.watch(watches, now - WATCH_RETENTION_MS)
    return {"results": results}


# --- regulator reports ---------------------------------------------------------------------

MAX_REPORT_DAYS = 366


@router.get(
    "/v1/reports/regulator",
    response_model=RegulatorReportOut,
    operation_id="getRegulatorReport",
)
def regulator_report(
    key: KeyDep,
    state: StateDep,
    start: str = Query(
        ...,
        alias="from",
        max_length=40,
        examples=["2026-07-01"],
        description="The period's first day (or date-time) in tz",
    ),
    end: str = Query(
        ...,
        alias="to",
        max_length=40,
        examples=["2026-07-31"],
        description="Its last day, included (or a date-time, excluded); the period must have ended",
    ),
    tz: str = Query(
        "UTC", max_length=64, examples=["Asia/Ho_Chi_Minh"], description="An IANA time zone"
    ),
    report_format: str = Query(
        "both",
        alias="format",
        pattern="^(csv|epcis|both)$",
        description="csv, epcis or both (report.json always)",
    ),
) -> dict[str, Any]:
    """A regulator report of a period (dates in ``tz``; ``to`` is the last day), signed by
    the operator and proved against a fresh checkpoint: streams, listings, items sold and
    claimed, recalls (public entries of the log, each with its inclusion proof) and the
    clone alerts of this key's platform (signed, not log-backed). 503 ``no_operator_key``
    on a server without the key. Check it offline with ``tracemark report verify``."""
    service = state.service
    log_key = service.log_key
    if log_key is None:
        raise PlatformError(
            503, "no_operator_key", "this server does not hold the operator key: no report"
        )
    span = period(start, end, tz)
    if span.to_ms - span.from_ms > MAX_REPORT_DAYS * 86_400_000:
        raise errors.LimitExceeded(
            f"a report covers at most {MAX_REPORT_DAYS} days", code="report_too_large"
        )
    service.checkpoint(now=now_ms())
    files = build_report(
        service.prover,
        from_ms=span.from_ms,
        to_ms=span.to_ms,
        tz=span.tz,
        from_local=span.from_local,
        to_local=span.to_local,
        log_key=log_key,
        now=now_ms(),
        max_offers=state.settings.thresholds.max_streams,
        formats=frozenset({"csv", "epcis"} if report_format == "both" else {report_format}),
        platform=key.platform,
    )
    return {"files": {name: data.decode("utf-8") for name, data in files.items()}}
