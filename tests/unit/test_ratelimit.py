"""Rate limits (api/http/ratelimit.py): the count, the header fields, a storage shared by two
limiters as by two workers (Redis at 127.0.0.1:6379), and a failing storage."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest

from api.http.ratelimit import RateLimiter, open_storage, redacted
from api.settings import Settings
from ledger.errors import InvalidInput

REDIS_URL = "redis://127.0.0.1:6379/0"
POLICY = re.compile(r'^"(?P<name>[a-z]+)";q=(?P<q>\d+);w=60$')
STATE = re.compile(r'^"(?P<name>[a-z]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')


@pytest.fixture
def redis_url() -> Iterator[str]:
    storage = open_storage(REDIS_URL)
    if not storage.check():
        pytest.skip(f"no Redis answers at {REDIS_URL}")
    yield REDIS_URL


def test_a_client_gets_its_limit_then_429_with_retry_after() -> None:
    limiter = RateLimiter(3)
    decisions = [limiter.decide("203.0.113.7") for _ in range(4)]
    assert [d.allowed for d in decisions if d] == [True, True, True, False]
    assert [d.remaining for d in decisions if d] == [2, 1, 0, 0]
    refused = decisions[-1]
    assert refused is not None
    fields = refused.headers()
    assert POLICY.match(fields["RateLimit-Policy"]).groupdict() == {"name": "public", "q": "3"}  # type: ignore[union-attr]
    state = STATE.match(fields["RateLimit"])
    assert state is not None and state["name"] == "public" and state["r"] == "0"
    assert 1 <= int(state["t"]) <= 60
    assert 1 <= int(fields["Retry-After"]) <= 60
    assert limiter.decide("203.0.113.8").allowed  # type: ignore[union-attr]  # another client


def test_an_allowed_request_has_no_retry_after() -> None:
    decision = RateLimiter(5).decide("c")
    assert decision is not None and decision.allowed
    assert "Retry-After" not in decision.headers()
    assert STATE.match(decision.headers()["RateLimit"])["r"] == "4"  # type: ignore[index]


def test_zero_is_off() -> None:
    limiter = RateLimiter(0)
    assert all(limiter.decide("c") is None for _ in range(100))
    assert limiter.check("c") == 0


def test_a_key_rate_on_the_same_storage_is_counted_apart() -> None:
    public = RateLimiter(1)
    key = public.with_rate(2, "key")
    assert key.storage is public.storage
    assert public.decide("x").allowed and not public.decide("x").allowed  # type: ignore[union-attr]
    assert key.decide("x").allowed and key.decide("x").allowed  # type: ignore[union-attr]
    assert not key.decide("x").allowed  # type: ignore[union-attr]


def test_two_limiters_on_one_redis_share_the_count(redis_url: str) -> None:
    """Two workers (or replicas) each with their own limiter on the same Redis: the limit
    holds for both together; with memory:// each would allow the full limit."""
    namespace = f"test-{secrets.token_hex(6)}"
    first = RateLimiter(10, redis_url, namespace=namespace)
    second = RateLimiter(10, redis_url, namespace=namespace)
    assert first.shared and second.shared
    allowed = sum(
        bool(limiter.decide("198.51.100.1").allowed)  # type: ignore[union-attr]
        for _ in range(10)
        for limiter in (first, second)
    )
    assert allowed == 10
    alone = [RateLimiter(10), RateLimiter(10)]
    assert not alone[0].shared
    separate = sum(
        bool(limiter.decide("198.51.100.1").allowed)  # type: ignore[union-attr]
        for _ in range(10)
        for limiter in alone
    )
    assert separate == 20


def test_a_storage_that_fails_lets_requests_through_and_counts_it() -> None:
    failures: list[int] = []
    limiter = RateLimiter(
        1, "redis://127.0.0.1:1/0", namespace="down", on_error=lambda: failures.append(1)
    )
    assert limiter.decide("c") is None
    assert limiter.check("c") == 0
    assert len(failures) == 2


def test_the_password_of_a_storage_url_is_never_shown() -> None:
    assert redacted("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redacted("redis://user:s3cret@cache/0") == "redis://user:***@cache/0"
    assert redacted("memory://") == "memory://"
    with pytest.raises(ValueError, match="memory://") as caught:
        open_storage("mongodb://user:s3cret@db/0")
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("env", "field", "value"),
    [
        ({}, "rate_limit_storage", "memory://"),
        ({"TRACEMARK_RATE_LIMIT_STORAGE": REDIS_URL}, "rate_limit_storage", REDIS_URL),
        ({"TRACEMARK_RATE_LIMIT_NAMESPACE": "eu-1"}, "rate_limit_namespace", "eu-1"),
    ],
)
def test_settings_of_the_storage(env: dict[str, str], field: str, value: str) -> None:
    assert getattr(Settings.from_env(env), field) == value


@pytest.mark.parametrize(
    "env",
    [
        {"TRACEMARK_RATE_LIMIT_STORAGE": "mongodb://db/0"},
        {"TRACEMARK_RATE_LIMIT_STORAGE": "redis"},
        {"TRACEMARK_RATE_LIMIT_NAMESPACE": "a b"},
    ],
)
def test_bad_storage_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        Settings.from_env(env)
