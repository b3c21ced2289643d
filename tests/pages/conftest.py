"""Fixtures of the page tests: the app in process over a small chain (tests/pages/chain.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.settings import Settings
from ledger.keys import PrivateKey
from ledger.storage.memory.log import MemoryStore
from tests.pages.chain import Chain, build_chain, fresh_service

RESOLVER = "https://tm.example.test"
HTML = {"accept": "text/html,application/xhtml+xml", "accept-language": "en-US,en;q=0.9"}


def page_settings(tmp_path: Path, resolver: str = RESOLVER) -> Settings:
    return Settings(
        home=tmp_path,
        key_file=tmp_path / "absent.key",
        resolver=resolver,
        rate_limit_per_minute=0,
    )


@dataclass
class Served:
    client: TestClient
    app: FastAPI
    chain: Chain
    operator: PrivateKey


@pytest.fixture
def served(tmp_path: Path, operator_key: PrivateKey) -> Iterator[Served]:
    store = MemoryStore()
    service = fresh_service(store, operator_key)
    chain = build_chain(service, operator_key, RESOLVER)
    app = create_app(page_settings(tmp_path), service=service)
    with TestClient(app, base_url=RESOLVER) as client:
        yield Served(client, app, chain, operator_key)
