"""End to end: ``tracemark serve`` (2 workers) writes JSON lines in production format, one
access line per request with the request id, and no secret the requests carried."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.serving import HTTP_TIMEOUT_S
from tests.e2e.test_shared_state import serving

pytestmark = [pytest.mark.e2e]

KEY = "tmk_0123456789abcdef_ZTJlLXNlY3JldC1rZXktdGhhdC1tdXN0LW5vdC1sZWFr"  # TEST ONLY
BEARER = "ZTJlLWJlYXJlci1zZWNyZXQ"  # TEST ONLY


def call(url: str, rid: str, data: bytes | None = None) -> int:
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        url,
        data=data,
        headers={
            "X-API-Key": KEY,
            "Authorization": f"Bearer {BEARER}",
            "X-Request-ID": rid,
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as answer:  # noqa: S310
            assert answer.headers["X-Request-ID"] == rid
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        assert exc.headers["X-Request-ID"] == rid
        return int(exc.code)


def test_json_access_lines_without_secrets(tmp_path: Path) -> None:
    with serving(tmp_path, TRACEMARK_LOG_FORMAT="json", TRACEMARK_RATE_LIMIT="0") as (url, _):
        statuses = [
            call(url + f"/healthz?n={BEARER}", "e2e-1"),
            call(url + "/v1/webhooks", "e2e-2"),
            call(url + "/v1/listings/verify", "e2e-3", data=b'{"listings": [' + KEY.encode()),
        ]
    assert statuses == [200, 401, 422]
    text = (tmp_path / "server.log").read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = {line["request_id"]: line for line in lines if line["logger"] == "tracemark.access"}
    assert len(access) == 4, sorted(access)  # with wait_ready's GET /healthz
    assert {"e2e-1", "e2e-2", "e2e-3"} < set(access), sorted(access)
    assert access["e2e-1"]["query"] == "n=*"
    assert [access[r]["status"] for r in ("e2e-1", "e2e-2", "e2e-3")] == statuses
    assert all(line["time"].endswith("Z") and line["level"] for line in lines)
    assert KEY not in text and KEY.split("_")[2] not in text and BEARER not in text
