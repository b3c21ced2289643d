"""ledger.codes.gs1: identifiers, AI values and Digital Link URIs (vectors: tests/conformance)."""

from __future__ import annotations

import contextlib
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.codes import gs1_syntax
from ledger.codes.gs1 import (
    DEFAULT_STEM,
    MAX_URI_LENGTH,
    UNCHECKED_LINTERS,
    DigitalLink,
    build_uri,
    check_digit,
    company_prefix_candidates,
    gtin14,
    is_valid_gtin,
    sscc,
    uri_escape,
    uri_unescape,
    validate_ai,
    validate_company_prefix,
    validate_expiry,
    validate_lot,
    validate_serial,
)
from ledger.codes.gs1_ais import AIS
from ledger.errors import InvalidInput, LimitExceeded

GTIN = "09520123456788"
URI = "https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=180426"


def error(call: Any, *args: Any) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    return caught.value


# --- Check digits and GTINs ----------------------------------------------------------------


def test_check_digit() -> None:
    assert check_digit("0952012345678") == "8"
    assert check_digit("0") == "0"
    assert check_digit("1") == "7"
    for bad in ("", "12a", "١٢", "1 2"):
        assert error(check_digit, bad).code == "invalid_digits"


def test_gtin14_pads_and_validates() -> None:
    assert gtin14("02345673") == "00000002345673"
    assert gtin14("416000336108") == "00416000336108"
    assert gtin14("9520123456788") == GTIN
    assert gtin14(GTIN) == GTIN
    assert is_valid_gtin(GTIN)
    assert not is_valid_gtin("09520123456789")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1234567", "GTIN must be 8, 12, 13 or 14 digits, not 7 characters"),
        ("095201234567880", "GTIN must be 8, 12, 13 or 14 digits, not 15 characters"),
        ("0952012345678A", "GTIN has 'A' at position 14, not a digit"),
        (" 952012345678", "GTIN has ' ' at position 1, not a digit"),
        ("09520123456789", "GTIN check digit is wrong: expected 8, got 9"),
    ],
)
def test_gtin14_says_what_is_wrong(text: str, message: str) -> None:
    caught = error(gtin14, text)
    assert caught.code == "invalid_gtin"
    assert caught.message == message


def test_non_strings_are_invalid_input() -> None:
    for call in (gtin14, sscc, validate_serial, validate_lot, validate_expiry, check_digit):
        assert "must be a string" in error(call, 12345678).message
    assert not is_valid_gtin(None)  # type: ignore[arg-type]
    assert error(DigitalLink.from_uri, b"https://a/01/" + GTIN.encode()).code == (
        "invalid_digital_link"
    )


def test_sscc() -> None:
    assert sscc("006141411234567890") == "006141411234567890"
    assert error(sscc, "006141411234567891").message == (
        "SSCC check digit is wrong: expected 0, got 1"
    )
    assert error(sscc, "00614141123456789").message == "SSCC must be 18 digits, not 17 characters"
    assert error(sscc, "00614141123456789X").code == "invalid_sscc"


# --- Serial, lot, expiry, company prefix ---------------------------------------------------


def test_serial_and_lot_are_cset82() -> None:
    cset82 = "!\"%&'()*+,-./:;<=>?_" + string.ascii_letters + string.digits
    for text in ("1", "ABC-123/x", "A" * 20, cset82[:20]):
        assert validate_serial(text) == text
        assert validate_lot(text) == text
    caught = error(validate_serial, "AB 12")
    assert caught.code == "invalid_serial"
    assert caught.message == "serial (AI 21) has ' ' at position 3, which is not in CSET 82"
    assert error(validate_serial, "").message == (
        "serial (AI 21) must be 1 to 20 characters long, not 0"
    )
    assert error(validate_lot, "A" * 21).message == (
        "lot (AI 10) must be 1 to 20 characters long, not 21"
    )
    for bad in ("é", "#1", "a^b", "x\x00"):
        assert error(validate_lot, bad).code == "invalid_lot"


@pytest.mark.parametrize("text", ["251231", "250200", "240229", "000229", "991130", "250100"])
def test_valid_expiry(text: str) -> None:
    assert validate_expiry(text) == text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("250229", "day 29 is not 00 to 28 (02)"),
        ("250431", "day 31 is not 00 to 30 (04)"),
        ("251301", "month must be 01 to 12, not 13"),
        ("250001", "month must be 01 to 12, not 00"),
        ("251232", "day 32 is not 00 to 31 (12)"),
        ("2512", "must be 6 characters long, not 4"),
        ("25123A", "'A' at position 6, which is not a digit"),
    ],
)
def test_invalid_expiry(text: str, problem: str) -> None:
    caught = error(validate_expiry, text)
    assert caught.code == "invalid_expiry"
    assert caught.message.startswith("expiry (AI 17) ")
    assert problem in caught.message


def test_company_prefix() -> None:
    assert validate_company_prefix("9520") == "9520"
    assert validate_company_prefix("952012345678") == "952012345678"
    for bad in ("952", "9520123456789", "95a0", ""):
        caught = error(validate_company_prefix, bad)
        assert caught.code == "invalid_company_prefix"
        assert "4 to 12 digits" in caught.message


def test_company_prefix_candidates_skip_the_indicator_digit() -> None:
    expected = tuple("9520123456788"[:k] for k in range(4, 13))
    assert company_prefix_candidates(GTIN) == expected
    assert company_prefix_candidates("9520123456788") == expected
    assert company_prefix_candidates("19520123456785")[0] == "9520"
    assert len(expected) == 9
    assert error(company_prefix_candidates, "09520123456789").code == "invalid_gtin"


# --- Any AI --------------------------------------------------------------------------------


def test_validate_ai_uses_the_dictionary() -> None:
    assert validate_ai("8013", "1987654Ad4X4bL5ttr2310c2K") == "1987654Ad4X4bL5ttr2310c2K"
    assert (
        "check characters should be 2K"
        in error(validate_ai, "8013", "1987654Ad4X4bL5ttr2310cXK").message
    )
    assert validate_ai("8003", "0506065478002910002") == "0506065478002910002"
    assert error(validate_ai, "8003", "1506065478002910002").message == "AI (8003) must be 0"
    assert error(validate_ai, "4321", "2").message == "AI (4321) must be 0 or 1"
    assert error(validate_ai, "8006", "123123123123330302").message.endswith(
        "with 0 < piece <= total"
    )
    assert error(validate_ai, "89", "X").code == "invalid_ai"
    assert "not a known GS1 Application Identifier" in error(validate_ai, "89", "X").message


def test_generated_ai_table_matches_the_dictionary() -> None:
    repo = Path(__file__).resolve().parents[3]
    dictionary = repo.parent / "shared/conformance/digital-link/gs1-syntax-dictionary.txt"
    if not dictionary.exists():
        pytest.skip(f"the GS1 Barcode Syntax Dictionary is not at {dictionary}")
    script = repo / "scripts" / "gen_gs1_ais.py"
    subprocess.run([sys.executable, str(script), str(dictionary), "--check"], check=True)


def test_every_linter_in_the_dictionary_is_applied_or_listed_as_unchecked() -> None:
    named = {
        linter
        for _, spec, _, _ in AIS.values()
        for component in spec.split()
        for linter in component.split(",")[1:]
    }
    implemented = set(gs1_syntax._LINTERS)
    assert named <= implemented | UNCHECKED_LINTERS
    assert not implemented & UNCHECKED_LINTERS


# --- Percent-encoding ----------------------------------------------------------------------


def test_plus_is_literal_in_the_path_and_a_space_in_the_query() -> None:
    assert uri_unescape("A+B") == "A+B"
    assert uri_unescape("A+B", query=True) == "A B"
    assert uri_escape("A+B") == "A%2BB"
    assert uri_escape("A B", query=True) == "A+B"
    assert uri_escape("é") == "%C3%A9"
    assert error(uri_unescape, "%00").code == "invalid_digital_link"


# --- Digital Link --------------------------------------------------------------------------


def test_from_uri_reads_the_parts() -> None:
    link = DigitalLink.from_uri(URI + "#top")
    assert link.stem == DEFAULT_STEM
    assert link.path == (("01", GTIN), ("10", "ABC1"), ("21", "12345"))
    assert link.attributes == (("17", "180426"),)
    assert link.ais == (*link.path, *link.attributes)
    assert link.primary_key == ("01", GTIN)
    assert (link.gtin, link.lot, link.serial, link.expiry, link.sscc) == (
        GTIN,
        "ABC1",
        "12345",
        "180426",
        None,
    )
    assert link.get("17") == "180426"
    assert link.get("99") is None
    assert link.element_string() == "^010952012345678810ABC1^2112345^17180426"
    assert link.to_uri() == URI


def test_to_uri_is_canonical() -> None:
    link = DigitalLink.from_uri(
        "HTTPS://brand.example/x/01/09520123456788/21/A%2fb?linkType=pip&99=a%2b%2F&&#frag"
    )
    assert link.stem == "HTTPS://brand.example/x"
    assert link.serial == "A/b"
    assert link.get("99") == "a+/"
    assert link.to_uri() == "HTTPS://brand.example/x/01/09520123456788/21/A%2Fb?99=a%2B%2F"
    assert link.to_uri("https://id.gs1.org/") == (
        "https://id.gs1.org/01/09520123456788/21/A%2Fb?99=a%2B%2F"
    )
    assert link.to_uri("") == "/01/09520123456788/21/A%2Fb?99=a%2B%2F"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("", "the URI is empty"),
        ("ftp://a/01/09520123456788", "must start with https:// or http://"),
        ("https://a/01/09520123456788 ", "' ' at position 28 is not allowed in a URI"),
        ("https://a_b/01/09520123456788", "domain name 'a_b' contains '_'"),
        ("https://a/01/09520123456788/", "the path must not end with '/'"),
        ("https://a/gtin/09520123456788", "convenience alphas such as /gtin/ are not supported"),
        ("https://a/10/ABC", "no GS1 primary key"),
        ("https://a/01/09520123456788/10/", "AI (10) has an empty value in the path"),
        ("https://a/01/09520123456788?99=", "AI (99) has an empty value in the query"),
        ("https://a/01/09520123456788?89=X", "query parameter 89 is numeric but not a known"),
        ("https://a/01/09520123456788/10/A?10=A", "AI (10) appears more than once"),
        ("https://a/01/09520123456788?99=A&99=A", "AI (99) appears more than once"),
        ("https://a/01/09520123456788?01=09520123456788", "AI (01) appears more than once"),
        ("https://a/01/09520123456788?21=5", "AI (21) is not permitted as a query data"),
        ("https://a/01/09520123456788?10=5", "AI (10) must be in the path"),
        ("https://a/01/09520123456788/21/1/10/2", "not a valid key-qualifier sequence"),
        ("https://a/01/9520123456788", "AI (01) must be 14 characters long, not 13"),
        ("https://a/01/09520123456789", "AI (01) check digit should be 8, not 9"),
        ("https://a/01/09520123456788?17=251301", "month must be 01 to 12, not 13"),
        ("https://a/01/09520123456788/21/A%00B", "percent-encoded NUL"),
    ],
)
def test_from_uri_says_what_is_wrong(uri: str, message: str) -> None:
    caught = error(DigitalLink.from_uri, uri)
    assert caught.code == "invalid_digital_link"
    assert message in caught.message


def test_overlong_uri_is_a_limit() -> None:
    uri = "https://a/01/09520123456788?x=" + "a" * MAX_URI_LENGTH
    with pytest.raises(LimitExceeded):
        DigitalLink.from_uri(uri)
    assert DigitalLink.from_uri(uri[:MAX_URI_LENGTH]).gtin == GTIN


def test_a_link_exists_only_if_valid() -> None:
    with pytest.raises(InvalidInput, match="must start with a primary key"):
        DigitalLink("https://a", (("21", "X"),))
    with pytest.raises(InvalidInput, match="no domain name"):
        DigitalLink("https://", (("01", GTIN),))
    with pytest.raises(InvalidInput, match="not allowed in a stem"):
        DigitalLink("https://a?x", (("01", GTIN),))
    with pytest.raises(InvalidInput, match="check digit"):
        DigitalLink("https://a", (("01", "09520123456789"),))
    with pytest.raises(LimitExceeded):
        DigitalLink(
            "https://a", (("01", GTIN),), tuple((str(ai), "%" * 90) for ai in range(91, 100))
        )


def test_from_ais_and_build_uri() -> None:
    data = {"21": "A/B", "01": GTIN, "99": "x+y", "17": "250100"}
    link = DigitalLink.from_ais(data, stem="https://brand.example/")
    assert link.stem == "https://brand.example"
    assert link.to_uri() == ("https://brand.example/01/09520123456788/21/A%2FB?17=250100&99=x%2By")
    assert build_uri(data) == "https://id.gs1.org/01/09520123456788/21/A%2FB?17=250100&99=x%2By"
    assert build_uri([("00", "006141411234567890")], "") == "/00/006141411234567890"
    assert (
        "given twice with different values"
        in error(build_uri, [("01", GTIN), ("01", "12312312312333")]).message
    )
    assert "no primary key" in error(build_uri, {"10": "ABC"}).message
    assert "not a known GS1" in error(build_uri, {"01": GTIN, "89": "X"}).message
    assert "must start with https://" in error(build_uri, {"01": GTIN}, "ftp://a").message
    for bad in ("01", [("01",)], [(1, GTIN)], [b"01"]):
        assert error(build_uri, bad).code == "invalid_digital_link"


# --- Properties ----------------------------------------------------------------------------

cset82 = st.text(
    st.sampled_from("!\"%&'()*+,-./:;<=>?_" + string.ascii_letters + string.digits),
    min_size=1,
    max_size=20,
)
gtins = st.text(st.sampled_from(string.digits), min_size=13, max_size=13).map(
    lambda body: body + check_digit(body)
)
dates = st.tuples(st.integers(0, 99), st.integers(1, 12), st.integers(0, 28)).map(
    lambda ymd: "".join(f"{n:02d}" for n in ymd)
)
stems = st.sampled_from(
    ["https://id.gs1.org", "http://a", "HTTPS://b.example:8443/some/path", "https://a/01/x"]
)


@st.composite
def links(draw: st.DrawFn) -> DigitalLink:
    data = {"01": draw(gtins)}
    for ai, values in (("22", cset82), ("10", cset82), ("21", cset82), ("17", dates)):
        if draw(st.booleans()):
            data[ai] = draw(values)
    for ai in draw(st.lists(st.sampled_from(["91", "92", "98", "99", "3103"]), unique=True)):
        data[ai] = (
            draw(st.text(st.sampled_from("0123456789"), min_size=6, max_size=6))
            if ai == "3103"
            else draw(cset82)
        )
    pairs = list(data.items())
    return DigitalLink.from_ais(draw(st.permutations(pairs)), draw(stems))


@given(links())
def test_round_trip(link: DigitalLink) -> None:
    assert DigitalLink.from_uri(link.to_uri()) == link
    assert build_uri(link.ais, link.stem) == link.to_uri()


@given(st.text())
def test_escape_round_trip(value: str) -> None:
    # NUL is excluded: Digital Link refuses %00 by design (tested elsewhere).
    if (
        not any("\ud800" <= c <= "\udfff" for c in value)
        and value.isascii()
        and "\x00" not in value
    ):
        assert uri_unescape(uri_escape(value)) == value
        assert uri_unescape(uri_escape(value, query=True), query=True) == value


PREFIXES = [
    "",
    "https://",
    "https://a/",
    "https://a/01/09520123456788",
    "https://a/01/09520123456788?99=",
]


@given(st.sampled_from(PREFIXES), st.text())
def test_any_text_is_a_link_or_invalid_input(prefix: str, text: str) -> None:
    try:
        link = DigitalLink.from_uri(prefix + text)
    except InvalidInput:
        return
    assert DigitalLink.from_uri(link.to_uri()) == link


@given(st.text(max_size=30))
def test_any_text_is_an_identifier_or_invalid_input(text: str) -> None:
    for call in (
        gtin14,
        sscc,
        validate_serial,
        validate_lot,
        validate_expiry,
        validate_company_prefix,
        check_digit,
        company_prefix_candidates,
        uri_unescape,
    ):
        with contextlib.suppress(InvalidInput):
            call(text)


@given(
    st.dictionaries(
        st.sampled_from(["00", "01", "10", "21", "17", "99", "235", "22"]) | st.text(max_size=5),
        st.text(max_size=25),
    ),
    st.sampled_from(["", DEFAULT_STEM]) | st.text(max_size=20),
)
def test_any_ai_data_builds_or_is_invalid_input(data: dict[str, str], stem: str) -> None:
    try:
        uri = build_uri(data, stem)
    except InvalidInput:
        return
    if stem.rstrip("/"):
        assert DigitalLink.from_uri(uri).ais == DigitalLink.from_ais(data, stem).ais
