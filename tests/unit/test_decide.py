"""The verdict engine: each named rule fires on its evidence and only then; precedence holds."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger.decide import Evidence, ItemFacts, KeyFacts, ScanContext, ScanRecord, Thresholds, decide
from ledger.verdict import COUNTERFEIT, GENUINE, RECALLED, SUSPECT, UNVERIFIED, Reason, Verdict

SIGNED = Verdict(UNVERIFIED, (Reason("signature_valid", "ok", {"key_id": "k"}),), {"gtin": "g"})
FORGED = Verdict(COUNTERFEIT, (Reason("signature_invalid", "bad"),), {})
ITEM = ItemFacts("01/g/21/s", "active", "shop-a", "", False, False, "fishco", 1_000)
KEY = KeyFacts("k")
LIVE = ScanContext(platform="tiktok", stream_id="live-1", seller="shop-a")


def verdict(**changes: object) -> Verdict:
    base = Evidence(SIGNED, ITEM, KEY, ScanContext())
    return decide(replace(base, **changes))  # type: ignore[arg-type]


def test_genuine_when_everything_agrees() -> None:
    result = verdict(context=LIVE)
    assert result.status == GENUINE and result.codes == ("custody_verified",)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"code": FORGED}, "signature_invalid"),
        ({"item": None}, "not_commissioned"),
        ({"key": KeyFacts("k", effective_time=500)}, "key_not_valid_at_issue"),
        (
            {"key": KeyFacts("k", effective_time=5_000, compromised_since=900)},
            "key_not_valid_at_issue",
        ),
        ({"item": replace(ITEM, status="destroyed")}, "item_destroyed"),
    ],
    ids=[
        "forged-code",
        "never-commissioned",
        "key-revoked-before-issue",
        "key-compromised-before-issue",
        "destroyed",
    ],
)
def test_counterfeit_rules(changes: dict[str, object], code: str) -> None:
    result = verdict(**changes)
    assert result.status == COUNTERFEIT and code in result.codes


def test_a_key_revoked_after_issue_does_not_make_old_items_counterfeit() -> None:
    assert verdict(key=KeyFacts("k", effective_time=5_000)).status == GENUINE


def test_recalled_beats_suspect_but_keeps_the_clone_reasons() -> None:
    result = verdict(item=replace(ITEM, recalled=True), context=replace(LIVE, seller="shop-b"))
    assert result.status == RECALLED and result.codes == ("recalled", "seller_not_custodian")


@pytest.mark.parametrize(
    ("evidence", "code"),
    [
        ({"item": replace(ITEM, status="sold"), "context": LIVE}, "sold_item_offered"),
        ({"item": replace(ITEM, claimed=True), "context": LIVE}, "sold_item_offered"),
        ({"context": replace(LIVE, seller="shop-b")}, "seller_not_custodian"),
        ({"context": LIVE, "listing_sellers": frozenset({"shop-c"})}, "multiple_sellers"),
        (
            {"context": LIVE, "recent": (ScanRecord("i", 1, replace(LIVE, stream_id="live-2")),)},
            "scan_velocity",
        ),
    ],
    ids=[
        "sold-item-in-stream",
        "claimed-item-in-stream",
        "cloned-code-other-seller",
        "same-serial-two-sellers",
        "two-streams-at-once",
    ],
)
def test_suspect_rules(evidence: dict[str, object], code: str) -> None:
    result = verdict(**evidence)
    assert result.status == SUSPECT and code in result.codes


def test_a_sold_item_scanned_by_its_owner_is_genuine() -> None:
    """Without a listing or stream, scanning a sold item is its owner checking it."""
    assert verdict(item=replace(ITEM, status="sold")).status == GENUINE


def test_viewers_of_one_stream_on_many_devices_are_not_a_clone_signal() -> None:
    recent = tuple(
        ScanRecord("i", n, replace(LIVE, device=f"d{n}", place=f"p{n}")) for n in range(200)
    )
    assert verdict(context=LIVE, recent=recent).status == GENUINE


def test_physical_scans_from_too_many_places_are() -> None:
    recent = tuple(ScanRecord("i", n, ScanContext(place=f"p{n}")) for n in range(3))
    result = decide(
        Evidence(SIGNED, ITEM, KEY, ScanContext(place="p9"), recent), Thresholds(max_places=3)
    )
    assert result.status == SUSPECT and result.reasons[0].evidence == {"places": 4}


def test_the_receiver_of_a_shipment_may_show_the_item() -> None:
    in_transit = replace(ITEM, status="in_transit", custodian="distri", pending_to="shop-a")
    assert verdict(item=in_transit, context=LIVE).status == GENUINE
