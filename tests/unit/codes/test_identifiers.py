"""ledger/codes/identifiers.py: item ids and serial sets, on their own (no log, no rules)."""

from __future__ import annotations

import pytest

from ledger.codes.identifiers import (
    MAX_SERIALS_PER_COMMISSION,
    SerialSet,
    item_id,
    parse_item_id,
)
from ledger.errors import InvalidInput, LimitExceeded

GTIN = "09520123456788"


def test_item_id_percent_encodes_the_serial_and_parses_back() -> None:
    text = item_id(GTIN, "A/B")
    assert text == f"01/{GTIN}/21/A%2FB"
    ref = parse_item_id(text)
    assert (ref.item_id, ref.gtin, ref.serial, ref.is_sscc) == (text, GTIN, "A/B", False)


def test_a_serial_outside_the_gs1_character_set_is_refused() -> None:
    with pytest.raises(InvalidInput, match="CSET 82"):
        parse_item_id(item_id(GTIN, "A B"))


def test_an_sscc_is_a_logistic_unit() -> None:
    ref = parse_item_id("00/106141412345678908")
    assert ref.is_sscc and ref.gtin == "" and ref.serial == "106141412345678908"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "01/09520123456788",  # no serial
        "01/09520123456787/21/X",  # wrong check digit
        "00/106141412345678907",  # wrong SSCC check digit
        "21/X/01/09520123456788",  # keys in the wrong order
        "https://id.gs1.org/01/09520123456788/21/X",  # a URI, not an item id
        42,
    ],
)
def test_what_is_not_an_item_id_is_refused(text: object) -> None:
    with pytest.raises(InvalidInput):
        parse_item_id(text)


def test_a_range_is_counted_and_tested_without_enumerating() -> None:
    serials = SerialSet.from_obj(
        {"list": ["X1"], "ranges": [{"prefix": "A", "first": 1, "last": 99_999, "width": 6}]}
    )
    assert len(serials) == 100_000
    assert "A000001" in serials and "A099999" in serials and "X1" in serials
    assert "A100000" not in serials and "A1" not in serials and "A000000" not in serials
    assert list(serials)[:3] == ["X1", "A000001", "A000002"]


def test_a_serial_set_round_trips_through_its_object_form() -> None:
    obj = {"list": ["X1", "X2"], "ranges": [{"prefix": "B", "first": 5, "last": 9, "width": 3}]}
    serials = SerialSet.from_obj(obj)
    assert SerialSet.from_obj(serials.to_obj()).to_obj() == serials.to_obj()
    # width counts the prefix
    assert set(serials) == {"X1", "X2", "B005", "B006", "B007", "B008", "B009"}


@pytest.mark.parametrize(
    ("obj", "code"),
    [
        ({"list": ["A", "A"]}, "duplicate_serial"),
        (
            {
                "ranges": [
                    {"prefix": "A", "first": 1, "last": 10, "width": 3},
                    {"prefix": "A", "first": 10, "last": 20, "width": 3},
                ]
            },
            "duplicate_serial",
        ),
        ({"list": []}, "invalid_input"),
        ({"ranges": [{"prefix": "A", "first": 5, "last": 4, "width": 3}]}, "invalid_input"),
        ("A1", "invalid_input"),
    ],
)
def test_bad_serial_sets_are_refused_with_a_code(obj: object, code: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        SerialSet.from_obj(obj)
    assert raised.value.code == code


def test_a_commissioning_holds_at_most_the_limit() -> None:
    at_limit = {
        "ranges": [{"prefix": "A", "first": 1, "last": MAX_SERIALS_PER_COMMISSION, "width": 7}]
    }
    assert len(SerialSet.from_obj(at_limit)) == MAX_SERIALS_PER_COMMISSION
    over = {"ranges": [{"prefix": "A", "first": 0, "last": MAX_SERIALS_PER_COMMISSION, "width": 7}]}
    with pytest.raises(LimitExceeded):
        SerialSet.from_obj(over)
