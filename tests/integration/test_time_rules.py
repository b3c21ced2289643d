"""Time rules at admission (docs/format.md, Time): an event may not be dated before the
latest event of an item it touches (give or take the clock tolerance), nor more than the
back-dating window before the log's clock; a replay never re-checks them. On memory,
SQLite and PostgreSQL."""

from __future__ import annotations

from ledger.log.entries import LogEntry
from ledger.provenance.events.names import SHIP
from ledger.provenance.projection import replay
from ledger.provenance.records import Item
from ledger.provenance.rules.common import MAX_SKEW_MS, Admission
from ledger.usecases.service import LogService
from tests.supply import GTIN, Supply, ids, sscc_for

HOUR = 3_600_000


def item(s: Supply, ident: str) -> Item:
    with s.service.store.reader() as view:
        found = view.get(Item, (ident,))
    assert found is not None, ident
    return found


def ship_at(s: Supply, when: int, shipment: str, serial: str = "T1") -> dict[str, object]:
    body = s.event("fishco", shipment=shipment, to="distri", items=ids(GTIN, serial))
    body["event_time"] = when
    return body


def test_an_event_dated_before_the_items_commission_is_refused(story: Supply) -> None:
    s = story
    s.commission("fishco", GTIN, {"list": ["T1"]}, lot="L1")
    commissioned = item(s, ids(GTIN, "T1")[0])
    assert commissioned.event_time > 0
    key = s.keys["fishco"]
    # The case: a shipment dated 2020 for an item commissioned now.
    refused = s.refused("event_backdated", SHIP, ship_at(s, 1_577_811_600_000, "S0"), key)
    assert "2019-12-31T17:00:00Z" in refused.message  # 2020-01-01T00:00:00+07:00
    # One hour before its commission (inside the 72 h window): still before the item's story.
    early = commissioned.event_time - HOUR
    refused = s.refused("event_backdated", SHIP, ship_at(s, early, "S1"), key)
    assert "before the latest event recorded for" in refused.message
    # Within the clock tolerance of two devices: accepted.
    s.ok(SHIP, ship_at(s, commissioned.event_time - MAX_SKEW_MS + 1, "S2"), key)


def test_an_event_dated_before_the_latest_event_of_an_item_is_refused(story: Supply) -> None:
    s = story
    s.commission("fishco", GTIN, {"list": ["T1"]}, lot="L1")
    s.ship("fishco", "distri", ids(GTIN, "T1"), "S1")
    shipped = item(s, ids(GTIN, "T1")[0]).event_time
    # The receiver's clock says the goods arrived an hour before they were shipped.
    body = s.event("distri", shipment="S1", **{"from": "fishco"})
    body["event_time"] = shipped - HOUR
    s.refused("event_backdated", "event.receive", body, s.keys["distri"])
    body["event_time"] = shipped + 1
    s.ok("event.receive", body, s.keys["distri"])
    after = item(s, ids(GTIN, "T1")[0])
    assert after.event_time == shipped + 1


def test_items_in_a_container_take_the_containers_events(story: Supply) -> None:
    s = story
    s.commission("fishco", GTIN, {"list": ["T1", "T2"]}, lot="L1")
    case = f"00/{sscc_for(7)}"
    s.pack("fishco", case, ids(GTIN, "T1", "T2"))
    packed = item(s, case)
    s.ship("fishco", "distri", [case], "S1")
    inner = item(s, ids(GTIN, "T2")[0])
    assert inner.event_time > packed.event_time


def test_the_back_dating_window_is_a_setting(story: Supply) -> None:
    s = story
    # An actor registration is not an item event but is still dated: the window applies.
    s.commission("fishco", GTIN, {"list": ["T1"]}, lot="L1")
    stale = s.event("fishco", gtin=GTIN, serials={"list": ["T2"]}, lot="L1")
    stale["event_time"] = s.now - 73 * HOUR
    refused = s.refused("event_backdated", "event.commission", stale, s.keys["fishco"])
    assert "72 h before the log's clock" in refused.message
    stale["event_time"] = s.now - 71 * HOUR
    s.ok("event.commission", stale, s.keys["fishco"])
    # A server that allows one hour refuses what the default admits.
    strict = LogService(s.service.store, log_key=s.operator, admission=Admission(HOUR))
    s.service = strict
    two_hours = s.event("fishco", gtin=GTIN, serials={"list": ["T3"]}, lot="L1")
    two_hours["event_time"] = s.now - 2 * HOUR
    refused = s.refused("event_backdated", "event.commission", two_hours, s.keys["fishco"])
    assert "1 h before" in refused.message


def test_replay_does_not_recheck_admission_rules(story: Supply) -> None:
    """A log admitted under a wider window (or before the rules) replays and audits clean."""
    s = story
    s.service = LogService(
        s.service.store, log_key=s.operator, admission=Admission(max_backdate_ms=10_000 * HOUR)
    )
    s.commission("fishco", GTIN, {"list": ["T1"]}, lot="L1")
    old = s.event("fishco", gtin=GTIN, serials={"list": ["T9"]}, lot="L1")
    old["event_time"] = s.now - 1000 * HOUR
    s.ok("event.commission", old, s.keys["fishco"])
    stored = s.service.store.entries(0, s.service.store.size())
    # replay raises ReplayFailure if a rule refuses an entry
    replay(LogEntry.from_leaf(e.index, e.data) for e in stored)
    s.service.checkpoint(now=s.tick())
    report = LogService(s.service.store).audit()
    assert report.ok, report.findings
