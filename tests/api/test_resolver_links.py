"""The pieces of the resolver that decide nothing by themselves: link types, Link headers,
entity tags (api/http/resolver.py) and the product-level verdict (ledger/verdicts/products.py)."""

from __future__ import annotations

import itertools

import pytest

from api.http import resolver
from ledger.verdicts import GENUINE, INVALID, RECALLED, ProductFacts, judge_product

URL = "https://vt.example.test/01/08930001000011/21/F0001"


@pytest.mark.parametrize(
    ("params", "wanted"),
    [
        ({}, None),
        ({"linkType": "gs1:pip"}, "pip"),
        ({"linktype": "gs1:pip"}, "pip"),  # Resolver CE's tests' spelling
        ({"linkType": "pip"}, "pip"),
        ({"linkType": "https://gs1.org/voc/recallStatus"}, "recallStatus"),
        ({"linkType": "http://gs1.org/voc/recallStatus"}, "recallStatus"),
        ({"linkType": "all"}, "all"),
        ({"linkType": "linkset"}, "all"),
        ({"linkType": "LinkSet"}, "all"),
        ({"linkType": " gs1:safetyInfo "}, "safetyInfo"),
        ({"linkType": "x" * 10_000}, "x" * 128),  # bounded
    ],
)
def test_link_type_of(params: dict[str, str], wanted: str | None) -> None:
    assert resolver.link_type_of(params) == wanted


def test_link_hrefs_keep_the_code_as_printed() -> None:
    query = "8030=AbC-_x&linkType=all&17=271231"
    [pip, verify, recall, record] = resolver.item_links(URL, query, record="https://r/v1/items/x")
    assert pip.href == URL + "?8030=AbC-_x&17=271231&linkType=gs1:pip"
    assert verify.href.endswith("&linkType=gs1:verificationService")
    assert recall.href.endswith("&linkType=gs1:recallStatus")
    assert record.href == "https://r/v1/items/x" and record.link_type == "traceability"
    assert resolver.linkset_href(URL, "") == URL + "?linkType=linkset"
    assert [link.link_type for link in resolver.product_links(URL, "")] == [
        "pip",
        "verificationService",
        "recallStatus",
    ]


def test_the_link_header_names_the_linkset_first_and_quotes_titles() -> None:
    links = resolver.item_links(URL, "")
    header = resolver.link_header(links, URL + "?linkType=linkset")
    first, *rest = header.split(", <")
    assert first == f'<{URL}?linkType=linkset>; rel="linkset"; type="application/linkset+json"'
    assert len(rest) == len(links)
    assert 'rel="https://gs1.org/voc/pip https://gs1.org/voc/defaultLink"' in rest[0]
    assert 'hreflang="en,vi"' in rest[0] and "title=\"Tracemark: the item's verdict" in rest[0]
    assert resolver._quoted('a "b" \\c') == '"a \\"b\\" \\\\c"'


def test_the_linkset_is_rfc_9264_json() -> None:
    links = resolver.item_links(URL, "")
    doc = resolver.linkset(URL, links, description="Tuna")
    [context] = doc["linkset"]
    assert context["anchor"] == URL and context["itemDescription"] == "Tuna"
    for link in links:
        assert context[link.rel] == [link.target()]
    assert context["https://gs1.org/voc/defaultLink"] == [links[0].target()]
    assert "itemDescription" not in resolver.linkset(URL, links)["linkset"][0]


def test_entity_tags_name_the_log_size_representation_and_language() -> None:
    tag = resolver.entity_tag(42, "html", "vi", b"<p>")
    assert tag.startswith('W/"42-html-vi-') and tag.endswith('"')
    assert resolver.entity_tag(43, "html", "vi", b"<p>") != tag
    assert resolver.entity_tag(42, "html", "en", b"<p>") != tag
    assert resolver.entity_tag(42, "json", "vi", b"<p>") != tag
    assert resolver.entity_tag(42, "html", "vi", b"<b>") != tag  # scans outside the log


@pytest.mark.parametrize(
    ("header", "hit"),
    [
        (None, False),
        ("", False),
        ('W/"1-json-x-abc"', True),
        ('"1-json-x-abc"', True),  # weak comparison
        ('"other", W/"1-json-x-abc"', True),
        ("*", True),
        ('W/"2-json-x-abc"', False),
    ],
)
def test_if_none_match(header: str | None, hit: bool) -> None:
    assert resolver.not_modified(header, 'W/"1-json-x-abc"') is hit


def test_cache_control() -> None:
    assert resolver.cache_control(private=True) == "private, no-store"
    public = resolver.cache_control(private=False)
    assert public.startswith("public, ") and f"max-age={resolver.MAX_AGE_S}" in public


def _facts(
    lot: str = "", gtin_recall: str | None = None, lot_recall: str | None = None
) -> ProductFacts:
    return ProductFacts("08930001000011", lot, "fishco", "Fish Co", "Tuna", gtin_recall, lot_recall)


def test_a_product_verdict_is_never_genuine() -> None:
    for lot, whole, of_lot in itertools.product(
        ("", "L7"), (None, "mislabel"), (None, "histamine")
    ):
        verdict = judge_product(_facts(lot, whole, of_lot))
        assert verdict.status != GENUINE
        assert verdict.codes[-1] == "product_only"
        recalled = whole is not None or (lot != "" and of_lot is not None)
        assert verdict.status == (RECALLED if recalled else INVALID), (lot, whole, of_lot)


def test_a_product_verdict_names_the_recall_and_the_producer() -> None:
    verdict = judge_product(_facts("L7", lot_recall="histamine"))
    assert verdict.codes == ("lot_recalled", "product_only")
    assert verdict.reasons[0].evidence == {
        "gtin": "08930001000011",
        "lot": "L7",
        "reason": "histamine",
    }
    assert verdict.item == {"gtin": "08930001000011", "producer": "fishco", "lot": "L7"}
    assert judge_product(_facts(gtin_recall="mislabel")).codes == (
        "product_recalled",
        "product_only",
    )
