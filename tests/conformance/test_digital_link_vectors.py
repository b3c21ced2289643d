"""GS1 Digital Link vectors (tests/vectors/digital-link-vectors.json), one test id per case.

gs1_syntax_engine (gs1/gs1-syntax-engine dl.c unit tests) is the reference suite:
parse, generate, URI escape/unescape and the valid path key-qualifier sequences.

Option-dependent cases: ``ledger.codes.gs1`` implements none of gs1-syntax-engine's non-default
parser options (``permit_convenience_alphas`` for /gtin/, ``permit_zero_suppressed_gtin`` for
GTIN-8/12/13 in (01), ``permit_unknown_ais``, ``validate_unknown_ai_not_dl_attr=false``).
Every one of them only widens what is accepted, so a case that expects a rejection under an
option must be rejected by the default parser too: those run. Cases that expect success
under an option are skipped, with the option named.

digital_link_js (gs1/digital-link.js, the older DL 1.1 grammar) runs where the two suites
agree: its expected rejections, and its accepted URIs with a 14-digit GTIN and numeric AIs.
Cases marked ``conflicts_with``, accepted URIs with convenience alphas or unpadded GTINs
(refused by gs1-syntax-engine by default), and the compressed URI are skipped with a reason.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ledger.codes.gs1 import (
    DEFAULT_STEM,
    DigitalLink,
    build_uri,
    is_dl_path_sequence,
    uri_escape,
    uri_unescape,
)
from ledger.errors import InvalidInput

VECTORS = Path(__file__).parents[1] / "vectors"
DATA: dict[str, Any] = json.loads((VECTORS / "digital-link-vectors.json").read_text("utf-8"))
GSE: dict[str, Any] = DATA["gs1_syntax_engine"]
DLJS: list[dict[str, Any]] = DATA["digital_link_js"]["cases"]

# Convenience fields of a parse case -> AI, read from the file's own field conventions.
FIELDS = {"gtin": "01", "serial": "21", "lot": "10"} | dict(
    re.findall(r"(\w+)=(\d{2,4})", DATA["field_conventions"]["gtin/serial/lot/..."])
)
PROPERTIES = ("gtin", "serial", "lot", "expiry", "sscc")


def by_id(cases: list[dict[str, Any]]) -> list[Any]:
    return [pytest.param(case, id=case["id"]) for case in cases]


def skip_if_option_needed(case: dict[str, Any]) -> None:
    options = case.get("options")
    if options and case["valid"]:
        names = ", ".join(f"{k}={v}" for k, v in sorted(options.items()))
        pytest.skip(
            f"needs gs1-syntax-engine option(s) not implemented by ledger.codes.gs1: {names}"
        )


def ai_pairs(bracketed: str) -> list[tuple[str, str]]:
    """'(01)123(10)ABC' -> [('01', '123'), ('10', 'ABC')] (no value in the vectors has '(')."""
    pairs = re.findall(r"\((\d{2,4})\)([^(]*)", bracketed)
    assert "".join(f"({ai}){value}" for ai, value in pairs) == bracketed
    return pairs


# --- gs1-syntax-engine ---------------------------------------------------------------------


@pytest.mark.parametrize("case", by_id(GSE["parse"]))
def test_parse(case: dict[str, Any]) -> None:
    skip_if_option_needed(case)
    if not case["valid"]:
        with pytest.raises(InvalidInput) as caught:
            DigitalLink.from_uri(case["uri"])
        assert caught.value.code == "invalid_digital_link"
        return
    link = DigitalLink.from_uri(case["uri"])
    assert list(link.ais) == list(case["ais"].items())
    assert link.element_string() == case["element_string"]
    for field, ai in FIELDS.items():
        assert link.get(ai) == case.get(field), field
    for name in PROPERTIES:
        assert getattr(link, name) == case.get(name), name
    assert DigitalLink.from_uri(link.to_uri()) == link


@pytest.mark.parametrize("case", by_id(GSE["generate"]["cases"]))
def test_generate(case: dict[str, Any]) -> None:
    skip_if_option_needed(case)
    stem = DEFAULT_STEM if case["stem"] is None else case["stem"]
    if "input_dl_uri" in case:  # a parsed DL URI keeps its own path order
        assert DigitalLink.from_uri(case["input_dl_uri"]).to_uri(stem) == case["expected_uri"]
        return
    pairs = ai_pairs(case["ai_data"])
    if not case["valid"]:
        with pytest.raises(InvalidInput) as caught:
            build_uri(pairs, stem)
        assert caught.value.code == "invalid_digital_link"
        return
    uri = build_uri(pairs, stem)
    assert uri == case["expected_uri"]
    if stem:
        assert DigitalLink.from_uri(uri) == DigitalLink.from_ais(pairs, stem)


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=f"escape-{i:02d}") for i, c in enumerate(GSE["uri_escape"]["cases"])],
)
def test_uri_escape(case: dict[str, Any]) -> None:
    assert uri_escape(case["input"]) == case["path_encoded"]
    assert uri_escape(case["input"], query=True) == case["query_encoded"]
    assert uri_unescape(case["path_encoded"]) == case["input"]
    assert uri_unescape(case["query_encoded"], query=True) == case["input"]


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=f"unescape-{i:02d}") for i, c in enumerate(GSE["uri_unescape"]["cases"])],
)
def test_uri_unescape(case: dict[str, Any]) -> None:
    for query, key in ((False, "path_decoded"), (True, "query_decoded")):
        if case[key] is None:
            with pytest.raises(InvalidInput):
                uri_unescape(case["input"], query=query)
            continue
        decoded = uri_unescape(case["input"], query=query)
        assert decoded == case[key]
        if f"{key}_bytes_hex" in case:
            assert decoded.encode("latin-1").hex() == case[f"{key}_bytes_hex"]


SEQUENCES = GSE["valid_path_key_qualifier_sequences"]["sequences"]


@pytest.mark.parametrize(
    "path_ais", [pytest.param(s["path_ais"], id="/".join(s["path_ais"])) for s in SEQUENCES]
)
def test_valid_path_key_qualifier_sequence(path_ais: list[str]) -> None:
    assert is_dl_path_sequence(path_ais)


def test_path_sequences_beyond_the_list_come_from_the_newer_dictionary() -> None:
    """The dictionary release 2026-01-27 also makes (415) PAY TO a key, qualified by (8020)."""
    listed = {tuple(s["path_ais"]) for s in SEQUENCES}
    for extra in (("415",), ("415", "8020")):
        assert extra not in listed
        assert is_dl_path_sequence(extra)


@pytest.mark.parametrize(
    "path_ais", [["01", "21", "10"], ["01", "10", "22"], ["01", "22", "235"], ["00", "10"], ["10"]]
)
def test_other_path_sequences_are_refused(path_ais: list[str]) -> None:
    assert not is_dl_path_sequence(path_ais)


# --- digital-link.js (DL 1.1 grammar): only where both suites agree -----------------------


def dljs_skip_reason(case: dict[str, Any]) -> str | None:
    if case.get("compressed"):
        return "compressed DL URI: GS1 Digital Link compression is out of scope"
    if "conflicts_with" in case:
        return f"digital-link.js accepts what gs1-syntax-engine refuses ({case['conflicts_with']})"
    if case.get("valid") is not False:
        if any(f"/{ai}/" not in case["uri"] and f"{ai}=" not in case["uri"] for ai in case["ais"]):
            return "convenience alpha (DL 1.1), refused by gs1-syntax-engine by default"
        if len(case["ais"].get("01", "0" * 14)) != 14:
            return "GTIN without zero padding (DL 1.1), refused by gs1-syntax-engine by default"
    return None


@pytest.mark.parametrize("case", by_id(DLJS))
def test_digital_link_js(case: dict[str, Any]) -> None:
    reason = dljs_skip_reason(case)
    if reason:
        pytest.skip(reason)
    if case["valid"] is False:
        with pytest.raises(InvalidInput):
            DigitalLink.from_uri(case["uri"])
        return
    link = DigitalLink.from_uri(case["uri"])
    assert dict(link.ais) == case["ais"]
    for name in ("gtin", "serial", "lot"):
        assert getattr(link, name) == case.get(name)
