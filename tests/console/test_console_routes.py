"""The console's routes in process: invites, password + TOTP sign-in, sessions, CSRF and
Origin checks, the role of every route in the route table, actor binding of signed entries,
the operator's actions, and the audit trail."""

from __future__ import annotations

import time

import pytest

from api.accounts import ROLES as ACCOUNT_ROLES
from api.http.console.table import ROUTES, ConsoleRoute
from ledger.keys import PrivateKey
from ledger.log.entries import sign_entry
from ledger.provenance.events.names import KEY_ADD
from tests.console.conftest import ACTOR_KEYS, ORIGIN, PASSWORD, Console, Person, now

GUARDED = [r for r in ROUTES if r.roles]
ROLES = tuple(ACCOUNT_ROLES)  # every console role, including roles added later
#: (route, a role it refuses) for every route of the table and every role it does not admit.
REFUSALS = [(r, role) for r in GUARDED for role in ROLES if role not in r.roles]


def _path(route: ConsoleRoute) -> str:
    return (
        route.path.replace("{account_id}", "0123456789abcdef")
        .replace("{key_id}", "0123456789abcdef")
        .replace("{token}", "x")
        .replace("{name}", "console.js")
        .replace("{gtin}", "08930001000018")
        .replace("{job_id}", "no-such-job")
    )


def test_the_route_table_covers_every_console_route(console: Console) -> None:
    from api.http.routes.console import router
    from api.http.routes.console_producer import router as producer_router

    served = {
        (m, r.path)
        for r in (*router.routes, *producer_router.routes)
        for m in getattr(r, "methods", ())
    }
    table = {(r.method, r.path) for r in ROUTES}
    assert served == table
    assert {r.name for r in GUARDED} >= {"accounts", "approve", "revoke", "entries", "key"}
    seller = {r.name for r in GUARDED if r.roles == ("seller",)}
    assert seller >= {
        "seller_shipments",
        "seller_stock",
        "seller_listings",
        "seller_overlay",
        "seller_scans",
    }
    assert len(REFUSALS) > 20


@pytest.mark.parametrize("route,role", REFUSALS, ids=[f"{r.name}-{role}" for r, role in REFUSALS])
def test_a_wrong_role_is_refused_at_every_route(
    shared_people: dict[str, Person], route: ConsoleRoute, role: str
) -> None:
    person = shared_people[role]
    if route.method == "GET":
        answer = person.client.get(_path(route))
    else:
        answer = person.post(_path(route), {})
    assert answer.status_code == 403, (route, role, answer.text)
    assert answer.json()["code"] == "wrong_role"


@pytest.mark.parametrize("route", GUARDED, ids=[r.name for r in GUARDED])
def test_every_guarded_route_needs_a_session(shared_console: Console, route: ConsoleRoute) -> None:
    client = shared_console.client()
    if route.method == "GET":
        answer = client.get(_path(route))
    else:
        answer = client.post(_path(route), json={}, headers={"origin": ORIGIN})
    assert answer.status_code == 401 and answer.json()["code"] == "signin_required"


def test_csrf_and_origin_are_checked_on_every_state_change(people: dict[str, Person]) -> None:
    operator = people["operator"]
    body = {"role": "seller", "actor_id": "shop-csrf"}
    missing = operator.client.post("/console/api/invites", json=body, headers={"origin": ORIGIN})
    assert missing.status_code == 403 and missing.json()["code"] == "csrf_failed"
    wrong = operator.post("/console/api/invites", body, headers={"x-csrf-token": "x" * 43})
    assert wrong.status_code == 403 and wrong.json()["code"] == "csrf_failed"
    other = operator.post("/console/api/invites", body, headers={"origin": "https://evil.test"})
    assert other.status_code == 403 and other.json()["code"] == "origin_refused"
    none = operator.client.post(
        "/console/api/invites", json=body, headers={"x-csrf-token": operator.csrf}
    )
    assert none.status_code == 403 and none.json()["code"] == "origin_refused"
    ok = operator.post("/console/api/invites", body)
    assert ok.status_code == 201 and "/console/invite/" in ok.json()["link"]


CHANGES = [r for r in GUARDED if r.method == "POST"]


@pytest.mark.parametrize("route", CHANGES, ids=[r.name for r in CHANGES])
def test_every_guarded_action_needs_the_csrf_token(
    shared_people: dict[str, Person], route: ConsoleRoute
) -> None:
    """For a role the route admits: no token, or a wrong one, is refused before the route
    reads its body (a seller's signed entries included: POST /console/api/entries)."""
    person = shared_people[route.roles[0]]
    for headers in ({"origin": ORIGIN}, {"origin": ORIGIN, "x-csrf-token": "x" * 43}):
        answer = person.client.post(_path(route), json={}, headers=headers)
        assert answer.status_code == 403, (route.name, answer.text)
        assert answer.json()["code"] == "csrf_failed"


def test_session_cookie_is_httponly_strict_and_secure(console: Console) -> None:
    token = console.invite_token("operator", name="cookie-check")
    client = console.client()
    secret = client.get(f"/console/invite/{token}").text.split('id="totp-secret">')[1][:32]
    import pyotp

    answer = client.post(
        f"/console/api/invite/{token}/password",
        json={"password": PASSWORD, "code": pyotp.TOTP(secret).now()},
        headers={"origin": ORIGIN},
    )
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("__Host-tm_console=")
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert attribute.lower() in cookie.lower(), cookie
    # The token in the cookie is not what the database keeps (only its SHA-256).
    token_value = cookie.split("=", 1)[1].split(";")[0]
    stored = console.state.console.accounts.store  # type: ignore[union-attr]
    assert stored.session(token_value.encode()) is None


def test_an_invite_works_once_and_expires(console: Console) -> None:
    token = console.invite_token("operator", name="once")
    person_client = console.client()
    secret = person_client.get(f"/console/invite/{token}").text.split('id="totp-secret">')[1][:32]
    import pyotp

    totp = pyotp.TOTP(secret)
    first = person_client.post(
        f"/console/api/invite/{token}/password",
        json={"password": PASSWORD, "code": totp.now()},
        headers={"origin": ORIGIN},
    )
    assert first.status_code == 201
    again = console.client().post(
        f"/console/api/invite/{token}/password",
        json={"password": PASSWORD, "code": totp.now()},
        headers={"origin": ORIGIN},
    )
    assert again.status_code == 409 and again.json()["code"] == "invite_used"
    assert console.client().get(f"/console/invite/{token}").status_code == 410
    accounts = console.state.console.accounts  # type: ignore[union-attr]
    invite, old = accounts.invite("operator", now=now() - 8 * 24 * 3600 * 1000, name="late")
    assert invite.expires < now()
    late = console.client().get(f"/console/invite/{old}")
    assert late.status_code == 410
    assert console.client().get("/console/invite/nonsense").status_code == 404


def test_password_sign_in_needs_the_totp_code_and_is_rate_limited(
    console: Console, people: dict[str, Person]
) -> None:
    person = people["producer"]
    client = console.client()
    wrong_code = client.post(
        "/console/api/signin/password",
        json={"name": "producer-one", "password": PASSWORD, "code": "000000"},
        headers={"origin": ORIGIN},
    )
    assert wrong_code.status_code == 401 and wrong_code.json()["code"] == "signin_failed"
    wrong_password = client.post(
        "/console/api/signin/password",
        json={"name": "producer-one", "password": "not the password", "code": person.totp.now()},
        headers={"origin": ORIGIN},
    )
    assert wrong_password.status_code == 401
    statuses = [
        client.post(
            "/console/api/signin/password",
            json={"name": "producer-one", "password": "guess", "code": "123456"},
            headers={"origin": ORIGIN},
        ).status_code
        for _ in range(12)
    ]
    assert 429 in statuses
    limited = client.post(
        "/console/api/signin/password",
        json={"name": "producer-one", "password": "guess", "code": "123456"},
        headers={"origin": ORIGIN},
    )
    assert limited.json()["code"] == "rate_limited" and "retry-after" in limited.headers


def test_sign_in_rotates_the_session(console: Console, people: dict[str, Person]) -> None:
    person = people["seller"]
    name = "__Host-tm_console"
    before = person.client.cookies.get(name)
    # The code of the next 30 s step (within the allowed drift): the current one was spent
    # when the account was made, and a code is accepted once.
    code = person.totp.at(int(time.time()) + 30)
    answer = person.client.post(
        "/console/api/signin/password",
        json={"name": "seller-one", "password": PASSWORD, "code": code},
        headers={"origin": ORIGIN},
    )
    assert answer.status_code == 200, answer.text
    after = person.client.cookies.get(name)
    assert after and after != before
    old = console.client()
    old.cookies.set(name, before or "")
    assert old.get("/console/api/me").status_code == 401


def test_a_signed_entry_must_speak_for_the_callers_actor_with_its_key(
    console: Console, people: dict[str, Person]
) -> None:
    producer = people["producer"]
    mine, theirs = ACTOR_KEYS["producer"], ACTOR_KEYS["seller"]
    extra = PrivateKey.from_seed(bytes([9] * 32)).public_key.to_text()  # TEST ONLY
    other_actor = sign_entry(
        KEY_ADD, {"actor": "seller-one", "key": extra, "event_time": now()}, mine
    )
    refused = producer.post("/console/api/entries", {"entry": other_actor.to_obj()})
    assert refused.status_code == 403 and refused.json()["code"] == "not_your_actor"
    other_key = sign_entry(
        KEY_ADD, {"actor": "producer-one", "key": extra, "event_time": now()}, theirs
    )
    refused = producer.post("/console/api/entries", {"entry": other_key.to_obj()})
    assert refused.status_code == 403 and refused.json()["code"] == "not_your_key"
    good = sign_entry(KEY_ADD, {"actor": "producer-one", "key": extra, "event_time": now()}, mine)
    accepted = producer.post("/console/api/entries", {"entry": good.to_obj()})
    assert accepted.status_code == 201, accepted.text
    view = console.state.service.actor_view("producer-one")
    assert {k.public_key for k in view.keys} >= {extra, mine.public_key.to_text()}
    forged = good.to_obj() | {"signature": other_key.to_obj()["signature"]}
    bad = producer.post("/console/api/entries", {"entry": forged})
    assert bad.status_code >= 400 and bad.status_code != 500


def test_operator_records_identity_revokes_and_the_audit_trail_has_it(
    console: Console, people: dict[str, Person]
) -> None:
    operator = people["operator"]
    accounts = console.state.console.accounts  # type: ignore[union-attr]
    seller = accounts.store.account_named("seller-one")
    assert seller is not None
    checked = operator.post(
        f"/console/api/accounts/{seller.account_id}/identity",
        {"level": "document", "note": "business licence 0312345678 seen"},
    )
    assert checked.status_code == 200, checked.text
    again = accounts.store.account(seller.account_id)
    assert again is not None and again.identity_level == "document"
    bad_level = operator.post(
        f"/console/api/accounts/{seller.account_id}/identity", {"level": "trust-me"}
    )
    assert bad_level.status_code == 400
    key_id = console.state.service.actor_view("seller-one").keys[0].key_id
    revoked = operator.post(f"/console/api/keys/{key_id}/revoke", {"reason": "lost phone"})
    assert revoked.status_code == 200, revoked.text
    assert console.state.service.actor_view("seller-one").keys[0].revoked
    trail = operator.client.get("/console/api/audit").json()["records"]
    actions = [(r["action"], r["outcome"]) for r in trail]
    for expected in [
        ("identity.check", "ok"),
        ("identity.check", "refused"),
        ("key.revoke", "ok"),
        ("actor.approve", "ok"),
        ("invite.redeem", "ok"),
    ]:
        assert expected in actions, expected
    refused = people["seller"].client.get("/console/operator/accounts")
    assert refused.status_code == 403
    trail = operator.client.get("/console/api/audit").json()["records"]
    assert trail[0]["action"] == "refused:accounts" and trail[0]["detail"] == "wrong_role"


def test_pending_accounts_reach_only_their_key_screen(console: Console) -> None:
    person = console.join("producer", actor_id="fresh-maker")
    assert person.client.get("/console/key").status_code == 200
    key = PrivateKey.from_seed(bytes([77] * 32)).public_key.to_text()  # TEST ONLY
    assert person.post("/console/api/key", {"public_key": key}).status_code == 200
    page = person.client.get("/console/key")
    assert page.status_code == 200 and f"Waiting for approval: {key}" in page.text
    answer = person.client.get("/console/producer/keys")
    assert answer.status_code == 403 and answer.json()["code"] == "not_approved"
    entry = person.post("/console/api/entries", {"entry": {}})
    assert entry.status_code == 403 and entry.json()["code"] == "not_approved"


def test_screens_have_a_strict_policy_and_no_inline_script(people: dict[str, Person]) -> None:
    operator = people["operator"]
    for path in (
        "/console/operator/accounts",
        "/console/operator/invites",
        "/console/operator/health",
        "/console/operator/audit",
        "/console/",
    ):
        answer = operator.client.get(path)
        assert answer.status_code == 200, path
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "<script>" not in answer.text and "<script src=" in answer.text
        assert "http://" not in answer.text.replace(ORIGIN, "")


JUNK: list[object] = [
    [],
    "text",
    {"unexpected": 1},
    {"entry": {"type": 5}},
    {"entry": "x", "public_key": 7, "role": ["operator"], "level": None},
    {"name": "x" * 10_000, "password": "p" * 10_000, "code": "1" * 100},
    {"challenge_id": "c" * 64, "credential": {"id": ["nested"], "response": "x"}},
]
#: Actions that read a body (sign-in options take none; signing out ends the shared session).
ACTIONS = [
    r for r in ROUTES if r.method == "POST" and r.name not in {"signout", "signin_passkey_options"}
]


@pytest.mark.parametrize("route", ACTIONS, ids=[r.name for r in ACTIONS])
def test_junk_bodies_get_a_problem_never_a_500(
    shared_people: dict[str, Person], route: ConsoleRoute
) -> None:
    person = shared_people[route.roles[0]] if route.roles else shared_people["operator"]
    for body in JUNK:
        answer = person.client.post(
            _path(route),
            json=body,
            headers={"origin": ORIGIN, "x-csrf-token": person.csrf},
        )
        assert 400 <= answer.status_code < 500, (route.name, body, answer.text)
        assert answer.json()["code"], answer.text
