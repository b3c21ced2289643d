"""canonical_json's fast path agrees with the rfc8785 reference on any JSON value."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.log.canonical import MAX_SAFE_INTEGER, canonical_json, parse_json

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=20,
)


@given(json_values)
@settings(max_examples=500)
def test_fast_path_matches_rfc8785(value: object) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


def _within_ijson(value: object) -> bool:
    """Floats of magnitude >= 2**53 render as integers that re-parse outside I-JSON's range."""
    if isinstance(value, float):
        return abs(value) < 2**53
    if isinstance(value, dict):
        return all(_within_ijson(v) for v in value.values())
    if isinstance(value, list):
        return all(_within_ijson(v) for v in value)
    return True


@given(json_values.filter(_within_ijson))
def test_parse_of_canonical_round_trips(value: object) -> None:
    data = canonical_json(value)
    assert canonical_json(parse_json(data)) == data


def test_integers_beyond_ijson_range_are_refused() -> None:
    import pytest

    from ledger.errors import InvalidInput

    with pytest.raises(InvalidInput):
        canonical_json(parse_json(b"9007199254740992"))
    assert canonical_json(parse_json(b"9007199254740991")) == b"9007199254740991"
