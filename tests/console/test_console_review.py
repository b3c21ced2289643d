"""Defects found by the security review of the console (issue 19 foundation): each test
failed before its fix. Secrets out of logs and URLs, TOTP codes single use across workers,
and approvals that cannot hand a key to an actor of another role."""

from __future__ import annotations

import logging
import re

import pyotp
import pytest

from api.accounts import Accounts
from api.logs import access_line, scrub
from api.settings import ConsoleSettings
from ledger.errors import Conflict
from ledger.keys import PrivateKey
from ledger.log.entries import sign_entry
from ledger.provenance.events.names import ACTOR_REGISTER
from ledger.storage.sql.console import memory_console_store
from tests.console.conftest import ORIGIN, PASSWORD, Console, Person, now

T = 1_800_000_000_000
TOKEN = "Zm9vYmFyYmF6cXV4cXV1eF9hYmNkZWZnaGlqa2xtbm8x"  # TEST ONLY, shaped like an invite token


@pytest.mark.parametrize(
    "path",
    [
        f"/console/invite/{TOKEN}",
        f"/console/api/invite/{TOKEN}/password",
        f"/console/api/invite/{TOKEN}/passkey/options",
        f"/console/api/invite/{TOKEN}/passkey",
    ],
)
def test_invite_tokens_never_reach_the_access_log(
    path: str, caplog: pytest.LogCaptureFixture
) -> None:
    # An invite link is a bearer secret (it makes an account): the path must not carry it
    # into a log line, however the line is formatted.
    assert TOKEN not in scrub(path)
    with caplog.at_level(logging.INFO, logger="tracemark.access"):
        access_line("GET", path, "", 200, seconds=0.01, client="127.0.0.1", rid="r1")
    (record,) = [r for r in caplog.records if r.name == "tracemark.access"]
    assert TOKEN not in record.getMessage()
    assert TOKEN not in str(getattr(record, "path", ""))
    assert "/invite/" in record.getMessage()  # the line still says what was asked


def test_console_forms_never_send_secrets_in_a_url(
    console: Console, people: dict[str, Person]
) -> None:
    # Before its script runs (slow phone, blocked script), a form without a method is sent
    # by the browser as GET to the page itself: password, TOTP code or backup passphrase in
    # the address bar and the history. Every console form says method="post".
    token = console.invite_token("producer", actor_id="form-check")
    pages = [
        console.client().get("/console/signin").text,
        console.client().get(f"/console/invite/{token}").text,
    ]
    for role, paths in {
        "operator": ("/console/", "/console/operator/accounts", "/console/operator/invites"),
        "producer": (
            "/console/key",
            "/console/producer/keys",
            "/console/producer/products",
            "/console/producer/batches",
            "/console/producer/labels",
            "/console/producer/ship",
        ),
    }.items():
        for path in paths:
            answer = people[role].client.get(path)
            assert answer.status_code == 200, path
            pages.append(answer.text)
    seen = 0
    for page in pages:
        for tag in re.findall(r"<form\b[^>]*>", page):
            seen += 1
            assert 'method="post"' in tag, tag
    assert seen >= 10
    # What such a form's POST meets instead: a refusal, and nothing of it in the URL.
    sent = console.client().post(
        "/console/signin",
        data={"name": "x", "password": PASSWORD, "code": "123456"},
        headers={"origin": ORIGIN},
    )
    assert sent.status_code == 405 and PASSWORD not in str(sent.url)


def test_a_totp_code_is_single_use_across_workers() -> None:
    # Two workers (two Accounts over the same tables) must not both accept one code: the
    # replay guard lives in the database, not in one process's memory.
    store = memory_console_store()
    settings = ConsoleSettings(session_idle_s=600, session_max_s=3600, invite_s=3600)
    one, two = Accounts(store, settings), Accounts(store, settings)
    invite, token = one.invite("operator", now=T, name="ops")
    totp = pyotp.TOTP(invite.totp_secret)
    one.redeem_with_password(token, PASSWORD, totp.at(T // 1000), now=T)
    code = totp.at(T // 1000 + 60)
    assert one.sign_in_password("ops", PASSWORD, code, now=T + 60_000).name == "ops"
    from api.accounts import SignInFailed

    with pytest.raises(SignInFailed):
        two.sign_in_password("ops", PASSWORD, code, now=T + 61_000)
    # The code of redemption is spent too, for every worker.
    with pytest.raises(SignInFailed):
        two.sign_in_password("ops", PASSWORD, totp.at(T // 1000), now=T + 1_000)
    # A later code still works (and the guard's rows expire).
    later = totp.at(T // 1000 + 300)
    assert two.sign_in_password("ops", PASSWORD, later, now=T + 300_000).name == "ops"


def test_approval_never_adds_a_key_to_an_actor_of_another_role(
    console: Console, people: dict[str, Person]
) -> None:
    # A producer "maker-x" is registered in the log (by the CLI, say) with no console
    # account. A *seller* invite naming "maker-x" must not let the operator's approve button
    # add the seller's browser key to the producer (key.add): the seller would then sign the
    # producer's entries from the console.
    operator_key = console.operator_key
    producer_key = PrivateKey.from_seed(bytes([91] * 32))  # TEST ONLY
    body = {
        "actor": {
            "id": "maker-x",
            "role": "producer",
            "name": "Maker X",
            "country": "VN",
            "verified": False,
        },
        "keys": [producer_key.public_key.to_text()],
        "event_time": now(),
    }
    console.state.service.append_one(sign_entry(ACTOR_REGISTER, body, operator_key), now=now())
    seller = console.join("seller", actor_id="maker-x")
    seller_key = PrivateKey.from_seed(bytes([92] * 32)).public_key.to_text()  # TEST ONLY
    assert seller.post("/console/api/key", {"public_key": seller_key}).status_code == 200
    account = console.state.console.accounts.store.account_named("maker-x")  # type: ignore[union-attr]
    assert account is not None
    size = console.state.service.store.head().size
    answer = people["operator"].post(f"/console/api/accounts/{account.account_id}/approve", {})
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "role_mismatch"
    assert console.state.service.store.head().size == size  # nothing appended
    again = console.state.console.accounts.store.account(account.account_id)  # type: ignore[union-attr]
    assert again is not None and again.status == "pending"
    assert ORIGIN.startswith("https://")


def test_a_passkey_challenge_taken_twice_at_once_is_answered_once() -> None:
    # Two answers to one challenge racing (PostgreSQL, read committed): both read the row
    # before either deletes it. Only the one whose delete removed it may use it.
    from sqlalchemy import event

    from ledger.ports.console import Challenge

    store = memory_console_store()
    store.add_challenge(Challenge("c1", "signin", b"x" * 32, "", T + 60_000))
    raced = []

    def other_worker_first(*args):  # type: ignore[no-untyped-def]
        _, cursor, statement = args[:3]  # conn, cursor, statement, params, context, many
        if statement.startswith("DELETE") and "challenge_id" in statement and not raced:
            raced.append(True)  # the other worker's delete lands between our read and ours
            cursor.connection.execute("DELETE FROM console_challenges WHERE challenge_id='c1'")

    event.listen(store.engine, "before_cursor_execute", other_worker_first)
    try:
        assert store.take_challenge("c1", "signin", T) is None
    finally:
        event.remove(store.engine, "before_cursor_execute", other_worker_first)
    assert raced


def test_approval_is_of_the_key_the_operator_saw(
    console: Console, people: dict[str, Person]
) -> None:
    # The operator checks the key on the screen (with the person, out of band) and approves;
    # a key swapped in meanwhile must not be the one registered.
    person = console.join("producer", actor_id="swap-maker")
    seen = PrivateKey.from_seed(bytes([93] * 32)).public_key.to_text()  # TEST ONLY
    swapped = PrivateKey.from_seed(bytes([94] * 32)).public_key.to_text()  # TEST ONLY
    assert person.post("/console/api/key", {"public_key": seen}).status_code == 200
    operator = people["operator"]
    page = operator.client.get("/console/operator/accounts").text
    assert f'name="key" type="hidden" value="{seen}"' in page  # the form carries what it shows
    assert person.post("/console/api/key", {"public_key": swapped}).status_code == 200
    account = console.state.console.accounts.store.account_named("swap-maker")  # type: ignore[union-attr]
    assert account is not None
    size = console.state.service.store.head().size
    path = f"/console/api/accounts/{account.account_id}/approve"
    stale = operator.post(path, {"key": seen, "country": "VN"})
    assert stale.status_code == 409 and stale.json()["code"] == "key_changed", stale.text
    assert console.state.service.store.head().size == size
    fresh = operator.post(path, {"key": swapped, "country": "VN"})
    assert fresh.status_code == 200, fresh.text


def test_one_invite_redeemed_by_two_at_once_makes_one_account(console: Console) -> None:
    import threading
    from dataclasses import replace

    accounts = console.state.console.accounts  # type: ignore[union-attr]
    invite, _ = accounts.invite("producer", now=now(), actor_id="race-maker")
    base = accounts._new_account(invite, now(), "", "")  # the record redeem makes
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def redeem(account_id: str) -> None:
        start.wait()
        try:
            accounts.store.redeem(
                invite.token_hash, now(), replace(base, account_id=account_id), None
            )
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=redeem, args=(f"acct-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["invite_used", "ok"]
    assert [a.name for a in accounts.store.accounts()].count("race-maker") == 1


@pytest.mark.parametrize(
    ("actor_id", "handle"), [("acme\n", ""), ("acme", "tiktok:@shop\n")], ids=["actor", "handle"]
)
def test_an_invite_refuses_a_trailing_newline(actor_id: str, handle: str) -> None:
    # "^...$" matches "acme\n" with re.match: the CLI (no strip) would make an account, and
    # on approval an actor, whose id looks exactly like "acme" and is another actor.
    accounts = Accounts(memory_console_store(), ConsoleSettings())
    from ledger.errors import InvalidInput

    with pytest.raises(InvalidInput):
        accounts.invite("producer", now=T, actor_id=actor_id, handle=handle)
    assert accounts.store.invites() == []
