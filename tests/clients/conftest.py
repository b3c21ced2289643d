"""A live Tracemark server for the client tests: the app over the in-memory store with the
standard test supply chain and stock (tests/api/test_platform.py's ``stock``), served by
uvicorn on a free port of 127.0.0.1 in a thread, and a platform API key for tiktok.

The clients under test (clients/python, ``tracemark_client``) talk to it over real HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI

from api.http.app import create_app
from api.http.state import PlatformState
from ledger.keys import PrivateKey
from ledger.ports.platform import new_api_key
from ledger.usecases.service import LogService, now_ms
from tests.api.test_platform import code, settings, stock
from tests.api.test_submitter import served
from tests.conftest import initialized, make_store
from tests.supply import Supply, standard


@dataclass
class Live:
    url: str
    app: FastAPI
    supply: Supply
    service: LogService
    api_key: str  # tiktok's

    @property
    def platform(self) -> PlatformState:
        return self.app.state.tracemark.platform

    def code(self, serial: str) -> str:
        return code(self.supply, serial)


@pytest.fixture
def live(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    operator_key: PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Live]:
    monkeypatch.setenv("TRACEMARK_WEBHOOK_WORKER", "0")  # the tests deliver themselves
    start = now_ms()  # entries posted over HTTP are admitted at the server's clock
    store = make_store("memory", request, tmp_path)
    service = initialized(store, operator_key, now=start - 10_000)
    service.log_key = operator_key
    supply = standard(service, operator_key, now=start)
    stock(supply)
    service.checkpoint(now=now_ms())  # verdicts carry an inclusion proof to a checkpoint
    app = create_app(settings(tmp_path), service=service)
    record, token = new_api_key("tiktok", "", secret=b"\x07" * 32, now=start, rate_limit=6_000)
    app.state.tracemark.platform.store.add_key(record)
    with served(app) as url:
        yield Live(url, app, supply, service, token)
    store.close()
