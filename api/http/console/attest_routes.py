"""The attestation screens' routes (screens in api/http/console/attest.py), registered by
api/http/routes/console.py on the console's router and in its route table (``register``;
``console_route``: guard, roles, approved accounts only).

Every screen shows only the session's own actor: the attestations it issued, or (a
seller) the compliance of its own stream sessions. Nothing here writes: attestations and
revocations are entries the browser signs and sends to ``POST /console/api/entries``
(Origin, CSRF token, the caller's actor and key checked there; the ledger's rules decide:
a producer may attest only its own GTINs, ``not_gtin_producer``); documents go to the public
content-addressed store, ``/v1/documents``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.http.console import attest
from api.http.console.table import Caller, console_route
from api.http.deps import StateDep
from ledger.errors import InvalidInput
from ledger.provenance.records import Attestation, StreamSession
from ledger.usecases.compliance import check_session
from ledger.usecases.service import now_ms

__all__ = ["MAX_LISTED", "register"]

#: The newest attestations an issuer's screen lists, and sessions a seller's screen checks.
MAX_LISTED = 200
_MAX_AT = 2**53 - 1


def _issued(state: Any, issuer: str) -> list[Attestation]:
    with state.service.store.reader() as view:
        rows: list[Attestation] = view.rows(Attestation.TABLE)
    mine = [a for a in rows if a.issuer == issuer]
    mine.sort(key=lambda a: -a.attested_index)
    return mine[:MAX_LISTED]


def _at(request: Request) -> int:
    """``?at=`` (ms since the epoch) to ask about another time, as the compliance API."""
    given = request.query_params.get("at", "")
    if not given:
        return now_ms()
    if not given.isdigit() or len(given) > 16 or int(given) > _MAX_AT:
        raise InvalidInput("at must be a time in ms since the epoch", code="invalid_field")
    return int(given)


def register(
    router: APIRouter,
    html: Callable[[Request, str], HTMLResponse],
    lang: Callable[[Request], str],
) -> None:
    @console_route(
        router,
        "attest_qualifications",
        "GET",
        "/console/attest/qualifications",
        roles=("certifier", "producer"),
        kind="screen",
    )
    def qualifications(request: Request, state: StateDep, *, caller: Caller) -> Response:
        me = caller.me
        found = [a for a in _issued(state, me.actor_id) if a.kind != "identity"]
        page = attest.qualifications_screen(lang(request), me, caller.csrf, found, now_ms())
        return html(request, page)

    @console_route(
        router,
        "attest_identity",
        "GET",
        "/console/attest/identity",
        roles=("identity_verifier",),
        kind="screen",
    )
    def identities(request: Request, state: StateDep, *, caller: Caller) -> Response:
        me = caller.me
        found = [a for a in _issued(state, me.actor_id) if a.kind == "identity"]
        page = attest.identity_screen(lang(request), me, caller.csrf, found, now_ms())
        return html(request, page)

    @console_route(
        router,
        "seller_compliance",
        "GET",
        "/console/seller/compliance",
        roles=("seller",),
        kind="screen",
    )
    def compliance(request: Request, state: StateDep, *, caller: Caller) -> Response:
        me = caller.me
        at = _at(request)
        with state.service.store.reader() as view:
            sessions: list[StreamSession] = view.rows(StreamSession.TABLE)
        mine = sorted((s for s in sessions if s.seller == me.actor_id), key=lambda s: -s.last_index)
        checked = [
            check_session(
                state.service.store,
                s.platform,
                s.session_id,
                at,
                policy=state.settings.compliance,
                documents=state.documents,
            ).to_obj()
            for s in mine[:MAX_LISTED]
        ]
        page = attest.compliance_screen(lang(request), me, caller.csrf, checked, at)
        return html(request, page)
