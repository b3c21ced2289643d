"""Routes: the web console for producers, sellers, platforms, certifiers and the operator.

Every route is registered through ``console_route`` (api/http/console/table.py), which adds
its row to the route table (with the roles it admits) and puts the guard in front of it:
Origin check and CSRF token on state-changing requests, session, role, approval. Screens
are HTML (api/http/console/screens.py); actions take and give JSON and answer errors as
RFC 9457 problems. None of them is in the OpenAPI schema: the console is this server's own
front end, not the public API (docs/console.md lists them).

Keys stay with their owners: the browser sends only public keys and signed entries
(``POST /console/api/entries``, checked here to speak for the caller's own actor with one
of its own keys, then appended like ``POST /v1/entries``). The one private key used here is
the operator's (``actor.register``, ``key.add`` for a new device, ``key.revoke``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.accounts import ACTOR_ROLES, ROLES, SignInFailed
from api.http.console import attest_routes, screens, seller_routes
from api.http.console.respond import Json
from api.http.console.respond import audited as _audited
from api.http.console.respond import html as _html
from api.http.console.respond import lang as _lang
from api.http.console.respond import text_field as _text
from api.http.console.table import (
    ANY_ROLE,
    Caller,
    ConsoleRefusal,
    console_route,
    cookie_name,
    secure_origin,
)
from api.http.deps import StateDep, state_of
from api.passkeys import MAX_OUTSTANDING, PasskeyRefused
from ledger.errors import Conflict, InvalidInput, NotFound, TracemarkError
from ledger.keys import PublicKey
from ledger.log.entries import Envelope, sign_entry
from ledger.ports.console import Account
from ledger.provenance.events.names import ACTOR_REGISTER, KEY_ADD, KEY_REVOKE
from ledger.provenance.records import Actor, KeyRecord
from ledger.usecases.service import now_ms
from scanner.qr import qr_matrix

__all__ = ["STATIC", "router"]

router = APIRouter(tags=["console"])
_STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "console"
#: The console's own files: name -> media type (nothing else is served from the folder).
STATIC = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "passkeys.js": "text/javascript; charset=utf-8",
    "keys.js": "text/javascript; charset=utf-8",
    "producer.js": "text/javascript; charset=utf-8",
    "seller.js": "text/javascript; charset=utf-8",
    "attest.js": "text/javascript; charset=utf-8",
}


# --- helpers ----------------------------------------------------------------------------------


def _signed_in(caller: Caller, account: Account, request: Request, status: int = 200) -> Response:
    """Start a session for ``account`` (a new token: any session of this browser ends)."""
    console = caller.console
    name = cookie_name(console)
    token, _ = caller.accounts.start_session(
        account, now=now_ms(), replaces=request.cookies.get(name, "")
    )
    response = JSONResponse({"account": account.name, "role": account.role}, status_code=status)
    response.set_cookie(
        name,
        token,
        max_age=caller.accounts.settings.session_max_s,
        path="/",
        secure=secure_origin(console.origin),
        httponly=True,
        samesite="strict",
    )
    return response


def _client_label(request: Request) -> str:
    """The client as the limiter keys it: its address hashed with the rotating device salt
    (``c-`` and 12 hex digits; docs/privacy.md), never the address."""
    address = request.client.host if request.client else "unknown"
    return state_of(request).device_salts.client_label(address, now_ms())  # type: ignore[union-attr]


def _signin_limited(
    caller: Caller, request: Request, name: str = "", *, invite: bytes = b""
) -> None:
    """Sign-in attempts (and passkey challenges) are limited per client (its salted label),
    per account name and per invite."""
    limiter = caller.console.signin_limiter
    identities = [f"client:{_client_label(request)}"]
    if name:
        identities.append(f"name:{name}")
    if invite:
        identities.append(f"invite:{invite.hex()}")
    for identity in identities:
        decision = limiter.decide(identity)
        if decision is not None and not decision.allowed:
            caller.accounts.audit(
                None, "signin", now=now_ms(), target=name, outcome="refused", detail="rate_limited"
            )
            raise ConsoleRefusal(
                429, "rate_limited", "too many sign-in attempts; wait a minute", decision.headers()
            )


def _actor_keys(state: Any, actor_id: str) -> list[screens.ActorKey]:
    if not actor_id:
        return []
    try:
        view = state.service.actor_view(actor_id)
    except NotFound:
        return []
    return [screens.ActorKey(k.key_id, k.public_key, k.revoked) for k in view.keys]


def _operator_key(state: Any) -> Any:
    key = state.log_key
    if key is None:
        raise ConsoleRefusal(
            503,
            "operator_key_missing",
            "this server has no operator key, so it cannot register actors",
        )
    return key


# --- static files -----------------------------------------------------------------------------


@console_route(router, "static", "GET", "/console/static/{name}", roles=(), kind="static")
def static(name: str, *, caller: Caller) -> Response:
    kind = STATIC.get(name)
    if kind is None:
        raise NotFound(f"no console file {name}", code="not_found")
    data = (_STATIC_DIR / name).read_bytes()
    return Response(data, media_type=kind, headers={"Cache-Control": "no-cache"})


# --- signing in ---------------------------------------------------------------------------------


@console_route(router, "signin", "GET", "/console/signin", roles=(), kind="screen")
def signin_page(request: Request, *, caller: Caller) -> Response:
    return _html(request, screens.signin_screen(_lang(request)))


@console_route(router, "invite", "GET", "/console/invite/{token}", roles=(), kind="screen")
def invite_page(request: Request, token: str, *, caller: Caller) -> Response:
    lang = _lang(request)
    try:
        invite = caller.accounts.open_invite(token, now=now_ms())
    except (NotFound, TracemarkError) as exc:
        status = 404 if isinstance(exc, NotFound) else 410
        return _html(request, screens.gone_screen(lang, exc.message), status)
    otpauth = caller.accounts.otpauth_uri(invite)
    matrix, _ = qr_matrix(otpauth)
    page = screens.invite_screen(
        lang,
        token=token,
        name=invite.name,
        role=invite.role,
        otpauth=otpauth,
        secret=invite.totp_secret,
        matrix=matrix,
    )
    return _html(request, page)


@console_route(
    router,
    "invite_passkey_options",
    "POST",
    "/console/api/invite/{token}/passkey/options",
    roles=(),
    kind="action",
)
def invite_passkey_options(request: Request, token: str, *, caller: Caller) -> dict[str, Any]:
    now = now_ms()
    invite = caller.accounts.open_invite(token, now=now)
    _signin_limited(caller, request, invite=invite.token_hash)
    ceremonies = caller.console.ceremonies
    if ceremonies.outstanding(invite, now=now) >= MAX_OUTSTANDING:
        raise ConsoleRefusal(
            429,
            "too_many_challenges",
            f"this invite has {MAX_OUTSTANDING} passkey requests open; finish one or wait "
            "two minutes",
        )
    return ceremonies.registration_options(invite, now=now)


@console_route(
    router, "invite_passkey", "POST", "/console/api/invite/{token}/passkey", roles=(), kind="action"
)
def invite_passkey(request: Request, token: str, payload: Json, *, caller: Caller) -> Response:
    now = now_ms()
    invite = caller.accounts.open_invite(token, now=now)
    challenge_id = _text(payload, "challenge_id", 64)
    passkey, account_id = caller.console.ceremonies.finish_registration(
        invite, challenge_id, payload.get("credential"), now=now
    )
    account = caller.accounts.redeem_with_passkey(token, passkey, now=now, account_id=account_id)
    caller.accounts.audit(account, "invite.redeem", now=now, target=account.name, detail="passkey")
    return _signed_in(caller, account, request, 201)


@console_route(
    router,
    "invite_password",
    "POST",
    "/console/api/invite/{token}/password",
    roles=(),
    kind="action",
)
def invite_password(request: Request, token: str, payload: Json, *, caller: Caller) -> Response:
    now = now_ms()
    _signin_limited(caller, request)
    account = caller.accounts.redeem_with_password(
        token, _text(payload, "password", 256), _text(payload, "code", 6), now=now
    )
    caller.accounts.audit(
        account, "invite.redeem", now=now, target=account.name, detail="password+totp"
    )
    return _signed_in(caller, account, request, 201)


@console_route(
    router,
    "signin_passkey_options",
    "POST",
    "/console/api/signin/passkey/options",
    roles=(),
    kind="action",
)
def signin_passkey_options(request: Request, *, caller: Caller) -> dict[str, Any]:
    _signin_limited(caller, request)
    return caller.console.ceremonies.authentication_options(now=now_ms())


@console_route(
    router, "signin_passkey", "POST", "/console/api/signin/passkey", roles=(), kind="action"
)
def signin_passkey(request: Request, payload: Json, *, caller: Caller) -> Response:
    now = now_ms()
    try:
        passkey = caller.console.ceremonies.finish_authentication(
            _text(payload, "challenge_id", 64), payload.get("credential"), now=now
        )
        account = caller.accounts.passkey_account(passkey)
    except (PasskeyRefused, SignInFailed) as exc:
        caller.accounts.audit(None, "signin", now=now, outcome="refused", detail=exc.code)
        raise ConsoleRefusal(401, exc.code, exc.message) from None
    caller.accounts.audit(account, "signin", now=now, target=account.name, detail="passkey")
    return _signed_in(caller, account, request)


@console_route(
    router, "signin_password", "POST", "/console/api/signin/password", roles=(), kind="action"
)
def signin_password(request: Request, payload: Json, *, caller: Caller) -> Response:
    now = now_ms()
    name = _text(payload, "name", 100)
    _signin_limited(caller, request, name)
    try:
        account = caller.accounts.sign_in_password(
            name, _text(payload, "password", 256), _text(payload, "code", 6), now=now
        )
    except SignInFailed as exc:
        caller.accounts.audit(
            None, "signin", now=now, target=name, outcome="refused", detail=exc.code
        )
        raise ConsoleRefusal(401, exc.code, exc.message) from None
    caller.accounts.audit(account, "signin", now=now, target=name, detail="password+totp")
    return _signed_in(caller, account, request)


# --- every role -------------------------------------------------------------------------------


@console_route(router, "home", "GET", "/console/", roles=ANY_ROLE, kind="screen", pending=True)
def home(request: Request, *, caller: Caller) -> Response:
    return _html(request, screens.home_screen(_lang(request), caller.me, caller.csrf))


@console_route(
    router, "signout", "POST", "/console/api/signout", roles=ANY_ROLE, kind="action", pending=True
)
def signout(request: Request, *, caller: Caller) -> Response:
    name = cookie_name(caller.console)
    caller.accounts.end_session(request.cookies.get(name, ""))
    caller.audit("signout")
    response = JSONResponse({"signed_out": True})
    response.delete_cookie(
        name,
        path="/",
        secure=secure_origin(caller.console.origin),
        httponly=True,
        samesite="strict",
    )
    return response


@console_route(router, "me", "GET", "/console/api/me", roles=ANY_ROLE, kind="data", pending=True)
def me(state: StateDep, *, caller: Caller) -> dict[str, Any]:
    account = caller.me
    return {
        "account": account.account_id,
        "name": account.name,
        "role": account.role,
        "actor": account.actor_id,
        "status": account.status,
        "pending_key": account.pending_key,
        "keys": [
            {"key_id": k.key_id, "public_key": k.public_key, "revoked": k.revoked}
            for k in _actor_keys(state, account.actor_id)
        ],
    }


# --- actors: their key ------------------------------------------------------------------------


@console_route(router, "key", "GET", "/console/key", roles=ACTOR_ROLES, kind="screen", pending=True)
def key_page(request: Request, state: StateDep, *, caller: Caller) -> Response:
    account = caller.me
    keys = _actor_keys(state, account.actor_id)
    return _html(request, screens.key_screen(_lang(request), account, caller.csrf, keys))


@console_route(
    router, "key_submit", "POST", "/console/api/key", roles=ACTOR_ROLES, kind="action", pending=True
)
def key_submit(state: StateDep, payload: Json, *, caller: Caller) -> dict[str, Any]:
    """The public key the browser made: it waits for the operator's approval."""
    account = caller.me
    key = PublicKey.from_text(_text(payload, "public_key", 60))

    def work() -> None:
        with state.service.store.reader() as view:
            if view.get(KeyRecord, (key.key_id,)) is not None:
                raise InvalidInput(f"key {key.key_id} is already registered", code="key_exists")
        caller.accounts.store.put_account(
            _replace(account, pending_key=key.to_text(), updated=now_ms())
        )

    _audited(caller, "key.submit", key.key_id, work)
    return {"pending_key": key.to_text(), "key_id": key.key_id}


@console_route(router, "entries", "POST", "/console/api/entries", roles=ACTOR_ROLES, kind="action")
def submit_entry(state: StateDep, payload: Json, *, caller: Caller) -> JSONResponse:
    """A signed entry from the page, for the caller's own actor, with one of its own keys."""
    account = caller.me
    envelope = Envelope.from_obj(payload.get("entry"))
    target = f"{envelope.type} by {envelope.signer}"

    def work() -> Any:
        if envelope.body.get("actor") != account.actor_id:
            raise ConsoleRefusal(
                403, "not_your_actor", f"this entry does not speak for {account.actor_id}"
            )
        with state.service.store.reader() as view:
            key = view.get(KeyRecord, (envelope.signer,))
        if key is None or key.actor_id != account.actor_id:
            raise ConsoleRefusal(
                403, "not_your_key", f"key {envelope.signer} is not a key of {account.actor_id}"
            )
        return state.service.append_one(envelope, now=now_ms())

    accepted = _audited(caller, "entry." + envelope.type, target, work)
    return JSONResponse({"index": accepted.index, "type": envelope.type}, status_code=201)


# --- producer screens -------------------------------------------------------------------------


@console_route(
    router, "producer_keys", "GET", "/console/producer/keys", roles=("producer",), kind="screen"
)
def producer_keys(request: Request, state: StateDep, *, caller: Caller) -> Response:
    account = caller.me
    keys = _actor_keys(state, account.actor_id)
    page = screens.producer_keys_screen(_lang(request), account, caller.csrf, keys)
    return _html(request, page)


# --- operator screens and actions -------------------------------------------------------------

_OPERATOR = ("operator",)


@console_route(
    router, "accounts", "GET", "/console/operator/accounts", roles=_OPERATOR, kind="screen"
)
def accounts_page(request: Request, state: StateDep, *, caller: Caller) -> Response:
    me_ = caller.me
    accounts = caller.accounts.store.accounts()
    keys = {a.actor_id: _actor_keys(state, a.actor_id) for a in accounts if a.actor_id}
    with state.service.store.reader() as view:
        registered = {
            a.actor_id
            for a in accounts
            if a.actor_id and view.get(Actor, (a.actor_id,)) is not None
        }
    page = screens.accounts_screen(_lang(request), me_, caller.csrf, accounts, keys, registered)
    return _html(request, page)


@console_route(
    router, "invites", "GET", "/console/operator/invites", roles=_OPERATOR, kind="screen"
)
def invites_page(request: Request, *, caller: Caller) -> Response:
    return _html(request, screens.invites_screen(_lang(request), caller.me, caller.csrf))


@console_route(router, "health", "GET", "/console/operator/health", roles=_OPERATOR, kind="screen")
def health_page(request: Request, state: StateDep, *, caller: Caller) -> Response:
    size = state.service.store.head().size
    when, checkpoint_size, witnesses = "", 0, ()
    try:
        checkpoint = state.service.latest_checkpoint()
    except NotFound:
        checkpoint = None
    if checkpoint is not None and checkpoint.tree_size > 0:
        checkpoint_size = checkpoint.tree_size
        stored, _ = state.service.entry(checkpoint.tree_size - 1)
        when = screens.utc_time(stored.integrated_time)
        seen = state.witness_view.of(checkpoint.tree_size) if state.witness_view else None
        witnesses = tuple(seen["cosigned_by"]) if seen else ()
    health = screens.Health(size, when, checkpoint_size, witnesses)
    page = screens.health_screen(_lang(request), caller.me, caller.csrf, health)
    return _html(request, page)


@console_route(router, "audit", "GET", "/console/operator/audit", roles=_OPERATOR, kind="screen")
def audit_page(request: Request, *, caller: Caller) -> Response:
    records = caller.accounts.store.audit_trail()
    names = {a.account_id: a.name for a in caller.accounts.store.accounts()}
    page = screens.audit_screen(_lang(request), caller.me, caller.csrf, records, names)
    return _html(request, page)


@console_route(router, "audit_data", "GET", "/console/api/audit", roles=_OPERATOR, kind="data")
def audit_data(*, caller: Caller) -> dict[str, Any]:
    return {
        "records": [
            {
                "seq": r.seq,
                "time": r.time,
                "account": r.account_id,
                "role": r.role,
                "actor": r.actor_id,
                "action": r.action,
                "target": r.target,
                "outcome": r.outcome,
                "detail": r.detail,
            }
            for r in caller.accounts.store.audit_trail()
        ]
    }


@console_route(
    router, "invite_create", "POST", "/console/api/invites", roles=_OPERATOR, kind="action"
)
def invite_create(payload: Json, *, caller: Caller) -> JSONResponse:
    role = _text(payload, "role", 32)
    actor_id = _text(payload, "actor_id", 64, required=False)
    handle = _text(payload, "handle", 140, required=False)
    name = _text(payload, "name", 100, required=False)

    def work() -> Any:
        return caller.accounts.invite(
            role,
            now=now_ms(),
            actor_id=actor_id,
            name=name,
            handle=handle,
            by=caller.me.account_id,
        )

    invite, token = _audited(caller, "invite.create", f"{role}:{actor_id or name}", work)
    link = f"{caller.console.origin}/console/invite/{token}"
    return JSONResponse(
        {"link": link, "role": invite.role, "expires": invite.expires}, status_code=201
    )


@console_route(
    router,
    "approve",
    "POST",
    "/console/api/accounts/{account_id}/approve",
    roles=_OPERATOR,
    kind="action",
)
def approve(state: StateDep, account_id: str, payload: Json, *, caller: Caller) -> JSONResponse:
    """Register the actor with the key its browser made (``actor.register``), or add the new
    key of a registered actor (``key.add``, after a lost device); both signed by the
    operator key."""

    def work() -> Any:
        account = caller.accounts.get(account_id[:64])
        ledger_role = ROLES.get(account.role)
        if ledger_role is None or not account.actor_id:
            raise InvalidInput(f"a {account.role} has no ledger actor to register", code="no_actor")
        if not account.pending_key:
            raise InvalidInput("this account has no key waiting for approval", code="no_key")
        shown = _text(payload, "key", 60, required=False)
        if shown and shown != account.pending_key:
            raise Conflict(
                "the key waiting for approval changed since the screen showed it; look again",
                code="key_changed",
            )
        operator = _operator_key(state)
        now = now_ms()
        with state.service.store.reader() as view:
            found = view.get(Actor, (account.actor_id,))
        registered = found is not None
        if found is not None and found.role != ledger_role:
            # An invite that named an actor of another role must not hand this account a
            # key of it (a seller's browser signing as a producer).
            raise Conflict(
                f"{account.actor_id} is a {found.role} in the log, not a {ledger_role}",
                code="role_mismatch",
            )
        if registered:
            body: dict[str, Any] = {
                "actor": account.actor_id,
                "key": account.pending_key,
                "event_time": now,
            }
            envelope = sign_entry(KEY_ADD, body, operator)
        else:
            actor: dict[str, Any] = {
                "id": account.actor_id,
                "role": ledger_role,
                "name": _text(payload, "name", 200, required=False) or account.name,
                "country": _text(payload, "country", 2, required=False) or "VN",
                "verified": account.identity_level in ("document", "in_person"),
            }
            prefixes = [
                p.strip()
                for p in _text(payload, "prefixes", 600, required=False).split(",")
                if p.strip()
            ]
            if prefixes:
                actor["prefixes"] = prefixes
            if account.handle:
                actor["handles"] = [account.handle]
            body = {"actor": actor, "keys": [account.pending_key], "event_time": now}
            envelope = sign_entry(ACTOR_REGISTER, body, operator)
        accepted = state.service.append_one(envelope, now=now)
        caller.accounts.store.put_account(
            _replace(account, status="active", pending_key="", updated=now)
        )
        return accepted, envelope.type

    accepted, kind = _audited(caller, "actor.approve", account_id, work)
    return JSONResponse({"index": accepted.index, "type": kind})


@console_route(
    router,
    "identity",
    "POST",
    "/console/api/accounts/{account_id}/identity",
    roles=_OPERATOR,
    kind="action",
)
def identity(account_id: str, payload: Json, *, caller: Caller) -> dict[str, Any]:
    level = _text(payload, "level", 32)
    note = _text(payload, "note", 2000, required=False)
    updated = _audited(
        caller,
        "identity.check",
        account_id,
        lambda: caller.accounts.identity_check(account_id[:64], level, note, now=now_ms()),
    )
    return {"account": updated.account_id, "level": updated.identity_level}


@console_route(
    router, "revoke", "POST", "/console/api/keys/{key_id}/revoke", roles=_OPERATOR, kind="action"
)
def revoke(state: StateDep, key_id: str, payload: Json, *, caller: Caller) -> dict[str, Any]:
    reason = _text(payload, "reason", 500, required=False)
    compromised = _compromised_since(payload.get("compromised_since"), now_ms())

    def work() -> Any:
        with state.service.store.reader() as view:
            key = view.get(KeyRecord, (key_id[:16],))
        if key is None:
            raise NotFound(f"no key {key_id[:16]}", code="unknown_key")
        now = now_ms()
        body: dict[str, Any] = {
            "actor": key.actor_id,
            "key_id": key.key_id,
            "effective_time": now,
            "event_time": now,
        }
        if reason:
            body["reason"] = reason
        if compromised is not None:
            body["compromised_since"] = min(compromised, now)
        return state.service.append_one(sign_entry(KEY_REVOKE, body, _operator_key(state)), now=now)

    accepted = _audited(caller, "key.revoke", key_id[:16], work)
    return {"index": accepted.index}


def _compromised_since(given: Any, now: int) -> int | None:
    """The revocation's ``compromised_since`` (ms): None when not given; an ISO 8601 time
    (the page's ``datetime-local``, read as UTC when it names no zone) or integer ms, not in
    the future and not before 2000."""
    if given is None or given == "":
        return None
    bad = InvalidInput(
        "compromised_since is a past time: ISO 8601 (UTC unless a zone is given) or ms",
        code="invalid_compromised_since",
    )
    if isinstance(given, bool):
        raise bad
    if isinstance(given, int):
        when = given
    elif isinstance(given, str) and len(given) <= 40:
        try:
            parsed = datetime.fromisoformat(given.strip())
        except ValueError:
            raise bad from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        when = (parsed - _EPOCH) // timedelta(milliseconds=1)
    else:
        raise bad
    if not _YEAR_2000_MS <= when <= now + 60_000:  # a minute of clock skew
        raise bad
    return when


_YEAR_2000_MS = 946_684_800_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _replace(account: Account, **changes: Any) -> Account:
    from dataclasses import replace  # noqa: PLC0415

    return replace(account, **changes)


# The seller's screens, on this router and in the route table.
seller_routes.register(router, _html, _lang)

# The attestation screens (issue 20), on this router and in the route table.
attest_routes.register(router, _html, _lang)
