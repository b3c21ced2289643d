"""The options the commands share, and what they parse to.

Typer declares options as annotated parameters; a command names ``HomeOpt``, ``DbOpt``,
``AsOpt`` ... instead of repeating the declaration, so one option reads the same everywhere
(docs/cli.md). The parsers turn option text into values or raise ``InvalidInput`` (exit 2):
serial sets, times, item ids, the public URL, a trust bundle file.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from api.settings import DEFAULT_PUBLIC_URL, parse_public_url, public_url_from_env
from ledger import errors
from ledger.codes.identifiers import parse_item_id
from ledger.codes.trust import TrustBundle

__all__ = [
    "DEFAULT_RESOLVER",
    "ActorOpt",
    "AsOpt",
    "AtOpt",
    "DbOpt",
    "HomeOpt",
    "JsonOpt",
    "KeyOpt",
    "OutOpt",
    "PublicUrlOpt",
    "ServerOpt",
    "TzOpt",
    "WhereOpt",
    "item_ids",
    "local_tz",
    "now_ms",
    "open_bundle",
    "parse_serials",
    "parse_time",
    "public_url",
]

DEFAULT_RESOLVER = DEFAULT_PUBLIC_URL

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for programs.")]
DbOpt = Annotated[
    str | None,
    typer.Option("--database-url", envvar="TRACEMARK_DATABASE_URL", help="SQLAlchemy URL."),
]
HomeOpt = Annotated[
    Path,
    typer.Option(envvar="TRACEMARK_HOME", help="Folder for the default database and key."),
]
KeyOpt = Annotated[
    Path | None, typer.Option("--key-file", envvar="TRACEMARK_KEY_FILE", help="Operator key.")
]

AsOpt = Annotated[
    Path | None,
    typer.Option("--as", envvar="TRACEMARK_SIGNING_KEY", help="Your key file (signs the entry)."),
]
ActorOpt = Annotated[
    str | None,
    typer.Option("--actor", help="The actor you act for (default: the actor of your key)."),
]
ServerOpt = Annotated[
    str | None,
    typer.Option("--server", envvar="TRACEMARK_SERVER", help="Submit to this server URL."),
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Append the signed entry to this JSONL file instead."),
]
AtOpt = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="When it happened (ISO 8601, default now). Not before the item's latest "
        "event, nor more than TRACEMARK_MAX_BACKDATE_H hours (72) ago: event_backdated.",
    ),
]
TzOpt = Annotated[
    str | None, typer.Option("--tz", help="Time zone offset like +07:00 (default: local).")
]
WhereOpt = Annotated[
    str | None, typer.Option("--biz-location", help="Where (a URI such as urn:epc:id:sgln:...).")
]

_RANGE = re.compile(r"^(.*?)(\d+)\.\.(.*?)(\d+)$")


def parse_serials(spec: str) -> dict[str, Any]:
    """``A1,A2,FS000001..FS100000`` -> {"list": [...], "ranges": [...]}."""
    listed: list[str] = []
    ranges: list[dict[str, Any]] = []
    for token in (t.strip() for t in spec.split(",")):
        if not token:
            continue
        match = _RANGE.match(token)
        if match is None:
            listed.append(token)
            continue
        prefix, first, prefix2, last = match.groups()
        if prefix != prefix2 or len(first) != len(last):
            raise errors.InvalidInput(
                f"range {token!r} must have the same prefix and digit count at both ends"
            )
        ranges.append(
            {"prefix": prefix, "first": int(first), "last": int(last), "width": len(first)}
        )
    if not listed and not ranges:
        raise errors.InvalidInput("--serials names no serial")
    result: dict[str, Any] = {}
    if listed:
        result["list"] = listed
    if ranges:
        result["ranges"] = ranges
    return result


def parse_time(text: str | None) -> int:
    """ISO 8601 (with or without offset; none means local time) -> epoch milliseconds."""
    if text is None:
        return time.time_ns() // 1_000_000
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise errors.InvalidInput(f"--at {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        value = value.astimezone()
    return int(value.timestamp() * 1000)


def local_tz() -> str:
    offset = time.localtime().tm_gmtoff // 60
    sign = "+" if offset >= 0 else "-"
    return f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"


def item_ids(values: Sequence[str]) -> list[str]:
    """Accept item ids (01/<gtin>/21/<serial>, 00/<sscc>) or Digital Link URIs."""
    result = []
    for value in values:
        text = value.split("://", 1)[1].split("/", 1)[1] if "://" in value else value
        result.append(parse_item_id(text.split("?", 1)[0]).item_id)
    return result


PublicUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--public-url",
        "--resolver",
        metavar="URL",
        help="The operator's public base URL, the resolver the codes open (default: "
        "TRACEMARK_PUBLIC_URL, or its older name TRACEMARK_RESOLVER). --resolver is its older "
        "name.",
    ),
]


def public_url(option: str | None, *, default: str | None = DEFAULT_PUBLIC_URL) -> str | None:
    """The public URL from the option, else from the environment, else ``default``."""
    if option is not None:
        return parse_public_url(option, name="--public-url")
    return public_url_from_env() or default


def now_ms() -> int:
    """The wall clock in milliseconds (``now_ms`` of ledger/usecases/service.py, without
    importing the storage)."""
    return time.time_ns() // 1_000_000


def open_bundle(trust: Path, log_key: str | None, max_age_hours: float) -> TrustBundle:
    """Open a trust bundle file for offline checks. A bundle that fails its checks (tampered
    with, from another log, stale, dated in the future) is bad input, exit 2: exit 3 says a
    code was counterfeit, and no code was looked at (docs/cli.md, exit codes)."""
    if not log_key:
        raise errors.InvalidInput("--trust needs --log-key VKEY (or TRACEMARK_LOG_VKEY)")
    try:
        data = trust.read_bytes()
    except OSError as exc:
        raise errors.InvalidInput(f"cannot read {trust}: {exc.strerror}") from None
    max_age_ms = int(max_age_hours * 3_600_000)
    try:
        return TrustBundle.open(data, log_key, now=now_ms(), max_age_ms=max_age_ms)
    except errors.VerificationError as exc:
        raise errors.InvalidInput(f"bad trust bundle: {exc.message}", code=exc.code) from None
