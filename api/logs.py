"""Logging of the service: JSON lines in production, readable lines in development.

``TRACEMARK_LOG_FORMAT`` (``json`` | ``text``; json when ``TRACEMARK_ENV=production``) and
``TRACEMARK_LOG_LEVEL`` choose; ``log_config(settings)`` is the ``logging.dictConfig`` that
``tracemark serve`` hands to uvicorn, so every worker and uvicorn's own messages log alike.

Each request gets an id: a sane ``X-Request-ID`` from the client (1-128 of ``A-Z a-z 0-9 .
_ : -``) or a new one; it is sent back in ``X-Request-ID`` and carried by every log line
written while the request runs (``request_id``). One access line per request
(``tracemark.access``): method, path, the query's parameter names with their values hidden,
status, duration, client address and request id; never a header.

No secrets in logs: besides never logging headers or query values, every line is scrubbed
of what looks like an API key (``tmk_<id>_<secret>`` keeps its id), a webhook secret
(``whsec_...``), an ``Authorization``/``Cookie``/``X-API-Key`` value, a password in a
URL and a console invite token in a path (``/console/invite/***``), whatever logged it.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from api.settings import Settings

__all__ = [
    "ACCESS",
    "JsonFormatter",
    "TextFormatter",
    "access_line",
    "log_config",
    "new_request_id",
    "query_names",
    "request_id",
    "scrub",
]

ACCESS = logging.getLogger("tracemark.access")

#: The id of the request being served, for every log line written meanwhile.
request_id: ContextVar[str | None] = ContextVar("tracemark_request_id", default=None)

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_SECRETS = (
    (re.compile(r"\b(tmk_[0-9a-f]{16})_[A-Za-z0-9_-]+"), r"\1_***"),
    (re.compile(r"\bwhsec_[A-Za-z0-9_+/=-]+"), "whsec_***"),
    (
        re.compile(
            r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key)"
            r"(['\"]?\s*[:=]\s*['\"]?)[^'\",;\s]+(?:[ ][^'\",;\s]+)?"
        ),
        r"\1\2***",
    ),
    (re.compile(r"(://[^/:@\s]*:)[^@/\s]+@"), r"\1***@"),
    # A console invite link is a bearer secret (it makes an account): its token, in a path.
    (re.compile(r"(/invite/)[A-Za-z0-9_-]{16,}"), r"\1***"),
)
#: Every pattern of _SECRETS contains one of these (lower case): a quick test first.
_MARKS = ("tmk_", "whsec_", "://", "authorization", "cookie", "x-api-key", "/invite/")
#: Attributes every LogRecord has: what is left over was passed with ``extra=``.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's message with terminal colours
}


def new_request_id(given: str | None) -> str:
    """The client's ``X-Request-ID`` when it is sane, else a new random one."""
    if given is not None and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def scrub(text: str) -> str:
    """``text`` without what looks like a secret."""
    low = text.lower()
    if not any(mark in low for mark in _MARKS):  # most lines: no pattern can match
        return text
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def query_names(query: str) -> str:
    """A query string with its values hidden: ``n=abc&platform=tiktok`` -> ``n=*&platform=*``
    (values can be nonces or keys; the names say what was asked)."""
    if not query:
        return ""
    names = (part.split("=", 1)[0] for part in query.split("&") if part)
    return "&".join(f"{scrub(name)[:40]}=*" for name in names)[:400]


def access_line(
    method: str, path: str, query: str, status: int, *, seconds: float, client: str, rid: str
) -> None:
    """The access log line of one request (``tracemark.access`` at INFO)."""
    if not ACCESS.isEnabledFor(logging.INFO):
        return
    fields = {
        "method": method,
        "path": scrub(path[:2000]),  # a path can hold a secret (an invite token)
        "query": query_names(query),
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
        "client": client,
        "request_id": rid,
    }
    args = (
        method,
        fields["path"],
        "?" + fields["query"] if fields["query"] else "",
        status,
        fields["duration_ms"],
        client,
    )
    # makeRecord + handle: Logger.info would also walk the stack for the caller, a third of
    # the cost of a line, to name this function every time.
    message = "%s %s%s %d %.1fms client=%s"
    ACCESS.handle(ACCESS.makeRecord(ACCESS.name, logging.INFO, __file__, 0, message, args, None,
                                    extra=fields))  # fmt: skip


def _iso(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, the ``extra``
    fields, and the exception's traceback as text."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid is not None:
            line["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value if isinstance(value, int | float | bool) else str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return scrub(json.dumps(line, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """Readable lines: ``time level logger [request id] message``."""

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None) or request_id.get()
        text = f"{_iso(record.created)} {record.levelname:<7} {record.name}"
        text += f" [{rid}] " if rid else " "
        text += record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return scrub(text)


def log_config(settings: Settings) -> dict[str, Any]:
    """The ``logging.dictConfig`` of a server: one stderr handler in the chosen format for
    Tracemark's and uvicorn's loggers (uvicorn's own access log is off: ours has the ids)."""
    formatter = JsonFormatter if settings.log_format == "json" else TextFormatter
    level = settings.log_level.upper()
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "tracemark",
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"tracemark": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "tracemark": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }
