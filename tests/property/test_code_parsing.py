"""The canonical-form fast path of item-code parsing agrees with the general Digital Link path.

``ItemCode.from_uri`` parses codes in the form we issue with a regular expression and falls
back to the full GS1 Digital Link parser for anything else. For any issued code, and any
single mutation of one, both paths must give the same result (or both refuse).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.codes.signed import CodeIdentity, ItemCode, _canonical, issue_uri
from ledger.errors import InvalidInput
from ledger.keys import PrivateKey

KEY = PrivateKey.from_seed(bytes(range(1, 33)))  # TEST ONLY
CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
values = st.text(alphabet=CSET82, min_size=1, max_size=20)
hosts = st.sampled_from(
    ["https://vt.example.vn", "http://localhost:8000", "https://a.b.c/x/y", "HTTPS://VT.EXAMPLE.VN"]
)
expiries = st.sampled_from(["", "271231", "260200", "251130"])


def slow(uri: str) -> ItemCode | str:
    try:
        return ItemCode._parse(uri)
    except InvalidInput as exc:
        return exc.code


@st.composite
def codes(draw: st.DrawFn) -> str:
    identity = CodeIdentity(
        "08930001000018", draw(values), draw(st.one_of(st.just(""), values)), draw(expiries)
    )
    return issue_uri(identity, KEY, draw(hosts))


@settings(max_examples=300)
@given(codes())
def test_issued_codes_parse_the_same_both_ways(uri: str) -> None:
    fast = _canonical(uri)
    if fast is not None:
        assert fast == slow(uri)
    assert ItemCode.from_uri(uri) == slow(uri)


@settings(max_examples=500)
@given(codes(), st.data())
def test_mutations_parse_the_same_both_ways(uri: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(uri) - 1))
    char = data.draw(st.sampled_from(CSET82 + "~#[]@$ é"))
    mutated = uri[:position] + char + uri[position + 1 :]
    fast = _canonical(mutated)
    if fast is not None:
        assert fast == slow(mutated), mutated
