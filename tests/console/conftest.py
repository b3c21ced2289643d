"""Fixtures of the console tests: the app in process over a fresh log (memory or SQLite),
and helpers that make accounts of every role the way people do (invite, then password and
TOTP, in process; passkeys are driven by Chromium in test_console_browser.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.accounts import ACTOR_ROLES, ROLES
from api.http.app import create_app
from api.http.state import AppState
from api.settings import Settings
from ledger.keys import PrivateKey
from ledger.storage.sql.log import SqlStore
from tests.conftest import initialized

ORIGIN = "https://console.example.test"
PASSWORD = "correct horse battery staple"  # TEST ONLY
#: The signing key each actor role is approved with in ``people`` (TEST ONLY).
ACTOR_KEYS = {role: PrivateKey.from_seed(bytes([i + 1] * 32)) for i, role in enumerate(ACTOR_ROLES)}


@dataclass
class Person:
    name: str
    role: str
    client: TestClient
    csrf: str
    totp: pyotp.TOTP

    def post(self, path: str, body: object = None, **kw: object):  # type: ignore[no-untyped-def]
        headers = {"origin": ORIGIN, "x-csrf-token": self.csrf, **kw.pop("headers", {})}  # type: ignore[dict-item]
        return self.client.post(path, json=body or {}, headers=headers, **kw)  # type: ignore[arg-type]


@dataclass
class Console:
    app: FastAPI
    state: AppState
    operator_key: PrivateKey
    db: Path

    def client(self) -> TestClient:
        return TestClient(self.app, base_url=ORIGIN)

    def invite_token(self, role: str, actor_id: str = "", name: str = "", handle: str = "") -> str:
        accounts = self.state.console.accounts  # type: ignore[union-attr]
        _, token = accounts.invite(role, now=now(), actor_id=actor_id, name=name, handle=handle)
        return token

    def join(self, role: str, actor_id: str = "", name: str = "", handle: str = "") -> Person:
        """Accept an invite with a password and TOTP; return the signed-in person."""
        token = self.invite_token(role, actor_id, name, handle)
        client = self.client()
        page = client.get(f"/console/invite/{token}")
        assert page.status_code == 200, page.text
        secret = page.text.split('id="totp-secret">')[1].split("<")[0]
        totp = pyotp.TOTP(secret)
        answer = client.post(
            f"/console/api/invite/{token}/password",
            json={"password": PASSWORD, "code": totp.now()},
            headers={"origin": ORIGIN},
        )
        assert answer.status_code == 201, answer.text
        home = client.get("/console/", headers={"accept": "text/html"})
        assert home.status_code == 200, home.text
        csrf = home.text.split('name="csrf-token" content="')[1].split('"')[0]
        return Person(actor_id or name or role, role, client, csrf, totp)


def now() -> int:
    return time.time_ns() // 1_000_000


@contextmanager
def serving(tmp_path: Path, operator_key: PrivateKey) -> Iterator[Console]:
    db = tmp_path / "log.db"
    store = SqlStore(f"sqlite:///{db}")
    service = initialized(store, operator_key, now=now() - 60_000)
    service.log_key = operator_key
    settings = Settings(
        home=tmp_path, key_file=tmp_path / "absent.key", resolver=ORIGIN, rate_limit_per_minute=0
    )
    app = create_app(settings, service=service)
    with TestClient(app, base_url=ORIGIN):
        yield Console(app, app.state.tracemark, operator_key, db)
    store.close()


@pytest.fixture
def console(tmp_path: Path, operator_key: PrivateKey) -> Iterator[Console]:
    with serving(tmp_path, operator_key) as served:
        yield served


@pytest.fixture(scope="module")
def shared_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """One console for a module's read-only tests (argon2 makes accounts slow to create)."""
    key = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
    with serving(tmp_path_factory.mktemp("console"), key) as served:
        yield served


@pytest.fixture
def people(console: Console) -> dict[str, Person]:
    """One signed-in, approved person per role (actors registered with a test key)."""
    return make_people(console)


@pytest.fixture(scope="module")
def shared_people(shared_console: Console) -> dict[str, Person]:
    return make_people(shared_console)


def make_people(console: Console) -> dict[str, Person]:
    out: dict[str, Person] = {}
    for role in ROLES:  # every console role, including roles added later
        actor = f"{role}-one" if role in ACTOR_ROLES else ""
        person = console.join(role, actor_id=actor, name="" if actor else f"{role}-one")
        out[role] = person
    operator = out["operator"]
    for role in ACTOR_ROLES:
        key = ACTOR_KEYS[role].public_key.to_text()
        assert out[role].post("/console/api/key", {"public_key": key}).status_code == 200
        account = console.state.console.accounts.store.account_named(f"{role}-one")  # type: ignore[union-attr]
        assert account is not None
        done = operator.post(
            f"/console/api/accounts/{account.account_id}/approve", {"country": "VN"}
        )
        assert done.status_code == 200, done.text
    return out
