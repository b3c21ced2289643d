"""EPCIS 2.0 JSON Schema conformance (tests/vectors/epcis, see tests/vectors/README.md).

Every official example, event-hash document and the expected-equal document validates; every
schema-negative case (a JSON Patch on an example, DERIVED by the dataset) is rejected, and the
four marked ``requires_format_assertion`` pass without format checking, which shows the
helper really asserts ``date-time`` and ``uri``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from tests.epcis_schema import schema_validator, validate_epcis

EPCIS = Path(__file__).parents[1] / "vectors" / "epcis"
MANIFEST = json.loads((EPCIS / "manifest.json").read_text(encoding="utf-8"))
VALID_DOCUMENTS = [
    *MANIFEST["examples"]["files"],
    *(v["document"] for v in MANIFEST["event_hash"]["vectors"]),
    *(s["document"] for s in MANIFEST["event_hash"]["equal_hash_sets"]),
]
NEGATIVE_CASES = MANIFEST["schema_negative_cases"]["cases"]


def load(relative: str) -> Any:
    return json.loads((EPCIS / relative).read_text(encoding="utf-8"))


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"JSON Pointer {path!r} must start with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def apply_patch(document: Any, patch: list[dict[str, Any]]) -> Any:
    """RFC 6902 ``add``, ``remove`` and ``replace`` (all the manifest uses) on a copy."""
    result = copy.deepcopy(document)
    for operation in patch:
        *parents, last = _pointer(operation["path"])
        target = result
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        op = operation["op"]
        if isinstance(target, list):
            index = len(target) if (op == "add" and last == "-") else int(last)
            if op == "add":
                target.insert(index, operation["value"])
            elif op == "remove":
                del target[index]
            elif op == "replace":
                target[index] = operation["value"]
            else:
                raise ValueError(f"unsupported JSON Patch op {op!r}")
        elif op in ("add", "replace"):
            if op == "replace" and last not in target:
                raise KeyError(f"replace of missing member {operation['path']}")
            target[last] = operation["value"]
        elif op == "remove":
            del target[last]
        else:
            raise ValueError(f"unsupported JSON Patch op {op!r}")
    return result


def test_the_manifest_lists_what_the_readme_promises() -> None:
    assert len(MANIFEST["examples"]["files"]) == 13
    assert len(MANIFEST["event_hash"]["vectors"]) == 22
    assert len(NEGATIVE_CASES) == 13
    assert sum("requires_format_assertion" in c for c in NEGATIVE_CASES) == 4


@pytest.mark.parametrize("relative", VALID_DOCUMENTS)
def test_document_is_valid(relative: str) -> None:
    validate_epcis(load(relative))


@pytest.mark.parametrize("case", NEGATIVE_CASES, ids=lambda c: c["id"])
def test_negative_case_is_rejected(case: dict[str, Any]) -> None:
    document = apply_patch(load(case["base"]), case["json_patch"])
    assert document != load(case["base"])
    with pytest.raises(AssertionError, match=r"not a valid EPCIS 2\.0 document"):
        validate_epcis(document)
    if "requires_format_assertion" in case:
        without_formats = Draft7Validator(schema_validator().schema)
        assert without_formats.is_valid(document), "expected only format assertion to catch it"


def test_apply_patch_handles_escapes_and_arrays() -> None:
    document = {"a/b": [1, 2], "c~d": {"e": 1}}
    patched = apply_patch(
        document,
        [
            {"op": "add", "path": "/a~1b/-", "value": 3},
            {"op": "remove", "path": "/a~1b/0"},
            {"op": "replace", "path": "/c~0d/e", "value": 2},
        ],
    )
    assert patched == {"a/b": [2, 3], "c~d": {"e": 2}}
    assert document == {"a/b": [1, 2], "c~d": {"e": 1}}


def test_helper_refuses_to_run_without_format_assertion(monkeypatch: pytest.MonkeyPatch) -> None:
    from jsonschema import FormatChecker

    from tests import epcis_schema

    monkeypatch.setattr(Draft7Validator, "FORMAT_CHECKER", FormatChecker(formats=["uri"]))
    with pytest.raises(RuntimeError, match=r"date-time \(install rfc3339-validator\)"):
        epcis_schema._asserting_format_checker()
