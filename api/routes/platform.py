"""Routes: the platform API. Every endpoint needs a platform API key (``X-API-Key``).

    POST   /v1/listings/verify               up to 1,000 listings -> a verdict per listing

A key belongs to a platform name (``tracemark platform add tiktok``): it may only ask about
that platform's listings. The app's per-client limiter skips requests that carry a key; here
each key has its own bucket, and a missing or wrong key spends a token of the client's public
bucket (no free guessing).

Sections: key check and the per-app platform state (store, webhook dispatcher and worker),
shared with the webhook routes (api/routes/webhooks.py); gathering a listing's facts; the
listing route and ``observe_verdict`` (clone signals of verdicts). The verdict rules are
ledger/verdicts/listings.py's (``judge``); webhook delivery is api/webhooks.py's. The names
other modules import from here keep working: ``judge``, ``LISTING_REASONS``,
``ListingFacts``, ``PlatformConfig``, ``check_url`` (webhook signing moved to Standard
Webhooks: ``api.webhooks.sign_delivery`` / ``verify_delivery``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Security
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.apidocs import api_key_header
from api.app import error_response, state_of
from api.ratelimit import RATE_LIMIT_FIELDS, RateLimiter
from api.routes.log import ERRORS, ErrorResponse
from api.webhooks import (
    Dispatcher,
    PlatformConfig,
    Worker,
    check_url,
    clone_reasons,
)
from ledger import errors
from ledger.codes.gs1 import gtin14
from ledger.ports.log import ProjectionReader
from ledger.ports.platform import ApiKey, PlatformStore, Watch, api_key_id, matches_api_key
from ledger.provenance.handles import handle_key
from ledger.provenance.records import Actor, Handle, Item, Listing, Recall
from ledger.provenance.rules.common import gtin_owner, is_recalled
from ledger.storage.platform import platform_store
from ledger.usecases.service import now_ms
from ledger.usecases.verify import VerifyResult
from ledger.verdicts import PLATFORM, SUSPECT, ScanContext, Verdict
from ledger.verdicts.listings import LISTING_REASONS, ListingFacts, judge

__all__ = [
    "LISTING_REASONS",
    "KeyDep",
    "ListingFacts",
    "PlatformConfig",
    "PlatformError",
    "PlatformRoute",
    "PlatformState",
    "check_url",
    "judge",
    "observe_verdict",
    "platform_error",
    "platform_of",
    "router",
]

log = logging.getLogger("tracemark.platform")

MAX_LISTINGS = 1_000
MAX_CODES_PER_LISTING = 100
MAX_CODES_PER_BATCH = 2_000
WATCH_RETENTION_MS = 90 * 24 * 3_600_000


# --- errors: 401 / 403 / 429 answered by the route itself ---------------------------------------


class PlatformError(Exception):
    """An answer of the platform routers that the app's error mapping has no status for
    (401, 403)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


async def platform_error(_: Request, exc: Exception) -> Response:
    """The app's handler of ``PlatformError`` raised outside a ``PlatformRoute``."""
    assert isinstance(exc, PlatformError)  # noqa: S101 - registered for this type only
    return error_response(exc.status, exc.code, exc.message, exc.headers)


class PlatformRoute(APIRoute):
    """Turns ``PlatformError`` (raised by the key check) into the JSON error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except PlatformError as exc:
                return error_response(exc.status, exc.code, exc.message, exc.headers)

        return route


# --- per-app state -------------------------------------------------------------------------------


@dataclass
class PlatformState:
    store: PlatformStore
    dispatcher: Dispatcher
    config: PlatformConfig
    limiters: dict[str, RateLimiter] = field(default_factory=dict)
    worker: Worker | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: The app's limiter: keys are limited in its storage (shared by workers and replicas).
    base_limiter: RateLimiter | None = None

    def limiter(self, key: ApiKey) -> RateLimiter:
        with self.lock:
            found = self.limiters.get(key.key_id)
            if found is None or found.per_minute != key.rate_limit:
                base = self.base_limiter
                found = self.limiters[key.key_id] = (
                    base.with_rate(key.rate_limit, "key")
                    if base is not None
                    else RateLimiter(key.rate_limit, policy="key")
                )
            return found

    def start(self) -> None:
        if self.worker is None and self.config.worker:
            self.worker = Worker(self.dispatcher, interval_s=self.config.interval_s)
            self.worker.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


_create_lock = threading.Lock()


def platform_of(app: FastAPI) -> PlatformState:
    """The app's platform state, created on first use (tables, dispatcher, recall cursor)."""
    found: PlatformState | None = getattr(app.state, "tracemark_platform", None)
    if found is not None:
        return found
    with _create_lock:
        found = getattr(app.state, "tracemark_platform", None)
        if found is None:
            state = app.state.tracemark
            config = PlatformConfig.from_env(production=state.settings.production)
            store = platform_store(state.service.store, state.settings.secrets_box())
            dispatcher = Dispatcher(store, state.service.store, config)
            dispatcher.start_cursor()
            found = PlatformState(store, dispatcher, config, base_limiter=state.limiter)
            app.state.tracemark_platform = found
    return found


@asynccontextmanager
async def _lifespan(app: FastAPI) -> Any:
    """Runs the delivery worker while the app serves (merged into the app's lifespan)."""
    platform = platform_of(app)
    platform.start()
    try:
        yield
    finally:
        platform.stop()


#: The errors of the platform routes: those of the API plus a missing or bad API key.
PLATFORM_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    401: {"model": ErrorResponse, "description": "API key missing, unknown or revoked"},
}
router = APIRouter(
    route_class=PlatformRoute,
    lifespan=_lifespan,
    responses=PLATFORM_ERRORS,
    dependencies=[Security(api_key_header)],  # the OpenAPI scheme; platform_key checks it
)


def platform_key(request: Request) -> ApiKey:
    """The caller's API key (a dependency): 401 without a valid one, 429 over its limit."""
    state = state_of(request)
    platform = platform_of(request.app)
    token = request.headers.get("x-api-key", "")
    record: ApiKey | None = None
    if token:
        try:
            record = platform.store.get_key(api_key_id(token))
        except errors.InvalidInput:
            record = None
    if record is None or not record.active or not matches_api_key(record, token):
        client = request.client.host if request.client else "unknown"
        spent = state.limiter.decide(client)  # failed keys spend the client's public tokens
        if spent is not None and not spent.allowed:
            state.metrics.rate_limited(spent.policy)
            raise PlatformError(
                429, "rate_limited", "too many requests; slow down", spent.headers()
            )
        if not token:
            raise PlatformError(
                401,
                "api_key_required",
                "this endpoint needs a platform API key in the X-API-Key header",
                {"WWW-Authenticate": "ApiKey"},
            )
        raise PlatformError(
            401,
            "api_key_invalid",
            "the API key is unknown or revoked",
            {"WWW-Authenticate": "ApiKey"},
        )
    decision = platform.limiter(record).decide(record.key_id)
    if decision is not None and not decision.allowed:
        state.metrics.rate_limited(decision.policy)
        raise PlatformError(
            429,
            "rate_limited",
            f"this API key is limited to {record.rate_limit} requests per minute",
            decision.headers(),
        )
    if decision is not None:  # the app's guard adds them to the answer
        setattr(request.state, RATE_LIMIT_FIELDS, decision.headers())
    return record


KeyDep = Annotated[ApiKey, Depends(platform_key)]

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
_RESULTS_EXAMPLE = {
    "results": [
        {
            "platform": "tiktok",
            "listing_id": "1234567890",
            "status": "genuine",
            "reasons": [
                {
                    "code": "stock_verified",
                    "message": "the verified seller shop-a holds 40 sellable items of GTIN "
                    "08930001000018 from fishco",
                    "evidence": {"held": 40, "producer": "fishco"},
                }
            ],
            "seller": {
                "handle": "tiktok:@shopa",
                "actor_id": "shop-a",
                "registered": True,
                "verified": True,
                "active": True,
            },
            "stock": {
                "gtin": "08930001000018",
                "producer": "fishco",
                "held": 40,
                "quantity": 5,
                "declared": True,
                "listing_status": "open",
            },
            "recalls": [],
            "codes": [],
        }
    ]
}


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


class ReasonOut(BaseModel):
    code: str
    message: str
    evidence: dict[str, Any]


class ListingResult(BaseModel):
    platform: str
    listing_id: str
    status: str = Field(..., examples=["genuine"])
    reasons: list[ReasonOut]
    seller: dict[str, Any]
    stock: dict[str, Any]
    recalls: list[dict[str, Any]]
    codes: list[dict[str, Any]]


class ListingsResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_RESULTS_EXAMPLE]})

    results: list[ListingResult]


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
def verify_listings(body: ListingsRequest, request: Request, key: KeyDep) -> dict[str, Any]:
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
    state = state_of(request)
    platform = platform_of(request.app)
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
            observe_verdict(request.app, result, now, also=(key.platform,))
        verdict = judge(facts, [v for _, v in checked])
        results.append(_listing_json(facts, verdict, checked))
        items = sorted({v.item["item_id"] for _, v in checked if v.item.get("item_id")}) or [""]
        owner = facts.seller.actor_id if facts.seller else ""
        watches.extend(
            Watch(given.platform, given.listing_id, item, given.gtin, owner, now) for item in items
        )
    platform.store.watch(watches, now - WATCH_RETENTION_MS)
    return {"results": results}


def observe_verdict(app: FastAPI, result: VerifyResult, now: int, also: Sequence[str] = ()) -> None:
    """Send ``clone_suspected`` events for a suspect verdict with clone reasons of a vouched
    context: to the platform the code was seen on, and to platforms whose verified listings
    hold the item. An anonymous request never reaches anyone else. Never raises (a verify
    must not fail because a webhook could not be queued)."""
    verdict, context = result.verdict, result.context
    if context is None or not context.vouched:
        return
    if verdict.status != SUSPECT or not clone_reasons(verdict):
        return
    try:
        platform = platform_of(app)
        platforms = {context.platform, *also} - {""}
        item = verdict.item.get("item_id", "")
        platforms.update(w.platform for w in platform.store.watches(item_id=item))
        for name in sorted(platforms):
            platform.dispatcher.clone_suspected(name, context, verdict, now)
    except errors.TracemarkError as exc:
        log.warning("clone signal not queued: %s", exc.message)
