"""GTIN check-digit vectors (tests/vectors/gtin-check-digits.json; check digits computed by
the dataset with GS1 mod-10, numbers from gs1-syntax-engine and digital-link.js tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.codes.gs1 import check_digit, gtin14, is_valid_gtin
from ledger.errors import InvalidInput

VECTORS = Path(__file__).parents[1] / "vectors"
DATA: dict[str, Any] = json.loads((VECTORS / "gtin-check-digits.json").read_text("utf-8"))


def cases(section: str) -> list[Any]:
    # The same number can appear twice (from two sources): the index keeps ids unique.
    return [
        pytest.param(case, id=f"{index:02d}-{case['gtin']}")
        for index, case in enumerate(DATA[section])
    ]


@pytest.mark.parametrize("case", cases("valid"))
def test_valid_gtin_passes(case: dict[str, Any]) -> None:
    assert is_valid_gtin(case["gtin"])
    assert gtin14(case["gtin"]) == case["gtin14"]
    assert check_digit(case["gtin"][:-1]) == str(case["check_digit"])


@pytest.mark.parametrize("case", cases("invalid"))
def test_invalid_gtin_fails(case: dict[str, Any]) -> None:
    assert not is_valid_gtin(case["gtin"])
    with pytest.raises(InvalidInput) as caught:
        gtin14(case["gtin"])
    assert caught.value.code == "invalid_gtin"
    message, reason = caught.value.message, case["reason"]
    if reason.startswith("check digit"):
        assert f"expected {case['expected_check_digit']}" in message
    elif reason.startswith("format: length"):
        assert "must be 8, 12, 13 or 14 digits" in message
    elif reason == "format: non-digit character":
        assert "not a digit" in message


@pytest.mark.parametrize("case", cases("checksum_limitations"))
def test_adjacent_transposition_by_five_is_not_detected(case: dict[str, Any]) -> None:
    """GS1 mod-10 cannot see swapped neighbours that differ by 5: both numbers pass."""
    assert case["checksum_valid"] is True
    assert is_valid_gtin(case["gtin"])
    assert is_valid_gtin(case["derived_from"])
    assert case["gtin"] != case["derived_from"]
    assert sorted(case["gtin"]) == sorted(case["derived_from"])
