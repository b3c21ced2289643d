"""Field checks shared by the entry bodies: shape (required and optional keys), text, ids,
times, GTIN, lot and expiry, and the fields every supply-chain event has (actor, time, time
zone, where). Each raises ``InvalidInput`` (or ``LimitExceeded``) saying what was expected."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ledger.codes.gs1 import gtin14, validate_expiry, validate_lot
from ledger.codes.identifiers import parse_item_id
from ledger.errors import InvalidInput, LimitExceeded

__all__ = [
    "ACTOR_ID",
    "COUNTRY",
    "HANDLE",
    "HEX64",
    "MAX_ITEMS_PER_EVENT",
    "MAX_TIME",
    "PLATFORM",
    "TOKEN",
    "TZ",
    "URI",
    "actor_id",
    "common_event",
    "gtin_field",
    "id_list",
    "is_int",
    "lot_expiry",
    "match",
    "millis",
    "shape",
    "text",
]

MAX_ITEMS_PER_EVENT = 5_000
MAX_TIME = 2**53 - 1

ACTOR_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
PLATFORM = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
HANDLE = re.compile(r"^([a-z0-9][a-z0-9_.-]{1,31}):([\x21-\x7e]{1,100})$")
TOKEN = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no space (listing ids, ...)
TZ = re.compile(r"^[+-](?:0\d|1[0-4]):[0-5]\d$")
URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[\x21-\x7e]{1,500}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def shape(body: Mapping[str, Any], what: str, required: set[str], optional: set[str]) -> None:
    keys = set(body)
    missing = required - keys
    extra = keys - required - optional
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(sorted(missing)))
        if extra:
            parts.append("unexpected " + ", ".join(sorted(extra)))
        raise InvalidInput(f"{what} body: {'; '.join(parts)}")


def text(body: Mapping[str, Any], name: str, limit: int, *, empty: bool = False) -> str:
    value = body[name]
    if not isinstance(value, str) or len(value) > limit or (not empty and not value):
        raise InvalidInput(
            f"{name} must be a {'' if empty else 'non-empty '}string of at most {limit} characters"
        )
    if any(ord(c) < 0x20 and c not in "\n\t" for c in value):
        raise InvalidInput(f"{name} must not contain control characters")
    return value


def match(body: Mapping[str, Any], name: str, pattern: re.Pattern[str], expected: str) -> str:
    value = body[name]
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidInput(f"{name} must be {expected}, got {value!r}"[:300])
    return value


def millis(body: Mapping[str, Any], name: str) -> int:
    value = body[name]
    if not is_int(value) or not 0 <= value <= MAX_TIME:
        raise InvalidInput(f"{name} must be milliseconds since the epoch")
    return int(value)


def actor_id(body: Mapping[str, Any], name: str) -> str:
    return match(body, name, ACTOR_ID, "an actor id (lowercase letters, digits, . _ -)")


def id_list(body: Mapping[str, Any], name: str, *, limit: int = MAX_ITEMS_PER_EVENT) -> None:
    value = body[name]
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"{name} must be a non-empty list of item ids")
    if len(value) > limit:
        raise LimitExceeded(f"{name} holds at most {limit} item ids")
    ids = [parse_item_id(v).item_id for v in value]
    if ids != value:
        bad = next(v for v, n in zip(value, ids, strict=True) if v != n)
        raise InvalidInput(f"item id {bad!r} is not in normal form", code="invalid_item_id")
    if len(set(ids)) != len(ids):
        raise InvalidInput(f"{name} repeats an item id")


def common_event(
    body: Mapping[str, Any], what: str, required: set[str], optional: set[str]
) -> None:
    shape(
        body,
        what,
        required | {"actor", "event_time", "tz"},
        optional | {"read_point", "biz_location"},
    )
    actor_id(body, "actor")
    millis(body, "event_time")
    match(body, "tz", TZ, "a time zone offset like +07:00")
    for name in ("read_point", "biz_location"):
        if name in body:
            match(body, name, URI, "a URI (for example urn:epc:id:sgln:...)")


def lot_expiry(body: Mapping[str, Any]) -> None:
    if "lot" in body:
        if not isinstance(body["lot"], str):
            raise InvalidInput("lot must be a string", code="invalid_lot")
        validate_lot(body["lot"])
    if "expiry" in body:
        if not isinstance(body["expiry"], str):
            raise InvalidInput("expiry must be a YYMMDD string", code="invalid_expiry")
        validate_expiry(body["expiry"])


def gtin_field(body: Mapping[str, Any], name: str = "gtin") -> None:
    value = body[name]
    if not isinstance(value, str) or gtin14(value) != value:
        raise InvalidInput(
            f"{name} must be a 14-digit GTIN with a valid check digit", code="invalid_gtin"
        )
