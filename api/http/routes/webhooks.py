"""Routes: a platform's webhooks. Every endpoint needs a platform API key (``X-API-Key``).

    POST   /v1/webhooks                      register a URL for events (recall, ...)
    GET    /v1/webhooks                      the platform's webhooks
    DELETE /v1/webhooks/{id}                 delete one (its pending deliveries are cancelled)
    GET    /v1/webhooks/{id}/deliveries      deliveries with every attempt

Webhooks belong to the platform, not to one key. The key check is api/http/deps.py's (``KeyDep``),
the platform state api/http/state.py's, the error shape api/http/errors.py's; delivery is
api/webhooks.py's.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Security
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.http.apidocs import api_key_header
from api.http.deps import KeyDep, PlatformDep
from api.http.errors import PLATFORM_ERRORS, PlatformRoute
from api.http.schemas import DeliveryList, WebhookCreated, WebhookList
from api.http.state import PlatformState
from api.webhooks import EVENT_ALIASES, EVENTS, check_url, new_secret
from ledger import errors
from ledger.ports.platform import ApiKey, Webhook
from ledger.usecases.service import now_ms

__all__ = ["MAX_WEBHOOKS", "router"]

MAX_WEBHOOKS = 10

router = APIRouter(
    route_class=PlatformRoute,
    responses=PLATFORM_ERRORS,
    dependencies=[Security(api_key_header)],  # the OpenAPI scheme; platform_key checks it
)


class WebhookIn(BaseModel):
    url: str = Field(..., min_length=8, max_length=2048, examples=["https://hooks.example/tm"])
    events: list[
        Literal["recall", "clone_suspected", "report.received", "clone_signal", "compliance_lost"]
    ] = Field(
        ...,
        min_length=1,
        max_length=5,
        description="recall, clone_suspected (clone_signal: its older name, still accepted), "
        "report.received (a shopper's report about an item the platform lists or watches), "
        "compliance_lost (a stream session fell out of compliance)",
    )


def _webhook_json(hook: Webhook) -> dict[str, Any]:
    return {
        "id": hook.webhook_id,
        "url": hook.url,
        "events": list(hook.events),
        "created": hook.created,
    }


def _own_webhook(platform: PlatformState, key: ApiKey, webhook_id: str) -> Webhook:
    hook = platform.store.get_webhook(webhook_id)
    if hook is None or hook.platform != key.platform or hook.deleted >= 0:
        raise errors.NotFound(f"no webhook {webhook_id}", code="unknown_webhook")
    return hook


@router.post("/v1/webhooks", status_code=201, response_model=WebhookCreated, tags=["platform"])
def create_webhook(body: WebhookIn, key: KeyDep, platform: PlatformDep) -> dict[str, Any]:
    """Register a URL for events; the signing secret is returned once."""
    url = check_url(body.url, platform.config)
    if len(platform.store.webhooks(key.platform)) >= MAX_WEBHOOKS:
        raise errors.Conflict(
            f"a platform has at most {MAX_WEBHOOKS} webhooks", code="too_many_webhooks"
        )
    wanted = {EVENT_ALIASES.get(e, e) for e in body.events}
    events = tuple(e for e in EVENTS if e in wanted)
    hook = Webhook(
        "wh_" + secrets.token_hex(8),
        key.platform,
        url,
        events,
        new_secret(),
        now_ms(),
    )
    platform.store.add_webhook(hook)
    return {**_webhook_json(hook), "secret": hook.secret}


@router.get("/v1/webhooks", response_model=WebhookList, tags=["platform"])
def list_webhooks(key: KeyDep, platform: PlatformDep) -> dict[str, Any]:
    """The platform's webhooks (secrets are never shown again)."""
    hooks = platform.store.webhooks(key.platform)
    return {"webhooks": [_webhook_json(h) for h in hooks]}


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, tags=["platform"])
def delete_webhook(webhook_id: str, key: KeyDep, platform: PlatformDep) -> Response:
    """Delete a webhook; deliveries not yet made are cancelled."""
    _own_webhook(platform, key, webhook_id)
    platform.store.delete_webhook(webhook_id, now_ms())
    return Response(status_code=204)


@router.get("/v1/webhooks/{webhook_id}/deliveries", response_model=DeliveryList, tags=["platform"])
def list_deliveries(
    webhook_id: str,
    key: KeyDep,
    platform: PlatformDep,
    limit: Annotated[
        int, Query(ge=1, le=200, description="The most recent deliveries to list.")
    ] = 50,
) -> dict[str, Any]:
    """The webhook's deliveries, newest first, each with every attempt (time, HTTP status)."""
    _own_webhook(platform, key, webhook_id)
    found = platform.store.deliveries(webhook_id, limit)
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
