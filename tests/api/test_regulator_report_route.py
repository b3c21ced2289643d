"""``GET /v1/reports/regulator``: a platform's API key gets a period's report, which verifies
offline once its files are written out; the clone alerts are those of items its own vouched
contexts saw; bad periods are 400 problems, a missing key 401."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.settings import Settings
from ledger.ports.platform import new_api_key
from ledger.usecases.retention import Retention
from ledger.verdicts.regulator import LINES_FILE, REPORT_FILE, verify_report
from tests.bundles import LOG_VKEY
from tests.regulator import report_story
from tests.supply import T0

DAY = "2025-10-09"  # the story's day (tests/supply.py T0)


@pytest.fixture
def client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    monkeypatch.setenv("TRACEMARK_WEBHOOK_WORKER", "0")
    story = report_story()
    settings = Settings(
        home=tmp_path, key_file=tmp_path / "absent.key", resolver="https://vt.example.test",
        rate_limit_per_minute=0,
        retention=Retention(prune_every=0),  # the story's scans are a year old
    )  # fmt: skip
    app = create_app(settings, service=story.story.service)
    tokens = {}
    for n, name in enumerate(("tiktok", "lazada")):
        record, token = new_api_key(name, "", secret=bytes([n]) * 32, now=T0, rate_limit=600)
        app.state.tracemark.platform.store.add_key(record)
        tokens[name] = token
    with TestClient(app) as test_client:
        yield test_client, tokens


def _get(client: TestClient, token: str | None, **params: str) -> object:
    headers = {"X-API-Key": token} if token else {}
    return client.get("/v1/reports/regulator", params=params, headers=headers)


def test_a_platform_gets_a_report_that_verifies_offline(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    test_client, tokens = client
    answer = _get(test_client, tokens["tiktok"], **{"from": DAY, "to": DAY, "tz": "UTC"})
    assert answer.status_code == 200, answer.text  # type: ignore[attr-defined]
    files = {k: v.encode() for k, v in answer.json()["files"].items()}  # type: ignore[attr-defined]
    result = verify_report(files, log_key=LOG_VKEY)
    assert result.ok, result.to_obj()
    assert b"clone_alert" in files[LINES_FILE]  # A3 was offered on tiktok and elsewhere
    other = _get(test_client, tokens["lazada"], **{"from": DAY, "to": DAY, "format": "csv"})
    files = {k: v.encode() for k, v in other.json()["files"].items()}  # type: ignore[attr-defined]
    assert set(files) == {LINES_FILE, REPORT_FILE}
    assert b"clone_alert" not in files[LINES_FILE]  # lazada saw none of it
    assert verify_report(files, log_key=LOG_VKEY).ok


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"from": DAY, "to": DAY, "tz": "Mars/Base"}, 400, "bad_period"),
        ({"from": "2025-10-10", "to": DAY}, 400, "bad_period"),
        ({"from": "yesterday", "to": DAY}, 400, "bad_period"),
        ({"from": "2026-12-01", "to": "2099-01-01"}, 413, "report_too_large"),
        ({"from": "2026-12-01", "to": "2027-01-31"}, 400, "bad_period"),  # not ended
        ({"from": "2020-01-01", "to": DAY}, 413, "report_too_large"),
    ],
)
def test_bad_periods_are_problems(
    client: tuple[TestClient, dict[str, str]], params: dict[str, str], status: int, code: str
) -> None:
    test_client, tokens = client
    answer = _get(test_client, tokens["tiktok"], **params)
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    assert answer.json()["code"] == code  # type: ignore[attr-defined]


def test_without_a_key_no_report(client: tuple[TestClient, dict[str, str]]) -> None:
    answer = _get(client[0], None, **{"from": DAY, "to": DAY})
    assert answer.status_code == 401  # type: ignore[attr-defined]
