"""The app in process (FastAPI's TestClient) over memory, SQLite and PostgreSQL stores.

``api`` is an initialized log with the standard test supply chain (tests/supply.py), served
by ``create_app`` with the operator key, no rate limit, and one TEST ONLY witness.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.settings import Settings
from ledger.keys import PrivateKey
from ledger.log.checkpoint import CosignatureVerifier
from ledger.log.entries import Envelope
from ledger.usecases.service import LogService, now_ms
from tests.conftest import BACKENDS, initialized, make_store
from tests.supply import Supply, standard

RESOLVER = "https://vt.example.test"
WITNESS = "witness.test"
WITNESS_KEY = PrivateKey.from_seed(b"witness-one-TEST-ONLY-seed-bytes")  # TEST ONLY
OTHER_WITNESS_KEY = PrivateKey.from_seed(b"witness-two-TEST-ONLY-seed-bytes")  # TEST ONLY
WITNESS_VERIFIER = CosignatureVerifier.from_public_key(WITNESS, WITNESS_KEY.public_key)


def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path,
        key_file=tmp_path / "absent.key",
        resolver=RESOLVER,
        rate_limit_per_minute=0,
        witnesses=(WITNESS_VERIFIER,),
    )


@dataclass
class Api:
    client: TestClient
    app: FastAPI
    supply: Supply
    service: LogService

    def post_entries(self, *envelopes: Envelope | Any) -> Any:
        objs = [e.to_obj() if isinstance(e, Envelope) else e for e in envelopes]
        return self.client.post("/v1/entries", json={"entries": objs})


def serve(service: LogService, tmp_path: Path) -> FastAPI:
    return create_app(settings(tmp_path), service=service)


def _api(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    operator_key: PrivateKey,
) -> Iterator[Api]:
    # The clock starts at the real time: entries posted over HTTP are admitted at the
    # server's clock, and an event dated days before it is back-dated (event_backdated).
    start = now_ms()
    store = make_store(backend, request, tmp_path)
    service = initialized(store, operator_key, now=start - 10_000)
    service.log_key = operator_key
    supply = standard(service, operator_key, now=start)
    app = serve(service, tmp_path)
    with TestClient(app) as client:
        yield Api(client, app, supply, service)
    store.close()


@pytest.fixture(params=BACKENDS)
def api(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    operator_key: PrivateKey,
) -> Iterator[Api]:
    """The app over each store."""
    yield from _api(request.param, request, tmp_path, operator_key)


@pytest.fixture
def memory_api(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    operator_key: PrivateKey,
) -> Iterator[Api]:
    """The app over the in-memory store: for checks of the HTTP layer alone (validation)."""
    yield from _api("memory", request, tmp_path, operator_key)
