"""Item bundles built from a SQL store (SQLite, PostgreSQL): the story of tests/bundles.py
gives a bundle that verifies offline, whose recomputed summary is the projection's; the
use case refuses what it cannot prove."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.codes.identifiers import item_id
from ledger.errors import Conflict, InvalidInput, NotFound
from ledger.keys import PrivateKey
from ledger.provenance.events.names import CLAIM, SELL
from ledger.verdicts.bundles import verify_bundle
from tests.bundles import A1, B9, LOG_VKEY, WITNESSES, Story, bundle_of, bundle_story
from tests.conftest import SQL_BACKENDS, make_store
from tests.supply import GTIN, signed_code


@pytest.fixture(params=SQL_BACKENDS)
def story(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Story]:
    store = make_store(request.param, request, tmp_path)
    yield bundle_story(store=store)
    store.close()


def test_a_bundle_from_sql_verifies_and_agrees_with_the_projection(story: Story) -> None:
    bundle = bundle_of(story, A1, story.code)
    result = verify_bundle(bundle, log_key=LOG_VKEY, witnesses=WITNESSES, quorum=2, now=story.now)
    assert result.ok, result.to_obj()
    view = story.service.item_view(A1)
    assert result.summary is not None
    assert (result.summary.status, result.summary.custodian, result.summary.recalled) == (
        view.status,
        view.record.custodian,
        view.recalled,
    )
    # the timeline, the lot recall (not in the timeline) and the signers' registrations
    indices = [e["index"] for e in bundle["entries"]]
    assert {t.index for t in view.timeline} < set(indices) and indices[0] == 0
    assert bundle["checkpoint"].count("\u2014 ") == 3  # the log's signature, two witnesses


def test_a_claimed_item_verifies_with_the_buyers_key(story: Story) -> None:
    s = story.supply
    buyer = PrivateKey.from_seed(b"b" * 32)  # TEST ONLY
    secret = "s" * 20
    from ledger.provenance.rules.common import claim_commitment

    item = item_id(GTIN, "C1")
    s.commission("fishco", GTIN, {"list": ["C1"]}, lot="L9")
    s.ship("fishco", "shop-a", [item], "S-9")
    s.receive("shop-a", "fishco", "S-9")
    s.ok(SELL, s.event("shop-a", items=[item], claims={item: claim_commitment(item, secret)}),
         s.keys["shop-a"])  # fmt: skip
    body = {"item": item, "secret": secret, "key": buyer.public_key.to_text(),
            "event_time": s.now, "tz": "+07:00"}  # fmt: skip
    s.ok(CLAIM, body, buyer)
    story.service.checkpoint(now=s.tick())
    result = verify_bundle(bundle_of(story, item), log_key=LOG_VKEY, now=story.now)
    assert result.ok, result.to_obj()
    assert result.summary is not None and result.summary.claimed
    assert result.summary.custody == ("fishco", "shop-a") and not result.summary.recalled


def test_entries_beyond_the_latest_checkpoint_are_refused(story: Story) -> None:
    s = story.supply
    s.ship("fishco", "shop-b", [B9], "S-10")  # logged, no checkpoint signed since
    with pytest.raises(Conflict) as caught:
        bundle_of(story, B9)
    assert caught.value.code == "not_checkpointed"
    story.service.checkpoint(now=s.tick())
    assert verify_bundle(bundle_of(story, B9), log_key=LOG_VKEY, now=story.now).ok


def test_an_unknown_item_or_a_code_of_another_item_is_refused(story: Story) -> None:
    with pytest.raises(NotFound) as missing:
        bundle_of(story, item_id(GTIN, "NOPE"))
    assert missing.value.code == "unknown_item"
    with pytest.raises(InvalidInput) as mismatch:
        bundle_of(story, B9, signed_code(story.supply, "A1", lot="L7"))
    assert mismatch.value.code == "code_mismatch"
