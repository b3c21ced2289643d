"""The verdict engine: each named rule fires on its evidence and only then; precedence holds."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ledger.verdicts import (
    COUNTERFEIT,
    GENUINE,
    INVALID,
    RECALLED,
    SUSPECT,
    UNVERIFIED,
    Evidence,
    ItemFacts,
    KeyFacts,
    Reason,
    ScanContext,
    ScanRecord,
    Thresholds,
    Verdict,
    decide,
)

SIGNED = Verdict(UNVERIFIED, (Reason("signature_valid", "ok", {"key_id": "k"}),), {"gtin": "g"})
FORGED = Verdict(COUNTERFEIT, (Reason("signature_invalid", "bad"),), {})
ITEM = ItemFacts("01/g/21/s", "active", "shop-a", "", False, False, "fishco", 1_000)
KEY = KeyFacts("k")
LIVE = ScanContext(platform="tiktok", stream_id="live-1", seller="shop-a")
#: A stream of another seller, vouched by the platform's API key.
ELSEWHERE = ScanContext(platform="tiktok", stream_id="live-9", seller="shop-c", source="platform")


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
        ({"recent": (ScanRecord("i", 1, ELSEWHERE),)}, "multiple_sellers"),
        (
            {
                "recent": (
                    ScanRecord("i", 1, replace(ELSEWHERE, seller="")),
                    ScanRecord("i", 2, replace(ELSEWHERE, seller="", stream_id="live-2")),
                )
            },
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
    recent = tuple(
        ScanRecord("i", n, ScanContext(place=f"p{n}", source="platform")) for n in range(4)
    )
    result = decide(
        Evidence(SIGNED, ITEM, KEY, ScanContext(place="p9"), recent), Thresholds(max_places=3)
    )
    assert result.status == SUSPECT and result.reasons[0].evidence == {"places": 4}


def test_the_receiver_of_a_shipment_may_show_the_item() -> None:
    in_transit = replace(ITEM, status="in_transit", custodian="distri", pending_to="shop-a")
    assert verdict(item=in_transit, context=LIVE).status == GENUINE


# --- evidence sources, custodian first, sellers as actors ---------------------------------------

CLONE = ScanContext(platform="tiktok", stream_id="x1", seller="shop-b", source="platform")


def test_anonymous_contexts_elsewhere_change_nothing() -> None:
    """A rival naming another seller in an anonymous request does not count as evidence."""
    recent = (ScanRecord("i", 5, replace(CLONE, source="anonymous")),)
    assert verdict(recent=recent).status == GENUINE
    assert verdict(context=LIVE, recent=recent).status == GENUINE


def test_an_anonymous_request_gets_an_honest_answer_about_its_own_context() -> None:
    result = verdict(context=replace(CLONE, source="anonymous"))
    assert result.status == SUSPECT and result.codes == ("seller_not_custodian",)


def test_the_custodian_stays_genuine_when_a_vouched_clone_shows_up_elsewhere() -> None:
    recent = (ScanRecord("i", 5, CLONE),)
    holder = replace(LIVE, source="platform")
    assert verdict(context=holder, recent=recent).status == GENUINE
    other = verdict(context=CLONE, recent=(ScanRecord("i", 4, holder),))
    assert other.status == SUSPECT
    assert set(other.codes) >= {"seller_not_custodian", "multiple_sellers"}
    plain = verdict(recent=recent)
    assert plain.status == SUSPECT and plain.codes[0] == "multiple_sellers"
    assert plain.reasons[0].evidence["sellers"] == ["shop-a", "shop-b"]


def test_an_unknown_seller_is_unknown_for_its_context_not_a_second_seller() -> None:
    unknown = replace(CLONE, seller="tiktok:nobody123")
    result = verdict(context=unknown, seller_known=False)
    assert result.status == SUSPECT and result.codes == ("unknown_seller",)
    assert "multiple_sellers" not in result.codes


def test_a_restarted_stream_of_the_custodian_is_one_offer() -> None:
    first = replace(LIVE, source="session", session="s1")
    again = replace(first, stream_id="live-2")
    recent = (ScanRecord("i", 1, first),)
    assert verdict(context=again, recent=recent).status == GENUINE
    assert verdict(recent=(ScanRecord("i", 1, first), ScanRecord("i", 2, again))).status == GENUINE


def test_contexts_seen_before_the_items_latest_entry_are_history() -> None:
    """A seller that shipped the item on was its custodian then: no clone."""
    moved = replace(ITEM, custodian="shop-c", changed_time=10)
    assert verdict(item=moved, recent=(ScanRecord("i", 5, CLONE),)).status == GENUINE
    assert verdict(item=moved, recent=(ScanRecord("i", 15, CLONE),)).status == SUSPECT


def test_invalid_codes_are_invalid_never_counterfeit() -> None:
    unreadable = Verdict(INVALID, (Reason("malformed_code", "check digit"),), {})
    result = verdict(code=unreadable, item=None)
    assert result.status == INVALID and result.codes == ("malformed_code",)
