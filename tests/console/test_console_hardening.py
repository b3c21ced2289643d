"""The console's security review follow-ups (docs/console.md, Hardening):

- TOTP secrets are sealed at rest (accounts and invites); plain rows from before still
  work and are sealed when the store opens;
- the sign-in limiter keys clients by their salted label, never their address;
- passkey options are limited per client and per invite, with a cap on open challenges;
- the operator's key revocation can say since when the key was compromised: the entry
  carries it, the key's codes verify as counterfeit (key_compromised) and entries it signs
  from then on are refused.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
from sqlalchemy import create_engine

from api.accounts import Accounts, hash_token
from api.http.ratelimit import RateLimiter
from api.settings import ConsoleSettings
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keys import PrivateKey
from ledger.log.entries import sign_entry
from ledger.provenance.events.names import COMMISSION
from ledger.provenance.records import KeyRecord
from ledger.secret_box import SecretBox
from ledger.storage.sql.console import SqlConsoleStore
from tests.console.conftest import ORIGIN, PASSWORD, Console, Person, now
from tests.supply import GTIN, PRODUCER_PREFIX, TZ

T = 1_800_000_000_000
SETTINGS = ConsoleSettings(session_idle_s=600, session_max_s=3600, invite_s=3600)
BOX = SecretBox((("test-1", bytes(range(32))),))  # TEST ONLY


def _raw_rows(db: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608


def _text_of(rows: list[tuple[Any, ...]]) -> str:
    return " ".join(str(v) for row in rows for v in row)


def _options(client: Any, token: str) -> Any:
    return client.post(
        f"/console/api/invite/{token}/passkey/options", json={}, headers={"origin": ORIGIN}
    )


class Recording:
    """A limiter that remembers every identity it was asked about."""

    def __init__(self, inner: RateLimiter) -> None:
        self.inner, self.seen = inner, []  # type: ignore[var-annotated]

    def decide(self, identity: str) -> Any:
        self.seen.append(identity)
        return self.inner.decide(identity)


# --- 1. TOTP secrets at rest ------------------------------------------------------------------


def test_totp_secrets_are_sealed_at_rest_and_sign_in_still_works(console: Console) -> None:
    person = console.join("operator", name="sealed-op")
    secret = person.totp.secret
    accounts = _raw_rows(console.db, "console_accounts")
    invites = _raw_rows(console.db, "console_invites")
    assert accounts and invites
    assert secret not in _text_of(accounts) and secret not in _text_of(invites)
    stored = console.state.console.accounts.store.account_named("sealed-op")  # type: ignore[union-attr]
    assert stored is not None and stored.totp_secret == secret  # opened on read
    with sqlite3.connect(console.db) as conn:
        (raw,) = conn.execute(
            "SELECT totp_secret FROM console_accounts WHERE name = 'sealed-op'"
        ).fetchone()
    assert raw.startswith("enc:v1:")
    code = person.totp.at(now() // 1000 + 30)  # the next step: the join spent this one
    signed_in = console.client().post(
        "/console/api/signin/password",
        json={"name": "sealed-op", "password": PASSWORD, "code": code},
        headers={"origin": ORIGIN},
    )
    assert signed_in.status_code == 200, signed_in.text


def test_plain_rows_from_before_sealing_still_work_and_are_sealed(tmp_path: Path) -> None:
    db = tmp_path / "console.db"
    engine = create_engine(f"sqlite:///{db}")
    before = Accounts(SqlConsoleStore(engine), SETTINGS)  # as stored before this change
    invite, token = before.invite("operator", now=T, name="old-op")
    totp = pyotp.TOTP(invite.totp_secret)
    before.redeem_with_password(token, PASSWORD, totp.at(T // 1000), now=T)
    pending, _ = before.invite("operator", now=T, name="old-invite")
    assert invite.totp_secret in _text_of(_raw_rows(db, "console_accounts"))
    assert pending.totp_secret in _text_of(_raw_rows(db, "console_invites"))

    after = Accounts(SqlConsoleStore(engine, BOX), SETTINGS)
    assert invite.totp_secret not in _text_of(_raw_rows(db, "console_accounts"))
    assert pending.totp_secret not in _text_of(_raw_rows(db, "console_invites"))
    assert after.store.invite(pending.token_hash).totp_secret == pending.totp_secret  # type: ignore[union-attr]
    code = totp.at(T // 1000 + 60)
    assert after.sign_in_password("old-op", PASSWORD, code, now=T + 60_000).name == "old-op"
    engine.dispose()


# --- 2. the sign-in limiter keeps no address --------------------------------------------------


def test_the_sign_in_limiter_keys_hold_no_client_address(console: Console) -> None:
    state = console.state.console
    assert state is not None
    recording = Recording(state.signin_limiter)
    state.signin_limiter = recording  # type: ignore[assignment]
    address = "203.0.113.77"
    from fastapi.testclient import TestClient

    client = TestClient(console.app, base_url=ORIGIN, client=(address, 50000))
    client.post(
        "/console/api/signin/password",
        json={"name": "nobody", "password": "x" * 12, "code": "123456"},
        headers={"origin": ORIGIN},
    )
    client.post("/console/api/signin/passkey/options", json={}, headers={"origin": ORIGIN})
    assert recording.seen
    assert not any(address in identity for identity in recording.seen)
    label = console.state.device_salts.client_label(address, now())  # type: ignore[union-attr]
    assert label.startswith("c-") and address not in label
    assert recording.seen.count(f"client:{label}") == 2
    assert "name:nobody" in recording.seen


# --- 3. passkey options are bounded -----------------------------------------------------------


def test_an_invite_gets_a_bounded_number_of_open_passkey_challenges(console: Console) -> None:
    token = console.invite_token("operator", name="many-options")
    client = console.client()
    for _ in range(5):
        answer = _options(client, token)
        assert answer.status_code == 200, answer.text
    refused = _options(client, token)
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_challenges"
    store = console.state.console.accounts.store  # type: ignore[union-attr]
    assert store.count_challenges("register", hash_token(token).hex() + ":", now()) == 5
    # another invite is not held back by this one's challenges
    other = console.invite_token("operator", name="other-options")
    assert _options(client, other).status_code == 200


def test_passkey_options_are_rate_limited_per_invite_across_clients(console: Console) -> None:
    from fastapi.testclient import TestClient

    state = console.state.console
    assert state is not None
    state.signin_limiter = state.signin_limiter.with_rate(3, "signin-test")
    token = console.invite_token("operator", name="limited-options")
    statuses = []
    for n in range(4):  # four clients, one request each: only the invite's count adds up
        client = TestClient(console.app, base_url=ORIGIN, client=(f"198.51.100.{n}", 1))
        statuses.append(_options(client, token))
    assert [a.status_code for a in statuses] == [200, 200, 200, 429]
    assert statuses[-1].json()["code"] == "rate_limited" and "retry-after" in statuses[-1].headers
    one = TestClient(console.app, base_url=ORIGIN, client=("198.51.100.200", 1))
    answers = [_options(one, console.invite_token("operator", name=f"o{n}")) for n in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]  # per client too
    signin = [
        one.post("/console/api/signin/passkey/options", json={}, headers={"origin": ORIGIN})
        for _ in range(2)
    ]
    assert signin[-1].status_code == 429 and signin[-1].json()["code"] == "rate_limited"


# --- 5. revocation with compromised_since -----------------------------------------------------


def _producer(console: Console, operator: Person, key: PrivateKey) -> None:
    producer = console.join("producer", actor_id="fishco-lost")
    sent = producer.post("/console/api/key", {"public_key": key.public_key.to_text()})
    assert sent.status_code == 200, sent.text
    account = console.state.console.accounts.store.account_named("fishco-lost")  # type: ignore[union-attr]
    assert account is not None
    done = operator.post(
        f"/console/api/accounts/{account.account_id}/approve", {"prefixes": PRODUCER_PREFIX}
    )
    assert done.status_code == 200, done.text


def _commission(console: Console, key: PrivateKey, serial: str, when: int) -> None:
    body = {
        "actor": "fishco-lost",
        "event_time": when,
        "tz": TZ,
        "gtin": GTIN,
        "serials": {"list": [serial]},
    }
    console.state.service.append_one(sign_entry(COMMISSION, body, key), now=now())


def _status(console: Console, key: PrivateKey, serial: str) -> dict[str, Any]:
    code = issue_uri(CodeIdentity(GTIN, serial, ""), key, ORIGIN)
    answer = console.client().post("/v1/verify", json={"code": code})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_revocation_carries_compromised_since_and_later_codes_are_counterfeit(
    console: Console,
) -> None:
    operator = console.join("operator", name="op-revoker")
    key = PrivateKey.from_seed(b"lost-device-key-TEST-ONLY-000000")  # TEST ONLY
    _producer(console, operator, key)
    start = now()
    _commission(console, key, "ITEM1", start - 3_000)
    since = start - 2_000  # after the item was made: a thief may sign any serial
    assert _status(console, key, "ITEM1")["status"] != "counterfeit"
    page = operator.client.get("/console/operator/accounts", headers={"accept": "text/html"})
    assert 'name="compromised_since" type="datetime-local"' in page.text
    path = f"/console/api/keys/{key.key_id}/revoke"
    for bad in ("yesterday-ish", "2999-01-01T00:00:00", "1990-01-01T00:00", 12.5, True, ["x"]):
        refused = operator.post(path, {"compromised_since": bad})
        assert refused.status_code == 400, bad
        assert refused.json()["code"] == "invalid_compromised_since"
    assert not console.state.service.actor_view("fishco-lost").keys[0].revoked
    iso = datetime.fromtimestamp(since / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    revoked = operator.post(path, {"reason": "phone lost", "compromised_since": iso})
    assert revoked.status_code == 200, revoked.text
    _, entry = console.state.service.entry(revoked.json()["index"])
    assert entry.envelope.type == "key.revoke"
    assert entry.envelope.body["compromised_since"] == since
    with console.state.service.store.reader() as view:
        record = view.get(KeyRecord, (key.key_id,))
    assert record is not None and record.compromised_since == since

    # Its codes are counterfeit now (a code carries no time: any could be the thief's), and
    # an entry it signs from the compromise on is refused.
    verdict = _status(console, key, "ITEM1")
    assert verdict["status"] == "counterfeit"
    (reason,) = verdict["reasons"]
    assert reason["code"] == "key_compromised"
    assert reason["evidence"]["compromised_since"] == since
    late = {
        "actor": "fishco-lost",
        "event_time": since + 500,
        "tz": TZ,
        "gtin": GTIN,
        "serials": {"list": ["THIEF1"]},
    }
    outcome = console.state.service.append([sign_entry(COMMISSION, late, key)], now=now())[0]
    assert getattr(outcome, "code", "") == "key_revoked"
