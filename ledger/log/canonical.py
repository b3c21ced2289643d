"""Canonical JSON (RFC 8785, JCS) and bounded JSON parsing.

``canonical_json`` takes a fast path through ``json.dumps(sort_keys=True)`` when that is
byte-for-byte what RFC 8785 prescribes: no floats, integers within +-(2**53 - 1), and no
object key with a character outside the Basic Multilingual Plane (Python sorts keys by
code point, RFC 8785 by UTF-16 code unit; the two orders agree on the BMP except between
U+E000..U+FFFF and astral characters, so astral keys go the slow way). Everything else goes
through the ``rfc8785`` reference package. tests/property checks both paths agree.

``parse_json`` refuses duplicate keys, NaN/Infinity, nesting deeper than a bound and inputs
larger than a bound, and raises InvalidInput for all of them.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from ledger.errors import InvalidInput, LimitExceeded

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "canonical_json",
    "parse_json",
]

MAX_SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 32
_dumps = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode


def _fast_path_ok(value: Any, depth: int) -> bool:
    """True if json.dumps renders ``value`` exactly as RFC 8785 does. Raises on bad types."""
    if depth > MAX_DEPTH:
        raise LimitExceeded(f"JSON nesting deeper than {MAX_DEPTH} levels")
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return True
        raise InvalidInput(f"integer {value} is outside the interoperable range +-(2**53 - 1)")
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        ok = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInput("JSON object keys must be strings")
            if not key.isascii() and any(ord(c) > 0xFFFF for c in key):
                ok = False
            if not _fast_path_ok(item, depth + 1):
                ok = False
        return ok
    if isinstance(value, list | tuple):
        ok = True
        for item in value:
            if not _fast_path_ok(item, depth + 1):
                ok = False
        return ok
    raise InvalidInput(f"type {type(value).__name__} cannot be written as JSON")


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value."""
    try:
        if _fast_path_ok(value, 0):
            return _dumps(value).encode("utf-8")
        return bytes(rfc8785.dumps(value))
    except UnicodeEncodeError:
        raise InvalidInput("JSON text contains an unpaired surrogate") from None
    except (rfc8785.CanonicalizationError, ValueError, TypeError) as exc:
        raise InvalidInput(f"value cannot be canonicalized: {exc}") from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidInput(f"duplicate JSON key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise InvalidInput(f"JSON constant {name} is not allowed")


_decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def _depth_ok(value: Any, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise LimitExceeded(f"JSON nesting deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for item in value.values():
            _depth_ok(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _depth_ok(item, depth + 1)


def parse_json(data: bytes | str, *, max_size: int = 1 << 20) -> Any:
    """Parse JSON text (UTF-8 bytes or str) with size, depth and duplicate-key checks."""
    if len(data) > max_size:
        raise LimitExceeded(f"JSON input of {len(data)} bytes exceeds the limit of {max_size}")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
        value = _decoder.decode(text)
    except UnicodeDecodeError:
        raise InvalidInput("JSON input is not valid UTF-8") from None
    except RecursionError:
        raise LimitExceeded(f"JSON nesting deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc.msg} at position {exc.pos}") from None
    _depth_ok(value)
    return value
