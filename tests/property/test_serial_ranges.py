"""Serial ranges: the O(1) overlap test agrees with enumerating both ranges (the oracle)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.codes.identifiers import SerialRange, _ranges_overlap


@st.composite
def ranges(draw: st.DrawFn, length: int) -> SerialRange:
    prefix_len = draw(st.integers(0, length - 1))
    prefix = draw(st.text(alphabet="0123456789A", min_size=prefix_len, max_size=prefix_len))
    width = length - prefix_len
    first = draw(st.integers(0, 10**width - 1))
    last = draw(st.integers(first, min(10**width - 1, first + 60)))
    return SerialRange(prefix, first, last, width)


@settings(max_examples=500)
@given(st.data())
def test_overlap_equals_enumeration(data: st.DataObject) -> None:
    length = data.draw(st.integers(1, 5))
    a, b = data.draw(ranges(length)), data.draw(ranges(length))
    expected = bool(set(a) & set(b))
    assert _ranges_overlap(a, b) == expected == _ranges_overlap(b, a)
