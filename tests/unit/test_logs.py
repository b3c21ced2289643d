"""Logs (api/logs.py): the two formats, request ids, hidden query values, scrubbed secrets."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from api.logs import (
    JsonFormatter,
    TextFormatter,
    log_config,
    new_request_id,
    query_names,
    request_id,
    scrub,
)
from api.settings import Settings
from ledger.secret_box import new_key_text

TOKEN = "tmk_0123456789abcdef_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I"  # TEST ONLY


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    fields = {"name": "tracemark.access", "levelno": 20, "levelname": "INFO", "msg": message}
    return logging.makeLogRecord({**fields, "args": args, **extra})


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-123", True),
        ("0af7651916cd43dd8448eb211c80319c", True),
        ("trace:1.2_3", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("", False),
        ("a b", False),
        ("a\nb", False),
        ("<script>", False),
        ("é", False),
        (None, False),
    ],
)
def test_a_sane_request_id_is_kept_any_other_replaced(given: str | None, kept: bool) -> None:
    found = new_request_id(given)
    assert (found == given) is kept
    if not kept:
        assert len(found) == 32 and int(found, 16) >= 0


def test_query_values_are_hidden() -> None:
    assert query_names("n=abc&platform=tiktok&flag") == "n=*&platform=*&flag=*"
    assert query_names("") == ""
    assert TOKEN not in query_names(f"{TOKEN}=1&k={TOKEN}")


@pytest.mark.parametrize(
    "text",
    [
        f"key {TOKEN} refused",
        "X-API-Key: tmk_0123456789abcdef_c2VjcmV0",
        "x-api-key=c2VjcmV0c2VjcmV0",
        "Authorization: Bearer c2VjcmV0c2VjcmV0",
        "{'authorization': 'Basic c2VjcmV0c2VjcmV0'}",
        "Cookie: session=c2VjcmV0c2VjcmV0",
        "webhook secret whsec_c2VjcmV0c2VjcmV0 created",
        "webhook secret whsec_ab+/c2VjcmV0c2VjcmV0= created",  # standard base64 (decision 32)
        "storage redis://:c2VjcmV0c2VjcmV0@cache:6379/0 down",
    ],
)
def test_secrets_are_scrubbed(text: str) -> None:
    assert "c2VjcmV0" not in scrub(text), scrub(text)


def test_a_scrubbed_key_keeps_its_id() -> None:
    assert scrub(TOKEN) == "tmk_0123456789abcdef_***"


def test_json_lines_carry_the_request_id_and_the_fields() -> None:
    token = request_id.set("rid-1")
    try:
        line = JsonFormatter().format(record("GET %s %d", "/x", 200, status=200, path="/x"))
    finally:
        request_id.reset(token)
    data = json.loads(line)
    assert data["message"] == "GET /x 200"
    assert data["request_id"] == "rid-1"
    assert data["status"] == 200 and data["path"] == "/x"
    assert data["level"] == "info" and data["logger"] == "tracemark.access"
    assert data["time"].endswith("Z")
    assert "\n" not in line


def test_json_lines_hold_the_traceback_as_one_field() -> None:
    try:
        raise RuntimeError(f"boom with {TOKEN}")
    except RuntimeError:
        made = record("failed", exc_info=sys.exc_info())
    data = json.loads(JsonFormatter().format(made))
    assert "RuntimeError" in data["exception"]
    assert TOKEN not in json.dumps(data)


def test_text_lines_are_readable() -> None:
    line = TextFormatter().format(record("GET /x 200", request_id="rid-2"))
    assert line.endswith("INFO    tracemark.access [rid-2] GET /x 200")


def test_production_logs_json_and_development_text() -> None:
    assert Settings.from_env({}).log_format == "text"
    secrets_key = new_key_text("t1")  # production needs one (docs/operations.md)
    production = Settings.from_env(
        {"TRACEMARK_ENV": "production", "TRACEMARK_SECRETS_KEY": secrets_key}
    )
    assert production.log_format == "json"
    assert Settings.from_env({"TRACEMARK_LOG_FORMAT": "JSON"}).log_format == "json"
    config = log_config(production)
    assert config["formatters"]["tracemark"]["()"] == "api.logs.JsonFormatter"
    assert config["loggers"]["tracemark"]["level"] == "INFO"
    assert log_config(Settings())["formatters"]["tracemark"]["()"] == "api.logs.TextFormatter"


@pytest.mark.parametrize("env", [{"TRACEMARK_LOG_FORMAT": "xml"}, {"TRACEMARK_LOG_LEVEL": "loud"}])
def test_bad_log_settings_are_refused(env: dict[str, str]) -> None:
    from ledger.errors import InvalidInput

    with pytest.raises(InvalidInput):
        Settings.from_env(env)
