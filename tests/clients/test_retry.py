"""The client's retries (tracemark_client.retry) over ``httpx.MockTransport``: what is retried,
how long it waits (Retry-After in seconds or as an HTTP date, else backoff with jitter), and
that attempts are bounded. The sleeps are recorded, never slept."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import tracemark_client as tm
from tracemark_client.retry import retry_after_seconds

VERDICT = {"status": "genuine", "source": "anonymous", "reasons": [], "item": {}}
PROBLEM = {"type": "about:blank", "title": "Too Many Requests", "status": 429,
           "detail": "slow down", "code": "rate_limited"}  # fmt: skip


def top(_: float, b: float) -> float:
    """A jitter that always picks the ceiling: the waits are then exact."""
    return b


def scripted(*answers: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[str]]:
    """A transport that gives ``answers`` in order (an exception is raised) and records the
    paths asked."""
    pending: Iterator[httpx.Response | Exception] = iter(answers)
    asked: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.method} {request.url.path}")
        answer = next(pending)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle), asked


def limited(retry_after: str | None = None, status: int = 429) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    problem = dict(PROBLEM, status=status, code="rate_limited" if status == 429 else "busy")
    return httpx.Response(status, json=problem, headers=headers)


def client(transport: httpx.MockTransport, slept: list[float], **retry: Any) -> tm.Client:
    policy = tm.Retry(**{"attempts": 4, "uniform": top, **retry})
    return tm.Client("http://tm.test", transport=transport, retry=policy, sleep=slept.append)


def test_429_waits_the_seconds_retry_after_names() -> None:
    transport, asked = scripted(limited("2"), limited("1"), httpx.Response(200, json=VERDICT))
    slept: list[float] = []
    assert client(transport, slept).verify("c").status == "genuine"
    assert slept == [2.0, 1.0] and len(asked) == 3


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert retry_after_seconds(date, now=now) == 7.0
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0
    assert retry_after_seconds("120", now=now) == 120.0
    for unreadable in (None, "", "soon", "-3", "1.5"):
        assert retry_after_seconds(unreadable, now=now) is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    transport, _ = scripted(limited(later, 503), httpx.Response(200, json=VERDICT))
    slept: list[float] = []
    client(transport, slept).verify("c")
    assert len(slept) == 1 and 27 <= slept[0] <= 30


def test_503_without_retry_after_backs_off_exponentially_with_jitter() -> None:
    transport, asked = scripted(*[limited(None, 503)] * 4)
    slept: list[float] = []
    with pytest.raises(tm.ServiceUnavailable) as failed:
        client(transport, slept, base_s=0.5, max_backoff_s=1.5).verify("c")
    assert slept == [0.5, 1.0, 1.5]  # base, 2x base, capped; then attempts are used up
    assert len(asked) == 4 and failed.value.status == 503 and failed.value.retry_after is None
    drawn: list[tuple[float, float]] = []
    jitter = tm.Retry(base_s=1, uniform=lambda a, b: drawn.append((a, b)) or a)
    assert [jitter.backoff(n) for n in (1, 2, 3)] == [0, 0, 0]
    assert drawn == [(0, 1), (0, 2), (0, 4)]  # full jitter: uniform in [0, ceiling]


def test_attempts_are_bounded_and_the_last_problem_is_raised() -> None:
    transport, asked = scripted(*[limited("1")] * 3)
    slept: list[float] = []
    with pytest.raises(tm.RateLimited) as raised:
        client(transport, slept, attempts=3).verify("c")
    assert len(asked) == 3 and slept == [1.0, 1.0]
    assert (raised.value.code, raised.value.message, raised.value.retry_after) == (
        "rate_limited",
        "slow down",
        1.0,
    )


def test_a_retry_after_beyond_the_limit_is_not_waited_for() -> None:
    transport, asked = scripted(limited("3600"))
    slept: list[float] = []
    with pytest.raises(tm.RateLimited) as raised:
        client(transport, slept, max_wait_s=60).verify("c")
    assert slept == [] and len(asked) == 1 and raised.value.retry_after == 3600


def test_other_errors_are_not_retried() -> None:
    for status, kind in [(400, tm.BadRequest), (404, tm.NotFound), (500, tm.ServerError)]:
        transport, asked = scripted(httpx.Response(status, json={"code": "x", "detail": "d"}))
        slept: list[float] = []
        with pytest.raises(kind):
            client(transport, slept).verify("c")
        assert len(asked) == 1 and slept == []


def test_connection_errors_are_retried_only_for_idempotent_calls() -> None:
    refused = httpx.ConnectError("connection refused")
    transport, asked = scripted(
        refused, httpx.ReadTimeout("slow"), httpx.Response(200, json=VERDICT)
    )
    slept: list[float] = []
    assert client(transport, slept).verify("c").genuine  # a verification: safe to repeat
    assert len(asked) == 3 and slept == [0.25, 0.5]
    transport, asked = scripted(refused)
    slept = []
    with pytest.raises(tm.TransportError, match="unreachable"):
        client(transport, slept).submit_entries([{"type": "x"}])  # may have been appended
    assert len(asked) == 1 and slept == []
    transport, asked = scripted(limited("1", 503), httpx.Response(200, json={"results": [{}]}))
    with pytest.raises(tm.InvalidResponse):  # 503: not acted on, so retried; then read
        client(transport, []).submit_entries([{"type": "x"}])
    assert len(asked) == 2


def test_answers_that_break_the_contract() -> None:
    cases: list[tuple[httpx.Response, Callable[[tm.Client], Any]]] = [
        (httpx.Response(200, text="<html>"), lambda c: c.verify("c")),
        (httpx.Response(200, json={"status": "great"}), lambda c: c.verify("c")),
        (httpx.Response(200, json={"results": "no"}), lambda c: c.verify_batch(["c"])),
        (httpx.Response(200, json={"key_id": 7}), lambda c: c.get_key("k")),
    ]
    for answer, call in cases:
        transport, _ = scripted(answer)
        with pytest.raises(tm.InvalidResponse):
            call(client(transport, []))


def test_problem_and_legacy_error_bodies() -> None:
    legacy = httpx.Response(404, json={"error": {"code": "unknown_key", "message": "no key"}})
    plain = httpx.Response(502, text="bad gateway")
    transport, _ = scripted(legacy, plain)
    c = client(transport, [])
    with pytest.raises(tm.NotFound) as old:
        c.get_key("k")
    assert (old.value.code, old.value.message) == ("unknown_key", "no key")
    with pytest.raises(tm.ServerError) as bare:
        c.get_key("k")
    assert (bare.value.status, bare.value.code) == (502, "http_error")


def test_the_async_client_retries_alike() -> None:
    answers = [limited("2"), limited(None, 503), httpx.Response(200, json=VERDICT)]
    pending = iter(answers)
    slept: list[float] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        return next(pending)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def run() -> tm.Verdict:
        async with tm.AsyncClient(
            "http://tm.test",
            transport=httpx.MockTransport(handle),
            retry=tm.Retry(uniform=top),
            sleep=sleep,
        ) as c:
            return await c.verify("c")

    assert asyncio.run(run()).genuine
    assert slept == [2.0, 0.5]  # Retry-After, then the second retry's backoff ceiling


def test_the_api_key_and_user_agent_are_sent() -> None:
    seen: list[httpx.Headers] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200, json=VERDICT)

    tm.Client("http://tm.test/", api_key="tmk_x", transport=httpx.MockTransport(handle)).verify("c")
    assert seen[0]["x-api-key"] == "tmk_x"
    assert seen[0]["user-agent"].startswith("tracemark-client-python/")
    with pytest.raises(ValueError):
        tm.Retry(attempts=0)
