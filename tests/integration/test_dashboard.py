"""Producer and seller dashboards (ledger/usecases/dashboard.py) on a small chain, on every
store: daily buckets in the producer's time zone, coarse places, clone alerts split by
evidence strength, GTIN and lot filters, and only the actor's own data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ledger.errors import InvalidInput, NotFound
from ledger.keys import PrivateKey
from ledger.provenance.events.names import RECALL, SELL
from ledger.usecases.dashboard import producer_dashboard, seller_dashboard
from ledger.verdicts.evidence import ScanContext, ScanRecord
from tests.conftest import BACKENDS, initialized, make_store
from tests.supply import GTIN, GTIN_B, OTHER_GTIN, T0, Supply, ids, standard

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
# Midnight of 2025-10-10 in Ho Chi Minh City is 17:00 UTC on the 9th.
MIDNIGHT = int(dt.datetime(2025, 10, 10, tzinfo=HCM).timestamp() * 1000)
SINCE = int(dt.datetime(2025, 10, 9, tzinfo=HCM).timestamp() * 1000)
UNTIL = int(dt.datetime(2025, 10, 12, tzinfo=HCM).timestamp() * 1000)
HOUR = 3_600_000


def item(gtin: str, serial: str) -> str:
    return ids(gtin, serial)[0]


@pytest.fixture(params=BACKENDS)
def chain(
    request: pytest.FixtureRequest, tmp_path: Path, operator_key: PrivateKey
) -> Iterator[Supply]:
    store = make_store(request.param, request, tmp_path)
    service = initialized(store, operator_key, now=T0 - 100_000)
    s = standard(service, operator_key)
    s.commission("fishco", GTIN, {"list": [f"S{n}" for n in range(1, 11)]}, lot="L1")
    s.commission("fishco", GTIN_B, {"list": ["B1", "B2"]}, lot="L2")
    s.commission("ricecorp", OTHER_GTIN, {"list": ["R1"]}, lot="L1")
    s.ship("fishco", "shop-a", ids(GTIN, "S1", "S2", "S6", "S7"), "SH-1")
    s.receive("shop-a", "fishco", "SH-1")
    s.ship("fishco", "shop-a", ids(GTIN_B, "B1"), "SH-2")  # in transit: inbound for shop-a
    s.ship("fishco", "shop-b", ids(GTIN, "S3"), "SH-3")  # in transit to shop-b, not shop-a
    s.ship("fishco", "shop-b", ids(GTIN, "S8"), "SH-4")
    s.receive("shop-b", "fishco", "SH-4")
    s.ok(SELL, s.event("shop-a", items=ids(GTIN, "S2")), s.keys["shop-a"])
    s.ok(RECALL, s.event("fishco", gtin=GTIN, scope="items", serials=["S7"], reason="leak"),
         s.keys["fishco"])  # fmt: skip
    s.listing("shop-a", "tiktok", "L-1", GTIN, quantity=2)
    s.listing("shop-b", "shopee", "L-9", GTIN, quantity=1)
    platform = ScanContext(platform="tiktok", listing_id="L-1", seller="shop-a",
                           place="VN-SG", source="platform")  # fmt: skip
    store.record_scans(
        [
            # S1 in the custodian's own listing, before and after midnight (local time)
            ScanRecord(item(GTIN, "S1"), MIDNIGHT - HOUR, platform),
            ScanRecord(item(GTIN, "S1"), MIDNIGHT + HOUR, platform),
            # S4 (fishco holds it) offered by shop-b, vouched by a platform: a clone alert
            ScanRecord(item(GTIN, "S4"), MIDNIGHT + 2 * HOUR, ScanContext(
                platform="shopee", listing_id="L-9", seller="shop-b", place="VN-HN",
                source="platform")),
            # S5 offered in a stream only an anonymous request named: a weak signal
            ScanRecord(item(GTIN, "S5"), MIDNIGHT + 3 * HOUR, ScanContext(
                platform="tiktok", stream_id="live-1", seller="shop-x", place="VN-HN")),
            # S2 was sold and is offered again (vouched)
            ScanRecord(item(GTIN, "S2"), MIDNIGHT + 4 * HOUR, ScanContext(
                platform="shopee", listing_id="L-9", seller="shop-b", source="platform")),
            # a shopper's plain scan of B1, and one outside the window
            ScanRecord(item(GTIN_B, "B1"), MIDNIGHT + 25 * HOUR, ScanContext(place="VN-SG")),
            ScanRecord(item(GTIN_B, "B1"), UNTIL + HOUR, ScanContext(place="VN-SG")),
            # another producer's item, in shop-a's listing context: never fishco's
            ScanRecord(item(OTHER_GTIN, "R1"), MIDNIGHT + HOUR, ScanContext(
                platform="tiktok", listing_id="L-1", seller="shop-a", place="CN-SH",
                source="platform")),
        ]
    )  # fmt: skip
    yield s
    store.close()


def test_producer_scans_by_local_day_places_and_gtin(chain: Supply) -> None:
    board = producer_dashboard(chain.service.store, "fishco", since=SINCE, until=UNTIL, zone=HCM)
    assert board.days == (("2025-10-09", 1), ("2025-10-10", 4), ("2025-10-11", 1))
    assert board.total == 6 and not board.truncated
    assert board.places == (("VN-SG", 3), ("VN-HN", 2))  # R1's CN-SH is not fishco's
    assert board.by_gtin == ((GTIN, 5), (GTIN_B, 1))
    # The same scans in UTC days: the one before local midnight is on the 9th either way,
    # but the UTC window starts and ends elsewhere.
    utc = producer_dashboard(chain.service.store, "fishco", since=SINCE, until=UNTIL, zone=dt.UTC)
    assert sum(n for _, n in utc.days) == 6
    assert utc.days[0][0] == "2025-10-08"  # local midnight of the 9th is the 8th in UTC


def test_clone_alerts_are_split_by_evidence(chain: Supply) -> None:
    board = producer_dashboard(chain.service.store, "fishco", since=SINCE, until=UNTIL, zone=HCM)
    vouched = {a.item_id: a for a in board.vouched_alerts}
    weak = {a.item_id: a for a in board.weak_alerts}
    assert set(vouched) == {item(GTIN, "S4"), item(GTIN, "S2")}
    assert vouched[item(GTIN, "S4")].reasons == ("seller_not_custodian",)
    assert vouched[item(GTIN, "S4")].sellers == ("shop-b",)
    assert vouched[item(GTIN, "S2")].reasons == ("sold_item_offered",)
    assert set(weak) == {item(GTIN, "S5")}
    assert weak[item(GTIN, "S5")].reasons == ("seller_not_custodian",)
    assert item(GTIN, "S1") not in vouched | weak  # the custodian's own listing


def test_filters_by_gtin_and_lot(chain: Supply) -> None:
    store = chain.service.store
    only_b = producer_dashboard(store, "fishco", since=SINCE, until=UNTIL, zone=HCM, gtin=GTIN_B)
    assert only_b.total == 1 and only_b.by_gtin == ((GTIN_B, 1),) and not only_b.vouched_alerts
    lot = producer_dashboard(store, "fishco", since=SINCE, until=UNTIL, zone=HCM, gtin=GTIN,
                             lot="L1")  # fmt: skip
    assert lot.total == 5
    none = producer_dashboard(store, "fishco", since=SINCE, until=UNTIL, zone=HCM, gtin=GTIN,
                              lot="NOPE")  # fmt: skip
    assert none.total == 0 and not none.vouched_alerts and not none.weak_alerts


def test_only_the_actors_own_data(chain: Supply) -> None:
    store = chain.service.store
    rice = producer_dashboard(store, "ricecorp", since=SINCE, until=UNTIL, zone=HCM)
    assert rice.total == 1 and rice.places == (("CN-SH", 1),)
    with pytest.raises(InvalidInput, match="not under"):
        producer_dashboard(store, "ricecorp", since=SINCE, until=UNTIL, zone=HCM, gtin=GTIN)
    with pytest.raises(NotFound):
        producer_dashboard(store, "shop-a", since=SINCE, until=UNTIL, zone=HCM)
    with pytest.raises(NotFound):
        seller_dashboard(store, "fishco", since=SINCE, until=UNTIL)
    with pytest.raises(InvalidInput):
        producer_dashboard(store, "fishco", since=UNTIL, until=SINCE, zone=HCM)
    with pytest.raises(InvalidInput):
        producer_dashboard(store, "fishco", since=0, until=400 * 86_400_000, zone=HCM)


def test_seller_stock_inbound_and_listings(chain: Supply) -> None:
    board = seller_dashboard(chain.service.store, "shop-a", since=SINCE, until=UNTIL)
    assert [(x.gtin, x.lot, x.active, x.recalled) for x in board.stock] == [(GTIN, "L1", 2, 1)]
    assert [(s.sender, s.shipment_id) for s in board.inbound] == [("fishco", "SH-2")]
    # L-1 was scanned twice for S1 and once for ricecorp's R1 in shop-a's listing context
    assert [(x.listing_id, n) for x, n in board.listings] == [("L-1", 3)]
    other = seller_dashboard(chain.service.store, "shop-b", since=SINCE, until=UNTIL)
    assert [(x.gtin, x.lot, x.active, x.recalled) for x in other.stock] == [(GTIN, "L1", 1, 0)]
    assert [s.shipment_id for s in other.inbound] == ["SH-3"]
    assert [(x.listing_id, n) for x, n in other.listings] == [("L-9", 2)]


def test_seller_alerts_split_by_evidence_and_scans_per_stream(chain: Supply) -> None:
    # shop-a's own listing: S1 in its custody, R1 another producer's item it does not hold
    mine = seller_dashboard(chain.service.store, "shop-a", since=SINCE, until=UNTIL)
    assert mine.total == 3
    assert [(a.item_id, a.reasons) for a in mine.vouched_alerts] == [
        (item(OTHER_GTIN, "R1"), ("seller_not_custodian",))
    ]
    assert mine.weak_alerts == ()
    # shop-b's listing offers S4 (fishco holds it) and S2 (sold): both vouched by a platform
    other = seller_dashboard(chain.service.store, "shop-b", since=SINCE, until=UNTIL)
    alerts = {a.item_id: a for a in other.vouched_alerts}
    assert alerts[item(GTIN, "S4")].reasons == ("seller_not_custodian",)
    assert alerts[item(GTIN, "S4")].sellers == ("shop-b",)
    assert alerts[item(GTIN, "S2")].reasons == ("sold_item_offered",)
    assert other.weak_alerts == ()
    # shop-x's stream was named only by an anonymous scan: a weak signal naming no seller
    weak = seller_dashboard(chain.service.store, "shop-x", since=SINCE, until=UNTIL)
    assert weak.vouched_alerts == ()
    assert [(a.item_id, a.reasons, a.sellers) for a in weak.weak_alerts] == [
        (item(GTIN, "S5"), ("seller_not_custodian",), ())
    ]
    assert weak.streams == (("live-1", 1),)
