"""Privacy by design outside the log (docs/privacy.md, docs/decisions.md 45).

- retention: the prune removes scans, weak signals, finished webhook deliveries and past
  device salts older than their windows, and nothing of the log (size, root and audit
  unchanged); ``--dry-run`` counts and deletes nothing;
- device hashes: the same device hashes alike within a salt period and differently in the
  next; a past period's salt is forgotten by the prune;
- no IP address is stored: requests through a trusted proxy with ``X-Forwarded-For`` leave
  no address in any table of the database nor in the access log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from api.http.app import create_app
from api.proxies import parse_trusted_proxies
from api.settings import Settings
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keys import PrivateKey
from ledger.storage.sql.log import SqlStore
from ledger.usecases.retention import (
    DAY_MS,
    DeviceSalts,
    Retention,
    coarse_place,
    cutoffs,
    prune,
)
from ledger.usecases.service import LogService, now_ms
from ledger.verdicts.evidence import ANONYMOUS, PLATFORM, ScanContext, ScanRecord
from tests.conftest import SQL_BACKENDS, initialized, make_store
from tests.supply import GTIN, standard

NOW = 1_790_000_000_000
RETENTION = Retention(scans=30 * DAY_MS, weak_signals=7 * DAY_MS, webhook_deliveries=30 * DAY_MS)


@pytest.fixture(params=SQL_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    found = make_store(request.param, request, tmp_path)
    yield found
    found.close()


def _count(store: SqlStore, table: str, where: str = "1 = 1") -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE {where}")).scalar_one())  # noqa: S608


def _delivery(store: SqlStore, delivery_id: str, status: str, created: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO platform_deliveries (delivery_id, webhook_id, event_id, event_type, "
                "payload, status, attempts, next_attempt, created, last_code, last_error) "
                "VALUES (:d, 'wh', :d, 'item.recalled', '{}', :s, 1, 0, :c, 200, '')"
            ),
            {"d": delivery_id, "s": status, "c": created},
        )
        conn.execute(
            text(
                "INSERT INTO platform_attempts (delivery_id, attempt, time, ok, status_code, "
                "error, duration_ms) VALUES (:d, 1, :c, :ok, 200, '', 5)"
            ),
            {"d": delivery_id, "c": created, "ok": status == "delivered"},
        )


def _shopper_report(store: SqlStore, report_id: str, time: int) -> None:
    from ledger.storage.sql.reports import REPORT_FIELDS

    values = dict.fromkeys(REPORT_FIELDS, "") | {"report_id": report_id, "time": time}
    values["contact"] = "+84 90 000 0000"  # TEST ONLY: personal data a shopper may leave
    columns = ", ".join(REPORT_FIELDS)
    marks = ", ".join(f":{name}" for name in REPORT_FIELDS)
    with store.engine.begin() as conn:
        conn.execute(text(f"INSERT INTO item_reports ({columns}) VALUES ({marks})"), values)  # noqa: S608


def _fill(store: SqlStore, operator_key: PrivateKey) -> LogService:
    service = initialized(store, operator_key, now=NOW - 90 * DAY_MS)
    service.log_key = operator_key
    s = standard(service, operator_key, now=NOW - 90 * DAY_MS + 1_000)
    s.commission("fishco", GTIN, {"list": ["P1", "P2"]}, lot="L1")
    service.checkpoint(now=s.tick())
    item = f"01/{GTIN}/21/P1"
    vouched = ScanContext("tiktok", "live-1", "", "shop-a", "dev1", "VN-SG", PLATFORM)
    weak = ScanContext("", "", "", "", "dev2", "VN-HN", ANONYMOUS)
    store.record_scans(
        [
            ScanRecord(item, NOW - 40 * DAY_MS, vouched),  # past the 30 days of scans
            ScanRecord(item, NOW - 10 * DAY_MS, weak),  # past the 7 days of weak signals
            ScanRecord(
                item, NOW - 10 * DAY_MS, ScanContext("shopee", "", "X", "shop-b", source=PLATFORM)
            ),
            ScanRecord(
                item, NOW - 1 * DAY_MS, ScanContext("", "", "", "", "dev3", "VN", ANONYMOUS)
            ),
        ]
    )
    _delivery(store, "old-done", "delivered", NOW - 40 * DAY_MS)
    _delivery(store, "old-pending", "pending", NOW - 40 * DAY_MS)  # still due: kept
    _delivery(store, "new-done", "delivered", NOW - DAY_MS)
    for n, when in enumerate((NOW - 100 * DAY_MS, NOW - 10 * DAY_MS)):  # 90 days' window
        _shopper_report(store, f"r{n}", when)
    for period in (NOW // DAY_MS - 2, NOW // DAY_MS - 1, NOW // DAY_MS):
        store.device_salt(period, bytes([period % 256]) * 16)
    return service


def test_pruning_removes_old_data_outside_the_log_and_nothing_of_the_log(
    store: SqlStore, operator_key: PrivateKey
) -> None:
    service = _fill(store, operator_key)
    size, root = store.head().size, store.head().root()
    entries, nodes = store.counts()
    assert service.audit().ok

    counted = prune(store, RETENTION, now=NOW, dry_run=True)
    assert counted == {
        "scans": 2,
        "weak_signals": 2,
        "webhook_deliveries": 2,
        "shopper_reports": 1,
        "device_salts": 2,
    }
    assert _count(store, "scan_records") == 4  # a dry run deletes nothing
    assert _count(store, "scan_salts") == 3

    pruned = prune(store, RETENTION, now=NOW)
    assert pruned == counted
    assert _count(store, "scan_records") == 2 and _count(store, "scan_contexts") == 2
    assert _count(store, "scan_records", f"time < {NOW - 30 * DAY_MS}") == 0
    assert _count(store, "scan_records", f"source = 'anonymous' AND time < {NOW - 7 * DAY_MS}") == 0
    kept = _count(store, "platform_deliveries", "delivery_id IN ('old-pending', 'new-done')")
    assert kept == 2 and _count(store, "platform_deliveries") == 2
    assert _count(store, "platform_attempts") == 2
    assert _count(store, "scan_salts") == 1  # the current period's only
    assert _count(store, "item_reports") == 1  # the report of 10 days ago stays

    # the log is untouched: same size, root, rows; the audit passes
    assert (store.head().size, store.head().root()) == (size, root)
    assert store.counts() == (entries, nodes)
    report = service.audit()
    assert report.ok, report.findings
    assert prune(store, RETENTION, now=NOW) == dict.fromkeys(counted, 0)


def test_a_window_of_zero_keeps_that_kind(store: SqlStore, operator_key: PrivateKey) -> None:
    _fill(store, operator_key)
    keep_scans = Retention(
        scans=0, weak_signals=7 * DAY_MS, webhook_deliveries=0, shopper_reports=0
    )
    assert set(cutoffs(keep_scans, NOW)) == {"weak_signals", "device_salts"}
    prune(store, keep_scans, now=NOW)
    assert _count(store, "scan_records", "source = 'platform'") == 2
    assert _count(store, "platform_deliveries") == 3


def test_device_hashes_rotate_with_the_period_and_old_salts_are_forgotten(
    store: SqlStore,
) -> None:
    period = 6 * 3_600_000
    salts = DeviceSalts(store, period)
    phone = "Mozilla/5.0 (iPhone)|vi-VN"
    first = salts.hash(phone, NOW)
    assert salts.hash(phone, NOW + 1_000) == first  # same period, same hash
    assert salts.hash("Mozilla/5.0 (Android)|vi-VN", NOW) != first  # another device
    # another worker (a second DeviceSalts over the same database) agrees
    assert DeviceSalts(store, period).hash(phone, NOW) == first
    later = salts.hash(phone, NOW + period)
    assert later != first  # the next period: unlinkable
    assert len(first) == 12 and phone not in first
    # the prune forgets the past period's salt: it can no longer be recomputed
    old = (NOW // period).to_bytes(8, "big")
    prune(store, Retention(salt_period=period), now=NOW + period)
    assert store.device_salt(NOW // period, old) == old  # a fresh one, not the forgotten salt
    assert DeviceSalts(store, period).hash(phone, NOW) != first


def test_a_pepper_changes_every_hash(store: SqlStore) -> None:
    plain = DeviceSalts(store, DAY_MS).hash("ua|vi", NOW)
    assert DeviceSalts(store, DAY_MS, pepper=b"pepper").hash("ua|vi", NOW) != plain


# --- no IP address anywhere ---------------------------------------------------------------

ADDRESSES = ("203.0.113.77", "2001:db8::77", "198.51.100.9")


def _all_text(store: SqlStore) -> str:
    """Every value of every table, as text."""
    found = []
    with store.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                found.extend(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
    return "\n".join(found)


def test_no_ip_address_is_stored_nor_logged(
    tmp_path: Path, operator_key: PrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'privacy.db'}")
    start = now_ms()
    service = initialized(store, operator_key, now=start - 10_000)
    service.log_key = operator_key
    s = standard(service, operator_key, now=start)
    s.commission("fishco", GTIN, {"list": ["Q1"]}, lot="L1")
    code = issue_uri(CodeIdentity(GTIN, "Q1", "L1"), s.keys["fishco"], "https://vt.example.test")
    settings = Settings(
        home=tmp_path,
        key_file=tmp_path / "absent.key",
        resolver="https://vt.example.test",
        rate_limit_per_minute=0,
        trusted_proxies=parse_trusted_proxies("10.0.0.0/8"),
    )
    app = create_app(settings, service=service)
    caplog.set_level(logging.INFO, logger="tracemark.access")
    with TestClient(app, client=("10.0.0.5", 40000)) as client:
        for address, place in zip(ADDRESSES, ("VN-SG-Q7", "w3gvk1td8ycf", "VN"), strict=True):
            headers = {"X-Forwarded-For": address, "User-Agent": f"phone {address}"}
            answer = client.post(
                "/v1/verify",
                json={"code": code, "context": {"place": place}},
                headers=headers,
            )
            assert answer.status_code == 200, answer.text
            assert client.get("/v1/log/checkpoint", headers=headers).status_code == 200
        app.state.tracemark.verifier.flush(now_ms())
    assert _count(store, "scan_records") == len(ADDRESSES)  # the scans were recorded
    with store.engine.connect() as conn:
        places = {row[0] for row in conn.execute(text("SELECT place FROM scan_records"))}
    assert places == {"VN-SG", "", "VN"}  # coarse only: a district and a geohash cut or dropped
    stored = _all_text(store)
    logged = "\n".join(f"{r.getMessage()} {getattr(r, 'client', '')}" for r in caplog.records)
    assert "client=c-" in logged  # a rotating hash stands for the client
    for address in (*ADDRESSES, "10.0.0.5"):
        assert address not in stored, f"{address} is stored"
        assert address not in logged, f"{address} is in the access log"
    store.close()


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("VN-SG", "VN-SG"),
        ("vn-hcm", "VN-HCM"),
        ("VN", "VN"),
        ("VN-SG-Q7", "VN-SG"),
        ("US-CA-94016", "US-CA"),
        ("w3gvk1td8ycf", ""),
        ("10.77,106.70", ""),
        ("", ""),
    ],
)
def test_only_a_coarse_place_is_kept(given: str, kept: str) -> None:
    assert coarse_place(given) == kept
