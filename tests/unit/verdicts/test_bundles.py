"""ledger.verdicts.bundles: an item's offline proof bundle verifies, and every tampering of
any part of it is refused with the check that caught it (the bundles come from a real
story on a memory store, tests/bundles.py)."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from ledger.errors import InvalidInput
from ledger.keys import PrivateKey
from ledger.log.checkpoint import CosignatureVerifier
from ledger.log.note import NoteVerifier
from ledger.verdicts.bundles import BundleResult, sign_statement, verify_bundle
from tests.bundles import (
    A1,
    B9,
    LOG_VKEY,
    OPERATOR,
    ORIGIN,
    WITNESSES,
    Story,
    bundle_of,
    bundle_story,
    tampered,
    tamperings,
)
from tests.supply import signed_code

DAY = 24 * 3_600_000


@pytest.fixture(scope="module")
def story() -> Story:
    return bundle_story()


@pytest.fixture(scope="module")
def good(story: Story) -> dict[str, Any]:
    return bundle_of(story, A1, story.code)


def check(story: Story, bundle: object, **kw: Any) -> BundleResult:
    kw.setdefault("log_key", LOG_VKEY)
    kw.setdefault("now", story.now)
    return verify_bundle(bundle, **kw)  # type: ignore[arg-type]


def failed(result: BundleResult) -> set[str]:
    return {c.name for c in result.failures}


def test_a_real_story_verifies_and_says_what_the_entries_say(story: Story, good: dict) -> None:
    result = check(story, json.dumps(good), witnesses=WITNESSES, quorum=2)
    assert result.ok, result.to_obj()
    summary = result.summary
    assert summary is not None
    assert (summary.producer, summary.custody, summary.status) == (
        "fishco",
        ("fishco", "distri", "shop-a"),
        "sold",
    )
    assert summary.recalled  # the lot recall is not in the item's timeline: it is found
    assert result.witnesses == ("w1.example", "w2.example")
    assert "as of checkpoint 19" in result.scope and "cannot prove" in result.scope
    assert [c.name for c in result.checks] == [
        "checkpoint", "witnesses", "inclusion", "signatures", "trust", "code",
        "statement", "entries", "verdict",
    ]  # fmt: skip


def test_an_item_without_code_skips_the_code_check(story: Story) -> None:
    result = check(story, bundle_of(story, B9))
    assert result.ok and result.summary is not None and not result.summary.recalled
    assert {c.name for c in result.checks if c.passed is None} == {"code", "witnesses"}


@pytest.mark.parametrize("name", sorted(tamperings({})))
def test_every_tampering_is_refused_by_the_checks_it_breaks(
    story: Story, good: dict, name: str
) -> None:
    result = check(story, tampered(good, bundle_of(story, B9), name))
    assert not result.ok
    assert failed(result) == tamperings({})[name][1], result.to_obj()


def test_an_entry_swapped_in_from_another_item_is_refused(story: Story, good: dict) -> None:
    other = bundle_of(story, B9)
    commission_b9 = next(e for e in other["entries"] if e["index"] == 8)
    # even re-signed by the operator (a dishonest server), the swap shows in the replay
    bundle = copy.deepcopy(good)
    bundle["entries"] = sorted([*bundle["entries"], commission_b9], key=lambda e: e["index"])
    bundle["statement"]["indices"] = [e["index"] for e in bundle["entries"]]
    bundle["signature"] = sign_statement(bundle["statement"], OPERATOR)
    result = check(story, bundle)
    assert failed(result) == {"entries"}
    assert "entry 8 (event.commission): commissions other items" in result.failures[0].reason


def test_a_summary_the_entries_contradict_is_refused_even_if_signed(
    story: Story, good: dict
) -> None:
    bundle = copy.deepcopy(good)
    bundle["statement"]["summary"].update(custodian="shop-b", recalled=False)
    bundle["signature"] = sign_statement(bundle["statement"], OPERATOR)
    result = check(story, bundle)
    assert failed(result) == {"verdict"}
    assert "custodian, recalled" in result.failures[0].reason


def test_a_checkpoint_of_another_key_is_refused(story: Story, good: dict) -> None:
    other = NoteVerifier.from_public_key(ORIGIN, PrivateKey.from_seed(b"x" * 32).public_key)
    result = check(story, good, log_key=other.to_vkey())
    assert {"checkpoint", "trust", "statement"} <= failed(result)
    assert "not the pinned log's" in next(c for c in result.checks if c.name == "checkpoint").reason


def test_a_stale_trust_bundle_is_refused(story: Story, good: dict) -> None:
    result = check(story, good, now=story.now + 8 * DAY)
    assert failed(result) == {"trust", "code"}
    assert check(story, good, now=story.now + 8 * DAY, max_trust_age_ms=9 * DAY).ok


def test_too_few_witnesses_are_refused(story: Story, good: dict) -> None:
    stranger = CosignatureVerifier.from_public_key(
        "w3.example", PrivateKey.from_seed(b"w" * 32).public_key
    )
    assert check(story, good, witnesses=WITNESSES, quorum=2).ok
    result = check(story, good, witnesses=(WITNESSES[0], stranger), quorum=2)
    assert failed(result) == {"witnesses"}
    assert "1 witness cosignature(s) verified, 2 required" in result.failures[0].reason
    unwitnessed = bundle_of(bundle_story(witnessed=False), A1)
    result = check(story, unwitnessed, witnesses=WITNESSES, quorum=1)
    assert failed(result) == {"witnesses"}


def test_a_code_of_another_item_or_producer_is_refused(story: Story, good: dict) -> None:
    bundle = copy.deepcopy(good)
    bundle["code"] = signed_code(story.supply, "A2", lot="L7")
    assert failed(check(story, bundle)) == {"code"}
    bundle["code"] = good["code"].replace(good["code"][-10:], "A" * 10)
    assert failed(check(story, bundle)) == {"code"}


@pytest.mark.parametrize(
    "bad",
    [
        "[]",
        "{}",
        {"format": "tracemark-item-bundle/v0"},
        "not json",
    ],
)
def test_what_is_not_a_bundle_is_bad_input(story: Story, bad: object) -> None:
    with pytest.raises(InvalidInput):
        check(story, bad)


def test_a_quorum_above_the_witnesses_is_bad_input(story: Story, good: dict) -> None:
    with pytest.raises(InvalidInput, match="quorum"):
        check(story, good, witnesses=WITNESSES, quorum=3)


def test_dropping_or_flipping_any_entry_or_proof_hash_is_refused(story: Story, good: dict) -> None:
    for at, entry in enumerate(good["entries"]):
        dropped = copy.deepcopy(good)
        del dropped["entries"][at]
        assert "statement" in failed(check(story, dropped)), entry["index"]
        flipped = copy.deepcopy(good)
        leaf = bytearray(base64.b64decode(entry["leaf"]))
        leaf[len(leaf) // 2] ^= 0x01
        flipped["entries"][at]["leaf"] = base64.b64encode(bytes(leaf)).decode()
        assert "inclusion" in failed(check(story, flipped)), entry["index"]
        for h in range(len(entry["inclusion_proof"])):
            bent = copy.deepcopy(good)
            raw = bytearray(base64.b64decode(entry["inclusion_proof"][h]))
            raw[-1] ^= 0x80
            bent["entries"][at]["inclusion_proof"][h] = base64.b64encode(bytes(raw)).decode()
            assert failed(check(story, bent)) == {"inclusion"}, (entry["index"], h)
