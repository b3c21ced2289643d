"""Routes: the platform API. Every endpoint needs a platform API key (``X-API-Key``).

    POST   /v1/listings/verify               up to 1,000 listings -> a verdict per listing
    POST   /v1/webhooks                      register a URL for recall / clone_signal events
    GET    /v1/webhooks                      the platform's webhooks
    DELETE /v1/webhooks/{id}                 delete one (its pending deliveries are cancelled)
    GET    /v1/webhooks/{id}/deliveries      deliveries with every attempt

A key belongs to a platform name (``tracemark platform add tiktok``): it may only ask about
that platform's listings, and webhooks belong to the platform, not to one key. The app's
per-client limiter skips requests that carry a key; here each key has its own bucket, and a
missing or wrong key spends a token of the client's public bucket (no free guessing).

Sections: key check; listing verdicts (``judge`` is pure; every reason code is in
``LISTING_REASONS`` and docs/api.md); routes; webhooks (signing, URL policy, the durable
delivery queue with retries, the recall poller and the background worker: ``Dispatcher``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, field_validator

from api.app import error_response, state_of
from api.ratelimit import RateLimiter
from ledger import errors
from ledger.decide import ScanContext
from ledger.entries import LogEntry
from ledger.events import RECALL, item_id
from ledger.gs1 import gtin14
from ledger.records import OPEN, Actor, Handle, Item, Listing, Recall
from ledger.rules import gtin_owner, is_recalled
from ledger.service import now_ms
from ledger.storage.platform import (
    CANCELLED,
    DELIVERED,
    FAILED,
    PENDING,
    ApiKey,
    Attempt,
    Delivery,
    PlatformStore,
    Watch,
    Webhook,
    api_key_id,
    delivery_id,
    matches_api_key,
    platform_store,
)
from ledger.storage.port import LogStore, ProjectionReader
from ledger.verdict import COUNTERFEIT, GENUINE, RECALLED, SUSPECT, Reason, Verdict
from ledger.verification import VerifyResult

__all__ = [
    "LISTING_REASONS",
    "ListingFacts",
    "PlatformState",
    "judge",
    "observe_verdict",
    "platform_of",
    "router",
]

log = logging.getLogger("tracemark.platform")

MAX_LISTINGS = 1_000
MAX_CODES_PER_LISTING = 100
MAX_CODES_PER_BATCH = 2_000
MAX_WEBHOOKS = 10
WATCH_RETENTION_MS = 90 * 24 * 3_600_000

#: Every reason a listing verdict can give, with the status it implies. Precedence:
#: counterfeit > recalled > suspect > genuine (as for codes, ledger.decide).
LISTING_REASONS: dict[str, str] = {
    "code_counterfeit": COUNTERFEIT,
    "gtin_recalled": RECALLED,
    "code_recalled": RECALLED,
    "listed_item_recalled": RECALLED,
    "seller_unknown": SUSPECT,
    "seller_suspended": SUSPECT,
    "seller_not_verified": SUSPECT,
    "handle_platform_mismatch": SUSPECT,
    "unknown_producer": SUSPECT,
    "insufficient_stock": SUSPECT,
    "listing_seller_mismatch": SUSPECT,
    "listing_closed": SUSPECT,
    "lot_recalled": SUSPECT,
    "code_gtin_mismatch": SUSPECT,
    "sold_item_offered": SUSPECT,
    "seller_not_custodian": SUSPECT,
    "multiple_sellers": SUSPECT,
    "scan_velocity": SUSPECT,
    "stock_verified": GENUINE,
}
_PRECEDENCE = (COUNTERFEIT, RECALLED, SUSPECT)


# --- errors: 401 / 403 / 429 answered by the route itself ---------------------------------------


class PlatformError(Exception):
    """An answer of this router that the app's error mapping has no status for (401, 403)."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


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

    def limiter(self, key: ApiKey) -> RateLimiter:
        with self.lock:
            found = self.limiters.get(key.key_id)
            if found is None or found.per_minute != key.rate_limit:
                found = self.limiters[key.key_id] = RateLimiter(key.rate_limit)
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
            store = platform_store(state.service.store)
            dispatcher = Dispatcher(store, state.service.store, config)
            dispatcher.start_cursor()
            found = PlatformState(store, dispatcher, config)
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


router = APIRouter(route_class=PlatformRoute, lifespan=_lifespan)


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
        wait = state.limiter.check(client)  # failed keys spend the client's public tokens
        if wait:
            raise PlatformError(
                429, "rate_limited", "too many requests; slow down", {"Retry-After": str(wait)}
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
    wait = platform.limiter(record).check(record.key_id)
    if wait:
        raise PlatformError(
            429,
            "rate_limited",
            f"this API key is limited to {record.rate_limit} requests per minute",
            {"Retry-After": str(wait)},
        )
    return record


KeyDep = Annotated[ApiKey, Depends(platform_key)]


# --- listing verdicts (pure) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListingFacts:
    """What the ledger says about one listing's seller, GTIN and stock."""

    platform: str
    listing_id: str
    handle: str  # platform:account
    gtin: str
    quantity: int
    seller: Actor | None
    producer: str | None  # the GTIN's registered, active producer
    declared: Listing | None
    held: int
    listed_recalled: tuple[str, ...] = ()
    recalls: tuple[Recall, ...] = ()
    given_codes: bool = False


def _r(code: str, message: str, **evidence: Any) -> Reason:
    return Reason(code, message, evidence)


def _seller_reasons(facts: ListingFacts) -> list[Reason]:
    reasons: list[Reason] = []
    if facts.handle.partition(":")[0] != facts.platform:
        reasons.append(
            _r(
                "handle_platform_mismatch",
                f"the seller handle {facts.handle} is not an account on {facts.platform}",
                handle=facts.handle,
            )
        )
    seller = facts.seller
    if seller is None:
        reasons.append(
            _r(
                "seller_unknown",
                f"no registered actor has the handle {facts.handle}",
                handle=facts.handle,
            )
        )
    elif seller.status != "active":
        reasons.append(
            _r(
                "seller_suspended",
                f"the seller {seller.actor_id} is suspended",
                actor=seller.actor_id,
            )
        )
    elif not seller.verified:
        reasons.append(
            _r(
                "seller_not_verified",
                f"the seller {seller.actor_id} has not passed identity checks",
                actor=seller.actor_id,
            )
        )
    declared = facts.declared
    if declared is not None and seller is not None and declared.seller != seller.actor_id:
        reasons.append(
            _r(
                "listing_seller_mismatch",
                f"listing {facts.platform}:{facts.listing_id} was declared by {declared.seller}",
                declared_by=declared.seller,
            )
        )
    if declared is not None and declared.status != OPEN:
        reasons.append(_r("listing_closed", "the listing was closed in the ledger"))
    return reasons


def _stock_reasons(facts: ListingFacts) -> list[Reason]:
    reasons: list[Reason] = []
    gtin = facts.gtin
    if facts.producer is None:
        reasons.append(_r("unknown_producer", f"GTIN {gtin} has no registered producer", gtin=gtin))
    whole = [r for r in facts.recalls if not r.lot]
    if whole:
        reasons.append(
            _r(
                "gtin_recalled",
                f"the producer recalled GTIN {gtin}: {whole[0].reason}",
                gtin=gtin,
                index=whole[0].recall_index,
            )
        )
    elif (
        facts.recalls and not facts.given_codes and not (facts.declared and facts.declared.serials)
    ):
        lots = sorted(r.lot for r in facts.recalls)
        reasons.append(
            _r(
                "lot_recalled",
                f"lot(s) {', '.join(lots)} of GTIN {gtin} are recalled; give codes to show "
                "which items are sold",
                lots=lots,
            )
        )
    if facts.listed_recalled:
        reasons.append(
            _r(
                "listed_item_recalled",
                "items this listing names are recalled",
                items=list(facts.listed_recalled[:20]),
            )
        )
    if facts.held < facts.quantity:
        reasons.append(
            _r(
                "insufficient_stock",
                f"the seller holds {facts.held} sellable items of GTIN {gtin}; the listing offers "
                f"{facts.quantity}",
                held=facts.held,
                quantity=facts.quantity,
            )
        )
    return reasons


def _code_reasons(gtin: str, verdicts: Sequence[Verdict]) -> list[Reason]:
    """One reason per kind, naming the codes (by position) that gave it."""
    found: dict[str, tuple[str, list[int], list[str]]] = {}

    def add(code: str, message: str, position: int, verdict: Verdict) -> None:
        entry = found.setdefault(code, (message, [], []))
        entry[1].append(position)
        entry[2].append(verdict.item.get("item_id", ""))

    for position, verdict in enumerate(verdicts):
        item_gtin = verdict.item.get("gtin")
        if verdict.status == COUNTERFEIT:
            add(
                "code_counterfeit",
                "a code offered with this listing is counterfeit",
                position,
                verdict,
            )
            continue
        if item_gtin and item_gtin != gtin:
            add(
                "code_gtin_mismatch",
                "a code is for a different GTIN than the listing",
                position,
                verdict,
            )
        if verdict.status == RECALLED:
            add("code_recalled", "an item offered with this listing is recalled", position, verdict)
        for reason in clone_reasons(verdict):
            add(reason.code, reason.message, position, verdict)
    return [
        _r(code, message, codes=positions, items=items)
        for code, (message, positions, items) in found.items()
    ]


def judge(facts: ListingFacts, verdicts: Sequence[Verdict] = ()) -> Verdict:
    """The verdict for one listing: every rule that fires is a reason; precedence picks."""
    reasons = [
        *_code_reasons(facts.gtin, verdicts),
        *_seller_reasons(facts),
        *_stock_reasons(facts),
    ]
    item = {"gtin": facts.gtin}
    for status in _PRECEDENCE:
        if any(LISTING_REASONS[r.code] == status for r in reasons):
            ordered = sorted(reasons, key=lambda r: _PRECEDENCE.index(LISTING_REASONS[r.code]))
            return Verdict(status, tuple(ordered), item)
    seller = facts.seller.actor_id if facts.seller else ""
    genuine = _r(
        "stock_verified",
        f"the verified seller {seller} holds {facts.held} sellable items of GTIN {facts.gtin} "
        f"from {facts.producer}" + (" and every code checks out" if verdicts else ""),
        held=facts.held,
        producer=facts.producer,
    )
    return Verdict(GENUINE, (genuine,), item)


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


class ListingsRequest(BaseModel):
    listings: list[ListingIn] = Field(..., min_length=1, max_length=MAX_LISTINGS)


def _facts(
    view: ProjectionReader, given: ListingIn, recalls: dict[str, list[Recall]]
) -> ListingFacts:
    handle = view.get(Handle, (given.handle,))
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
    results: list[ListingResult]


@router.post("/v1/listings/verify", response_model=ListingsResponse, tags=["platform"])
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
        seller = facts.seller.actor_id if facts.seller else given.handle
        context = ScanContext(given.platform, "", given.listing_id, seller)
        checked: list[tuple[str, Verdict]] = []
        for code in given.codes:
            result = state.verifier.verify(code, context, now=now)
            state.metrics.verdict(result.verdict.status)
            checked.append((code, result.verdict))
            observe_verdict(request.app, context, result, now, also=(key.platform,))
        verdict = judge(facts, [v for _, v in checked])
        results.append(_listing_json(facts, verdict, checked))
        items = sorted({v.item["item_id"] for _, v in checked if v.item.get("item_id")}) or [""]
        owner = facts.seller.actor_id if facts.seller else ""
        watches.extend(
            Watch(given.platform, given.listing_id, item, given.gtin, owner, now) for item in items
        )
    platform.store.watch(watches, now - WATCH_RETENTION_MS)
    return {"results": results}


def observe_verdict(
    app: FastAPI, context: ScanContext, result: VerifyResult, now: int, also: Sequence[str] = ()
) -> None:
    """Send ``clone_signal`` events for a suspect verdict with clone reasons: to the platform
    the code was seen on, and to platforms whose verified listings hold the item. Never
    raises (a verify must not fail because a webhook could not be queued)."""
    verdict = result.verdict
    if verdict.status != SUSPECT or not clone_reasons(verdict):
        return
    try:
        platform = platform_of(app)
        platforms = {context.platform, *also} - {""}
        item = verdict.item.get("item_id", "")
        platforms.update(w.platform for w in platform.store.watches(item_id=item))
        for name in sorted(platforms):
            platform.dispatcher.clone_signal(name, context, verdict, now)
    except errors.TracemarkError as exc:
        log.warning("clone signal not queued: %s", exc.message)


class WebhookIn(BaseModel):
    url: str = Field(..., min_length=8, max_length=2048, examples=["https://hooks.example/tm"])
    events: list[Literal["recall", "clone_signal"]] = Field(..., min_length=1, max_length=2)


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    created: int


class WebhookCreated(WebhookOut):
    secret: str = Field(..., description="HMAC key of X-Tracemark-Signature; shown only once")


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class AttemptOut(BaseModel):
    attempt: int
    time: int
    ok: bool
    status_code: int
    error: str
    duration_ms: int


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    event: str
    status: str
    attempts: int
    next_attempt: int | None
    created: int
    last_status_code: int
    history: list[AttemptOut]


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


def _webhook_json(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.webhook_id,
        "url": hook.url,
        "events": list(hook.events),
        "created": hook.created,
    }


def _own_webhook(request: Request, key: ApiKey, webhook_id: str) -> Webhook:
    hook = platform_of(request.app).store.get_webhook(webhook_id)
    if hook is None or hook.platform != key.platform or hook.deleted >= 0:
        raise errors.NotFound(f"no webhook {webhook_id}", code="unknown_webhook")
    return hook


@router.post("/v1/webhooks", status_code=201, response_model=WebhookCreated, tags=["platform"])
def create_webhook(body: WebhookIn, request: Request, key: KeyDep) -> dict[str, Any]:
    """Register a URL for events; the signing secret is returned once."""
    platform = platform_of(request.app)
    url = check_url(body.url, platform.config)
    if len(platform.store.webhooks(key.platform)) >= MAX_WEBHOOKS:
        raise errors.Conflict(
            f"a platform has at most {MAX_WEBHOOKS} webhooks", code="too_many_webhooks"
        )
    events = tuple(e for e in EVENTS if e in body.events)
    hook = Webhook(
        "wh_" + secrets.token_hex(8),
        key.platform,
        url,
        events,
        "whsec_" + secrets.token_urlsafe(32),
        now_ms(),
    )
    platform.store.add_webhook(hook)
    return {**_webhook_json(hook), "secret": hook.secret}


@router.get("/v1/webhooks", response_model=WebhookList, tags=["platform"])
def list_webhooks(request: Request, key: KeyDep) -> dict[str, Any]:
    """The platform's webhooks (secrets are never shown again)."""
    hooks = platform_of(request.app).store.webhooks(key.platform)
    return {"webhooks": [_webhook_json(h) for h in hooks]}


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, tags=["platform"])
def delete_webhook(webhook_id: str, request: Request, key: KeyDep) -> Response:
    """Delete a webhook; deliveries not yet made are cancelled."""
    _own_webhook(request, key, webhook_id)
    platform_of(request.app).store.delete_webhook(webhook_id, now_ms())
    return Response(status_code=204)


@router.get("/v1/webhooks/{webhook_id}/deliveries", response_model=DeliveryList, tags=["platform"])
def list_deliveries(
    webhook_id: str,
    request: Request,
    key: KeyDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The webhook's deliveries, newest first, each with every attempt (time, HTTP status)."""
    _own_webhook(request, key, webhook_id)
    found = platform_of(request.app).store.deliveries(webhook_id, limit)
    return {
        "deliveries": [
            {
                "id": d.delivery_id,
                "event_id": d.event_id,
                "event": d.event_type,
                "status": d.status,
                "attempts": d.attempts,
                "next_attempt": d.next_attempt if d.status == "pending" else None,
                "created": d.created,
                "last_status_code": d.last_code,
                "history": [
                    {
                        "attempt": a.attempt,
                        "time": a.time,
                        "ok": a.ok,
                        "status_code": a.status_code,
                        "error": a.error,
                        "duration_ms": a.duration_ms,
                    }
                    for a in attempts
                ],
            }
            for d, attempts in found
        ]
    }


# --- webhooks: signing, URL policy, delivery queue, recall poller, worker -------------------------

EVENTS = ("recall", "clone_signal")
CLONE_REASONS = frozenset(
    {"sold_item_offered", "seller_not_custodian", "multiple_sellers", "scan_velocity"}
)
SIGNATURE_HEADER = "X-Tracemark-Signature"
SIGNATURE_TOLERANCE_S = 300
_RECALL_CURSOR = "recalls"
_MAX_LISTED = 1_000


def clone_reasons(verdict: Verdict) -> list[Reason]:
    """The reasons of a verdict that say the code is probably a copy."""
    return [r for r in verdict.reasons if r.code in CLONE_REASONS]


def sign_event(secret: str, timestamp: int, body: bytes) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>``."""
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_event(secret: str, header: str, body: bytes, *, now_s: int) -> None:
    """What a receiver does: check the signature and that it is fresh (raises otherwise)."""
    fields = dict(part.partition("=")[::2] for part in header.split(","))
    stamp = fields.get("t", "")
    if not stamp.isdigit() or "v1" not in fields:
        raise errors.SignatureError(f"malformed {SIGNATURE_HEADER} header")
    if abs(now_s - int(stamp)) > SIGNATURE_TOLERANCE_S:
        raise errors.SignatureError("the signature is too old (or from the future)")
    expected = sign_event(secret, int(stamp), body).partition("v1=")[2]
    if not hmac.compare_digest(expected, fields["v1"]):
        raise errors.SignatureError("the webhook signature does not verify")


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    text = env.get(name, "").strip().lower()
    return default if not text else text in ("1", "true", "yes", "on")


@dataclass(frozen=True, slots=True)
class PlatformConfig:
    """Webhook settings (``TRACEMARK_WEBHOOK_*``; docs/api.md).

    Development allows loopback URLs (local receivers, tests); private, link-local and other
    non-global addresses need ``TRACEMARK_WEBHOOK_ALLOW_PRIVATE=1`` in any mode.
    """

    allow_loopback: bool = True
    allow_private: bool = False
    worker: bool = True
    interval_s: float = 1.0
    max_attempts: int = 8
    base_delay_ms: int = 10_000
    max_delay_ms: int = 3_600_000
    timeout_s: float = 5.0
    lease_ms: int = 60_000
    batch: int = 50

    @classmethod
    def from_env(cls, *, production: bool, env: Mapping[str, str] | None = None) -> PlatformConfig:
        env = os.environ if env is None else env
        private = _flag(env, "TRACEMARK_WEBHOOK_ALLOW_PRIVATE", False)
        try:
            attempts = int(env.get("TRACEMARK_WEBHOOK_MAX_ATTEMPTS") or 8)
            timeout = float(env.get("TRACEMARK_WEBHOOK_TIMEOUT_S") or 5)
        except ValueError:
            raise errors.InvalidInput("TRACEMARK_WEBHOOK_* must be numbers") from None
        return cls(
            allow_loopback=private or not production,
            allow_private=private,
            worker=_flag(env, "TRACEMARK_WEBHOOK_WORKER", True),
            max_attempts=max(1, min(attempts, 20)),
            timeout_s=max(0.5, min(timeout, 30.0)),
        )

    def delay_ms(self, attempts: int) -> int:
        """Wait after the ``attempts``-th failure: base, 2x base, 4x base ... (capped)."""
        return int(min(self.max_delay_ms, self.base_delay_ms * 2 ** max(0, attempts - 1)))


def _refused(message: str) -> errors.InvalidInput:
    return errors.InvalidInput(message, code="webhook_url_refused")


def check_url(url: str, config: PlatformConfig) -> str:
    """An http(s) URL whose host resolves only to addresses the config allows (else raises)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refused("a webhook URL is http:// or https:// with a host")
    if parts.username or parts.password:
        raise _refused("a webhook URL carries no user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except ValueError:
        raise _refused("the webhook URL has an invalid port") from None
    except (OSError, UnicodeError):
        raise _refused(f"cannot resolve the webhook host {parts.hostname}") from None
    for info in found:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_unspecified or address.is_multicast:
            raise _refused(f"the webhook host resolves to {address}")
        if address.is_loopback:
            if not config.allow_loopback:
                raise _refused("loopback webhook URLs are allowed only in development")
        elif not address.is_global and not config.allow_private:
            raise _refused(
                f"the webhook host resolves to the non-public address {address} "
                "(TRACEMARK_WEBHOOK_ALLOW_PRIVATE=1 allows it)"
            )
    return url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer, not a new target (it could point inside)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def post_json(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> tuple[int, str]:
    """POST with urllib: (HTTP status, error text); status 0 when no answer came."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310 - scheme checked
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(4096)
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code), f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        return 0, f"connection failed: {exc.reason}"[:300]
    except (TimeoutError, OSError) as exc:
        return 0, f"connection failed: {type(exc).__name__}"


Post = Callable[[str, bytes, Mapping[str, str], float], tuple[int, str]]


class Dispatcher:
    """The webhook queue: events become deliveries (one per subscribed webhook, stored), and
    ``deliver_pending(now)`` sends what is due, with exponential backoff between attempts.
    ``poll_recalls(now)`` reads recall entries appended since its cursor and queues events
    for platforms whose listings they affect. Deterministic given ``now``: tests drive both;
    the ``Worker`` thread calls them in production. Safe with several replicas: the cursor
    moves by compare-and-swap and a delivery is leased before it is sent."""

    def __init__(
        self,
        store: PlatformStore,
        log_store: LogStore,
        config: PlatformConfig,
        post: Post = post_json,
    ) -> None:
        self.store, self.log_store, self.config, self.post = store, log_store, config, post
        self.wake = threading.Event()

    # --- events ---------------------------------------------------------------------------------

    def _deliveries(
        self, platform: str, kind: str, event_id: str, data: Mapping[str, Any], now: int
    ) -> list[Delivery]:
        out: list[Delivery] = []
        for hook in self.store.webhooks(platform):
            if kind not in hook.events:
                continue
            event = {
                "id": event_id,
                "type": kind,
                "created": now,
                "platform": platform,
                "webhook_id": hook.webhook_id,
                "data": data,
            }
            payload = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            out.append(
                Delivery(
                    delivery_id(hook.webhook_id, event_id),
                    hook.webhook_id,
                    event_id,
                    kind,
                    payload,
                    PENDING,
                    0,
                    now,
                    now,
                )
            )
        return out

    def emit(
        self, platform: str, kind: str, event_id: str, data: Mapping[str, Any], now: int
    ) -> int:
        added = self.store.enqueue(self._deliveries(platform, kind, event_id, data, now))
        if added:
            self.wake.set()
        return added

    def clone_signal(self, platform: str, context: ScanContext, verdict: Verdict, now: int) -> int:
        """Queue one clone_signal per platform, item, place and reasons per hour (deduplicated)."""
        reasons = clone_reasons(verdict)
        item = dict(verdict.item)
        codes = ",".join(sorted(r.code for r in reasons))
        where = f"{context.platform}|{context.listing_id}|{context.stream_id}"
        bucket = now // 3_600_000
        digest = hashlib.sha256(
            f"{platform}|{item.get('item_id')}|{where}|{codes}|{bucket}".encode()
        )
        data = {
            "item": {k: item[k] for k in ("item_id", "gtin", "serial", "lot") if k in item},
            "status": verdict.status,
            "reasons": [r.to_obj() for r in reasons],
            "seen": {
                "platform": context.platform,
                "listing_id": context.listing_id,
                "stream_id": context.stream_id,
                "seller": context.seller,
            },
        }
        return self.emit(platform, "clone_signal", "evt_" + digest.hexdigest()[:24], data, now)

    # --- recalls --------------------------------------------------------------------------------

    def start_cursor(self) -> None:
        """First run: start after the current log (past recalls are not news)."""
        if self.store.cursor(_RECALL_CURSOR) is None:
            self.store.advance(_RECALL_CURSOR, None, self.store.log_size(), [])

    def poll_recalls(self, now: int, *, chunk: int = 5_000, rounds: int = 20) -> int:
        """Queue recall events for entries appended since the cursor; how many were queued."""
        queued = 0
        for _ in range(rounds):
            old = self.store.cursor(_RECALL_CURSOR)
            size = self.store.log_size()
            if old is None:
                self.start_cursor()
                return queued
            if old >= size:
                break
            end = min(size, old + chunk)
            deliveries: list[Delivery] = []
            for index, data in self.store.entries_of_type(old, end, RECALL):
                body = LogEntry.from_leaf(index, data).envelope.body
                deliveries.extend(self._recall_deliveries(index, body, now))
            if self.store.advance(_RECALL_CURSOR, old, end, deliveries):
                queued += len(deliveries)
        if queued:
            self.wake.set()
        return queued

    def _recall_deliveries(self, index: int, body: Mapping[str, Any], now: int) -> list[Delivery]:
        gtin, scope, lot = str(body["gtin"]), str(body["scope"]), str(body.get("lot", ""))
        recalled = {item_id(gtin, s) for s in body.get("serials", ())}
        affected: dict[str, dict[str, dict[str, str]]] = {}
        with self.log_store.reader() as view:
            holders = {i.custodian for r in recalled if (i := view.get(Item, (r,))) is not None}

            def hits(items: Sequence[str], seller: str) -> bool:
                if scope == "gtin":
                    return True
                if scope == "lot":
                    found = [view.get(Item, (i,)) for i in items]
                    return not items or any(i is not None and i.lot == lot for i in found)
                return bool(recalled.intersection(items)) if items else seller in holders

            for listing in self.store.open_listings(gtin):
                if hits(listing.serials, listing.seller):
                    affected.setdefault(listing.platform, {})[listing.listing_id] = {
                        "listing_id": listing.listing_id,
                        "seller": listing.seller,
                        "source": "ledger",
                    }
            watched: dict[tuple[str, str], list[Watch]] = {}
            for watch in self.store.watches(gtin=gtin):
                watched.setdefault((watch.platform, watch.listing_id), []).append(watch)
            for (name, listing_id), rows in watched.items():
                items = [w.item_id for w in rows if w.item_id]
                if listing_id not in affected.get(name, {}) and hits(items, rows[0].seller):
                    affected.setdefault(name, {})[listing_id] = {
                        "listing_id": listing_id,
                        "seller": rows[0].seller,
                        "source": "verified",
                    }
        recall = {
            "index": index,
            "gtin": gtin,
            "scope": scope,
            "lot": lot,
            "reason": body["reason"],
            "producer": body.get("actor", ""),
            "serials": list(body.get("serials", ()))[:_MAX_LISTED],
        }
        out: list[Delivery] = []
        for name, listings in sorted(affected.items()):
            shown = [listings[k] for k in sorted(listings)][:_MAX_LISTED]
            data = {"recall": recall, "listings": shown, "listings_total": len(listings)}
            out.extend(self._deliveries(name, "recall", f"evt_recall_{index}", data, now))
        return out

    # --- delivery -------------------------------------------------------------------------------

    def deliver_pending(self, now: int) -> int:
        """Send every delivery due at ``now`` (one attempt each); how many attempts were made."""
        made = 0
        for delivery in self.store.due(now, self.config.batch):
            if self.store.claim(delivery, now + self.config.lease_ms):
                self._attempt(delivery, now)
                made += 1
        return made

    def _attempt(self, delivery: Delivery, now: int) -> None:
        hook = self.store.get_webhook(delivery.webhook_id)
        body = delivery.payload.encode("utf-8")
        started = time.perf_counter()
        if hook is None or hook.deleted >= 0:
            code, error = 0, "the webhook was deleted"
        else:
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Tracemark-Webhooks/1",
                "X-Tracemark-Event": delivery.event_type,
                "X-Tracemark-Delivery": delivery.delivery_id,
                SIGNATURE_HEADER: sign_event(hook.secret, now // 1000, body),
            }
            try:
                check_url(hook.url, self.config)  # again: DNS may have changed since
                code, error = self.post(hook.url, body, headers, self.config.timeout_s)
            except errors.InvalidInput as exc:
                code, error = 0, exc.message
        ok = 200 <= code < 300
        attempts = delivery.attempts + 1
        if ok:
            status, after = DELIVERED, now
        elif hook is None or hook.deleted >= 0:
            status, after = CANCELLED, now
        elif attempts >= self.config.max_attempts:
            status, after = FAILED, now
        else:
            status, after = PENDING, now + self.config.delay_ms(attempts)
        elapsed = int((time.perf_counter() - started) * 1000)
        self.store.finish(
            replace(
                delivery,
                status=status,
                attempts=attempts,
                next_attempt=after,
                last_code=code,
                last_error=error[:300],
            ),
            Attempt(delivery.delivery_id, attempts, now, ok, code, error[:300], elapsed),
        )


class Worker:
    """A daemon thread that polls recalls and sends due deliveries every ``interval_s`` (sooner
    when an event is queued). Errors are logged and retried on the next round."""

    def __init__(self, dispatcher: Dispatcher, *, interval_s: float = 1.0) -> None:
        self.dispatcher = dispatcher
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tracemark-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.dispatcher.wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.dispatcher.poll_recalls(now_ms())
                while self.dispatcher.deliver_pending(now_ms()) and not self._stop.is_set():
                    pass
            except Exception:  # the worker must survive anything; the next round retries
                log.exception("webhook worker round failed")
            self.dispatcher.wake.wait(self.interval_s)
            self.dispatcher.wake.clear()
