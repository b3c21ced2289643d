"""Validate EPCIS 2.0 JSON-LD documents against GS1's JSON Schema, with format assertion.

The schema (tests/vectors/epcis/schema/EPCIS-JSON-Schema.json, draft-07) rejects some
malformed documents only through ``format`` (``date-time`` for eventTime, ``uri`` for EPCs,
bizStep and event types). python-jsonschema asserts those formats only when the optional
packages ``rfc3339-validator`` and ``rfc3987`` are installed, and otherwise passes such
documents silently; this helper refuses to run without them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker

__all__ = ["SCHEMA_PATH", "schema_validator", "validate_epcis"]

SCHEMA_PATH = Path(__file__).parent / "vectors" / "epcis" / "schema" / "EPCIS-JSON-Schema.json"
# Each format the schema uses, the package jsonschema needs for it, and a value it must reject.
_REQUIRED_FORMATS = {
    "date-time": ("rfc3339-validator", "yesterday"),
    "uri": ("rfc3987", "not an epc"),
}


def _asserting_format_checker() -> FormatChecker:
    checker = Draft7Validator.FORMAT_CHECKER
    missing = [
        f"{fmt} (install {package})"
        for fmt, (package, bad) in _REQUIRED_FORMATS.items()
        if fmt not in checker.checkers or checker.conforms(bad, fmt)
    ]
    if missing:
        raise RuntimeError(
            "jsonschema cannot assert the formats the EPCIS schema relies on: " + ", ".join(missing)
        )
    return checker


@cache
def schema_validator() -> Draft7Validator:
    """The EPCIS 2.0 schema validator with format assertion, loaded once."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=_asserting_format_checker())


def validate_epcis(document: Any) -> None:
    """Return if ``document`` is a valid EPCIS 2.0 document; raise AssertionError listing errors."""
    errors = sorted(
        schema_validator().iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]
    )
    if errors:
        lines = [
            f"- /{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:200]}"
            for e in errors[:20]
        ]
        more = f"\n(and {len(errors) - 20} more)" if len(errors) > 20 else ""
        raise AssertionError(
            f"not a valid EPCIS 2.0 document ({len(errors)} errors):\n" + "\n".join(lines) + more
        )
