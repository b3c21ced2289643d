"""Fixtures shared by the integration tests of the verify path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.keys import PrivateKey
from tests.conftest import BACKENDS, initialized, make_store
from tests.supply import VERIFY_NOW, Supply, standard


@pytest.fixture(params=BACKENDS)
def story(
    request: pytest.FixtureRequest, tmp_path: Path, operator_key: PrivateKey
) -> Iterator[Supply]:
    """The standard cast on each store, with the operator key, the clock at VERIFY_NOW."""
    store = make_store(request.param, request, tmp_path)
    service = initialized(store, operator_key, now=VERIFY_NOW - 100_000)
    service.log_key = operator_key
    s = standard(service, operator_key)
    s.now = VERIFY_NOW
    yield s
    store.close()
