"""Anonymous scan contexts are kept as weak signals, bounded: a flood of made-up contexts
(a rival naming a new seller on every request) keeps at most a few per coarse device and
place, and a bounded number per item, while vouched contexts are always kept."""

from __future__ import annotations

from ledger.usecases.verify import Verifier, WeakSignalGate
from ledger.verdicts import ScanContext
from tests.supply import GTIN, VERIFY_RESOLVER, Supply, ids, signed_code


def test_a_flood_of_anonymous_contexts_is_bounded(story: Supply) -> None:
    s = story
    s.commission("fishco", GTIN, {"list": ["W1"]}, lot="L7")
    verifier = Verifier(s.service, resolvers=[VERIFY_RESOLVER])
    gate = verifier.weak
    uri = signed_code(s, "W1")
    start = s.tick()
    # One device at one place names 200 different sellers: 5 kept.
    for n in range(200):
        rival = ScanContext("tiktok", f"x{n}", "", f"tiktok:@nobody{n}", "dev-1", "VN-HCM")
        verifier.verify(uri, rival, now=s.tick(1))
    # The same context again and again costs nothing and is not dropped.
    again = ScanContext("tiktok", "x0", "", "tiktok:@nobody0", "dev-1", "VN-HCM")
    dropped = gate.dropped
    verifier.verify(uri, again, now=s.tick(1))
    assert gate.dropped == dropped == 195
    # 200 devices, one context each: the item's weak contexts stop at per_item.
    for n in range(200):
        other = ScanContext("", "", "", "", f"dev-{n + 2}", "VN-HN")
        verifier.verify(uri, other, now=s.tick(1))
    # A vouched context is always kept and read by the clone rules.
    vouched = ScanContext("shopee", "live-b", "", "shopee:12345", source="platform")
    assert verifier.verify(uri, vouched, now=s.tick(1)).verdict.status == "suspect"
    verifier.flush(s.now)
    signals = s.service.store.scan_signals(ids(GTIN, "W1")[0], start)
    weak = [r for r in signals if not r.context.vouched]
    assert len(weak) == gate.per_item == 50
    assert len([r for r in weak if r.context.device == "dev-1"]) == gate.per_place == 5
    assert [r.context.seller for r in signals if r.context.vouched] == ["shop-b"]


def test_the_gate_starts_afresh_each_window() -> None:
    gate = WeakSignalGate(1_000, per_place=1, per_item=2, max_items=1)
    a, b = ScanContext(seller="a", device="d"), ScanContext(seller="b", device="d")
    assert gate.admit("i1", a, now=0) and not gate.admit("i1", b, now=10)
    assert not gate.admit("i2", a, now=20)  # max_items: a second item waits for the window
    assert gate.admit("i1", b, now=1_000) and gate.admit("i2", a, now=1_001) is False
    assert gate.dropped == 3
