"""What a Verifier keeps per snapshot never outlives it (docs/decisions.md, 21).

The Verifier keeps a code's check and its item's state per log size, and the item's
timeline and proof per log size and checkpoint size; the API keeps their JSON under the
same keys. Each test changes the ledger under one long-lived Verifier (or app) and checks
that the next verify says what a fresh one says: on memory, SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from api.http.verification import verify_body
from api.results import result_json
from ledger.keys import PrivateKey
from ledger.log.entries import NOTICE
from ledger.provenance.events.names import (
    CANCEL,
    CLAIM,
    DECOMMISSION,
    KEY_REVOKE,
    LISTING_CLOSE,
    RECALL,
    SELL,
    UNPACK,
)
from ledger.provenance.rules.custody import claim_commitment
from ledger.usecases.verify import ScanBuffer, Verifier, VerifyResult, _PerSnapshot
from ledger.verdicts import ScanContext, ScanRecord
from tests.supply import GTIN, TZ, VERIFY_RESOLVER, Supply, ids, signed_code, sscc_for

RESOLVER = VERIFY_RESOLVER
AT_SHOP_A = ScanContext(platform="tiktok", listing_id="", stream_id="live-a", seller="shop-a")


@pytest.fixture
def supply(story: Supply) -> Supply:
    story.commission("fishco", GTIN, {"list": ["V1", "V2"]}, lot="L7")
    return story


def code(s: Supply, serial: str) -> str:
    return signed_code(s, serial)


def fresh(s: Supply, uri: str, context: ScanContext) -> VerifyResult:
    """What a Verifier that never saw this ledger before says (nothing recorded)."""
    return Verifier(s.service, resolvers=[RESOLVER]).verify(
        uri, context, now=s.now, record=False, detail=True
    )


def same(kept: VerifyResult, new: VerifyResult) -> bool:
    return result_json(kept) == result_json(new)


def test_each_append_is_seen_by_the_next_verify(supply: Supply) -> None:
    s = supply
    verifier = Verifier(s.service, resolvers=[RESOLVER])
    uri = code(s, "V1")

    def check(context: ScanContext = AT_SHOP_A) -> VerifyResult:
        s.tick()
        result = verifier.verify(uri, context, now=s.now, record=False, detail=True)
        assert same(result, fresh(s, uri, context))
        return result

    assert check().verdict.codes == ("seller_not_custodian",)  # fishco holds it
    s.ship("fishco", "shop-a", ids(GTIN, "V1"), "S1")
    assert check().verdict.status == "genuine"  # on its way to shop-a
    s.receive("shop-a", "fishco", "S1")
    held = check()
    assert held.verdict.codes == ("custody_verified",)
    assert held.view is not None
    steps = [t.type for t in held.view.timeline]
    assert steps == ["event.commission", "event.ship", "event.receive"]
    s.ok(SELL, s.event("shop-a", items=ids(GTIN, "V1")), s.keys["shop-a"])
    assert "sold_item_offered" in check().verdict.codes
    s.ok(RECALL, s.event("fishco", gtin=GTIN, scope="lot", lot="L7", reason="x"), s.keys["fishco"])
    assert check(ScanContext()).verdict.status == "recalled"
    verifier.flush(s.now)


def test_the_proof_follows_the_latest_checkpoint_even_at_the_same_log_size(
    supply: Supply,
) -> None:
    s = supply
    verifier = Verifier(s.service, resolvers=[RESOLVER])
    uri = code(s, "V2")
    first = s.service.checkpoint(now=s.tick())
    before = verifier.verify(uri, ScanContext(), now=s.now, record=False, detail=True)
    assert before.proof is not None and before.proof.tree_size == first.tree_size

    s.ship("fishco", "distri", ids(GTIN, "V2"), "S9")  # after the checkpoint: no proof of it
    unproven = verifier.verify(uri, ScanContext(), now=s.tick(), record=False, detail=True)
    assert unproven.proof is None and unproven.view is not None
    assert unproven.view.timeline[-1].type == "event.ship"
    size = s.service.store.head().size

    second = s.service.checkpoint(now=s.tick())  # the log size stays; the checkpoint grows
    assert second.tree_size == size == s.service.store.head().size
    after = verifier.verify(uri, ScanContext(), now=s.now, record=False, detail=True)
    assert after.proof is not None and after.proof.tree_size == second.tree_size
    assert after.checkpoint == second.note
    assert after.snapshot == (size, second.tree_size)
    assert same(after, fresh(s, uri, ScanContext()))


def test_the_api_json_is_result_json_across_snapshots(supply: Supply) -> None:
    """verify_body keeps the JSON of the item, its provenance and proof per code and
    snapshot: it must always equal result_json, whatever the verdict and the ledger."""
    s = supply
    verifier = Verifier(s.service, resolvers=[RESOLVER])
    tails: dict[Any, bytes] = {}
    s.service.checkpoint(now=s.tick())
    genuine, forged = code(s, "V1"), code(s, "V1").replace("V1", "V2")
    contexts = [ScanContext(), AT_SHOP_A, ScanContext(platform="shopee", stream_id="b")]

    def agree() -> None:
        for uri in (genuine, forged, code(s, "NEVER"), "https://vt.example.vn/nonsense"):
            for context in contexts:
                s.tick()
                result = verifier.verify(uri, context, now=s.now, detail=True)
                assert json.loads(verify_body(result, uri, tails)) == result_json(result)

    agree()
    s.ship("fishco", "shop-a", ids(GTIN, "V1"), "S1")
    s.receive("shop-a", "fishco", "S1")
    agree()
    s.service.checkpoint(now=s.tick())
    agree()
    assert len(tails) > 0  # detailed results were kept, and stayed right
    verifier.flush(s.now)


def test_pending_scans_are_found_by_item_until_written() -> None:
    buffer = ScanBuffer(max_items=3, max_age_ms=10_000)
    a, b = ScanContext(seller="a"), ScanContext(seller="b")
    assert buffer.add(ScanRecord("i1", 100, a)) is None
    assert buffer.add(ScanRecord("i2", 200, b)) is None
    batch = buffer.add(ScanRecord("i1", 300, b))
    assert batch is not None and len(batch) == 3  # full: handed out for writing
    buffer.add(ScanRecord("i1", 400, a))  # the next batch
    assert buffer.pending("i1", since=0) == [
        ScanRecord("i1", 100, a),
        ScanRecord("i1", 300, b),
        ScanRecord("i1", 400, a),
    ]
    assert buffer.pending("i1", since=300) == [ScanRecord("i1", 300, b), ScanRecord("i1", 400, a)]
    assert buffer.pending("i2", since=0) == [ScanRecord("i2", 200, b)]
    buffer.written(batch)  # in the database now: the buffer no longer shows it
    assert buffer.pending("i1", since=0) == [ScanRecord("i1", 400, a)]
    assert buffer.pending("i2", since=0) == []
    rest = buffer.take()
    assert rest == [ScanRecord("i1", 400, a)]
    assert buffer.pending("i1", since=0) == rest  # still pending while being written
    buffer.written(rest)
    assert buffer.pending("i1", since=0) == []


def test_a_scan_written_while_a_verify_reads_is_not_missed(
    supply: Supply, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The background writer can commit a batch (and drop it from the buffer) between the
    verify's read of the store and its read of the buffer: the scan must be in one of them."""
    s = supply
    verifier = Verifier(s.service, resolvers=[RESOLVER])
    uri = code(s, "V1")
    vouched = ScanContext("tiktok", "live-a", "", "shop-a", source="platform")
    first = verifier.verify(uri, vouched, now=s.tick())
    assert first.verdict.status == "suspect"  # shop-a does not hold V1 (fishco does)
    store = s.service.store
    read = store.recent_scans

    def read_then_writer_commits(item: str, since: int) -> list[ScanRecord]:
        seen = read(item, since)  # the read's snapshot: before the commit
        verifier.flush(s.now)  # the writer commits the batch and drops it from the buffer
        return seen

    monkeypatch.setattr(store, "recent_scans", read_then_writer_commits)
    plain = verifier.verify(uri, ScanContext(), now=s.tick(), record=False)
    assert "multiple_sellers" in plain.verdict.codes
    monkeypatch.undo()
    verifier.flush(s.now)


def test_kept_values_carried_past_each_kind_of_entry_match_a_fresh_verifier(
    supply: Supply,
) -> None:
    """Entries that only touch items let a Verifier keep what it read of other items
    (decisions 21): after each append below, every code, in every context, must get what a
    Verifier that never saw the ledger says, whether its item was touched or not."""
    s = supply
    s.commission("fishco", GTIN, {"list": ["W1", "W2", "W3", "W4"]}, lot="L8")
    s.service.checkpoint(now=s.tick())
    verifier = Verifier(s.service, resolvers=[RESOLVER])
    uris = [code(s, serial) for serial in ("V1", "V2", "W1", "W2", "W3", "W4", "NEVER")]
    uris.append(code(s, "V1").replace("V1", "V2"))  # forged
    contexts = [ScanContext(), AT_SHOP_A, ScanContext(platform="tiktok", listing_id="L-9")]
    case = f"00/{sscc_for(77)}"
    secret = "buyer-secret-0123456789"
    buyer = PrivateKey.from_seed(b"b" * 32)  # TEST ONLY
    w1, w2, w3, w4 = ids(GTIN, "W1", "W2", "W3", "W4")
    steps: list[tuple[str, Callable[[], object]]] = [
        ("pack", lambda: s.pack("fishco", case, [w1, w2])),
        ("ship a case", lambda: s.ship("fishco", "shop-a", [case], "S1")),
        ("receive", lambda: s.receive("shop-a", "fishco", "S1")),
        ("unpack", lambda: s.ok(UNPACK, s.event("shop-a", parent=case), s.keys["shop-a"])),
        ("listing", lambda: s.listing("shop-a", "tiktok", "L-9", GTIN, quantity=1)),
        ("ship", lambda: s.ship("fishco", "distri", [w3], "S2")),
        ("cancel", lambda: s.ok(CANCEL, s.event("fishco", shipment="S2"), s.keys["fishco"])),
        (
            "sell",
            lambda: s.ok(
                SELL,
                s.event("shop-a", items=[w1], claims={w1: claim_commitment(w1, secret)}),
                s.keys["shop-a"],
            ),
        ),
        (
            "claim",
            lambda: s.ok(
                CLAIM,
                {
                    "item": w1,
                    "secret": secret,
                    "key": buyer.public_key.to_text(),
                    "event_time": s.now,
                    "tz": TZ,
                },
                buyer,
            ),
        ),
        (
            "decommission",
            lambda: s.ok(
                DECOMMISSION, s.event("fishco", items=[w4], reason="destroyed"), s.keys["fishco"]
            ),
        ),
        ("notice", lambda: s.ok(NOTICE, {"title": "policy"}, s.operator)),
        (
            "listing closed",
            lambda: s.ok(
                LISTING_CLOSE,
                {"actor": "shop-a", "platform": "tiktok", "listing_id": "L-9", "event_time": s.now},
                s.keys["shop-a"],
            ),
        ),
        (
            "recall of items",
            lambda: s.ok(
                RECALL,
                s.event("fishco", gtin=GTIN, scope="items", serials=["W2"], reason="x"),
                s.keys["fishco"],
            ),
        ),
        ("checkpoint", lambda: s.service.checkpoint(now=s.tick())),
        (
            "recall of a lot",
            lambda: s.ok(
                RECALL,
                s.event("fishco", gtin=GTIN, scope="lot", lot="L7", reason="y"),
                s.keys["fishco"],
            ),
        ),
        (
            "key revoked",
            lambda: s.ok(
                KEY_REVOKE,
                {
                    "actor": "fishco",
                    "key_id": s.keys["fishco"].public_key.key_id,
                    "effective_time": s.now,
                    "event_time": s.now,
                },
                s.operator,
            ),
        ),
    ]
    seen: set[str] = set()
    for name, append in [("start", lambda: None), *steps]:
        append()
        for uri in uris:
            for context in contexts:
                s.tick()
                kept = verifier.verify(uri, context, now=s.now, record=False, detail=True)
                new = fresh(s, uri, context)
                assert result_json(kept) == result_json(new), (name, uri, context)
                seen.add(kept.verdict.status)
    assert {"genuine", "suspect", "counterfeit", "recalled"} <= seen


def test_what_is_kept_never_goes_back_nor_carries_across_a_move_it_did_not_see() -> None:
    """The rules that keep threads from leaving a stale value (the event loop and the
    batch threads verify at once): the kept snapshot only moves forward, and a carry
    worked out from one snapshot is not applied to another."""
    kept: _PerSnapshot[int, str] = _PerSnapshot(-1)
    kept.put(10, "a", "a@10")
    kept.put(10, "b", "b@10")
    kept.put(9, "c", "c@9")  # from an older snapshot: returned by its reader, never kept
    assert (kept.at, kept.get(10, "c"), kept.get(9, "c")) == (10, None, None)
    kept.carry(10, 12, lambda v: v != "b@10")  # entries 10 and 11 touched b only
    assert (kept.at, kept.get(12, "a"), kept.get(12, "b")) == (12, "a@10", None)
    kept.carry(10, 11, lambda v: True)  # worked out from 10, but 12 is kept: nothing to do
    assert (kept.at, kept.get(12, "a")) == (12, "a@10")
    kept.put(11, "a", "a@11")  # a late writer from an older snapshot: no going back
    assert (kept.at, kept.get(12, "a")) == (12, "a@10")
    kept.carry(11, 14, lambda v: True)  # worked out from 11, but 12 moved in between
    assert (kept.at, kept.get(14, "a")) == (14, None)  # so nothing is carried
    kept.put(14, "d", "d@14")
    kept.carry(14, 15, None)  # an entry that is not item-scoped: everything goes
    assert (kept.at, kept.get(15, "d")) == (15, None)


def test_verifies_on_many_threads_while_the_log_grows_agree_with_a_fresh_verifier(
    supply: Supply,
) -> None:
    """A smoke test of the locking: threads verify while another appends custody entries;
    afterwards every code in every context gets what a fresh Verifier says."""
    s = supply
    serials = [f"M{n}" for n in range(12)]
    s.commission("fishco", GTIN, {"list": serials}, lot="L7")
    verifier = Verifier(s.service, resolvers=[RESOLVER])
    uris = [code(s, serial) for serial in serials]
    stop = threading.Event()
    failures: list[BaseException] = []

    def verify_loop(offset: int) -> None:
        try:
            while not stop.is_set():
                for uri in uris[offset:] + uris[:offset]:
                    verifier.verify(uri, AT_SHOP_A, now=s.now, record=False, detail=True)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=verify_loop, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    try:
        for n, serial in enumerate(serials[:8]):
            s.ship("fishco", "shop-a", ids(GTIN, serial), f"T{n}")
            s.receive("shop-a", "fishco", f"T{n}")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    for uri in uris:
        kept = verifier.verify(uri, AT_SHOP_A, now=s.tick(), record=False, detail=True)
        assert same(kept, fresh(s, uri, AT_SHOP_A)), uri
