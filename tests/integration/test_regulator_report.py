"""Regulator reports (docs/decisions.md 45): built from a store (memory, SQLite,
PostgreSQL), verified offline with the report's files and the pinned log key alone, and
refused, with the reason, when any line, event, the statement, the checkpoint or a proof is
altered (tests/regulator.py names each tampering)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.errors import InvalidInput
from ledger.keys import PrivateKey
from ledger.log.note import NoteVerifier
from ledger.verdicts.regulator import EPCIS_FILE, LINES_FILE, REPORT_FILE, verify_report
from tests.bundles import LOG_VKEY, ORIGIN
from tests.conftest import make_store
from tests.epcis_schema import validate_epcis
from tests.regulator import TAMPERINGS, ReportStory, make_report, report_story, tampered


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def story(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReportStory]:
    store = make_store(request.param, request, tmp_path)
    yield report_story(store)
    store.close()


@pytest.fixture(scope="module")
def good() -> dict[str, bytes]:
    return make_report(report_story())


def _lines(files: dict[str, bytes]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(files[LINES_FILE].decode(), newline="")))


def test_a_report_verifies_offline_with_its_files_and_the_log_key(story: ReportStory) -> None:
    files = make_report(story)
    result = verify_report(files, log_key=LOG_VKEY)
    assert result.ok, result.to_obj()
    lines = _lines(files)
    kinds = [(line["kind"], line["log_backed"]) for line in lines]
    assert kinds == [
        ("sold", "true"),
        ("recall", "true"),
        ("listing", "true"),
        ("stream", "true"),
        ("sold", "true"),
        ("clone_alert", "false"),
    ]
    # the stream restarted after the period is out; the clone alert is A3's (two vouched
    # sellers), not A2's (anonymous contexts only)
    assert all(line["subject"] != "sess-1/live-2" for line in lines)
    assert lines[-1]["subject"].endswith("/21/A3") and lines[-1]["index"] == ""
    assert (result.lines, result.log_backed) == (6, 5)
    assert "cannot prove that no entry of the period is missing" in result.scope
    # every log-backed line names its entry: the index and leaf hash the log holds
    store = story.story.service.store
    for line in lines[:-1]:
        stored = store.entry(int(line["index"]))
        assert stored.leaf_hash.hex() == line["leaf_hash"]
        assert story.from_ms <= stored.integrated_time < story.to_ms


def test_the_epcis_file_is_a_valid_epcis_document_of_the_sales_and_recalls(
    good: dict[str, bytes],
) -> None:
    document = json.loads(good[EPCIS_FILE])
    validate_epcis(document)
    events = document["epcisBody"]["eventList"]
    assert [e.get("bizStep") for e in events].count("retail_selling") == 2
    assert [e.get("disposition") for e in events].count("recalled") == 1


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_any_alteration_fails_with_its_reason(good: dict[str, bytes], name: str) -> None:
    result = verify_report(tampered(good, name), log_key=LOG_VKEY)
    failed = {c.name for c in result.failures}
    assert not result.ok
    assert TAMPERINGS[name][1] <= failed, (name, result.to_obj())
    assert all(c.reason for c in result.failures)


def test_reasons_name_the_line_and_what_differs(good: dict[str, bytes]) -> None:
    result = verify_report(tampered(good, "csv-edited-subject"), log_key=LOG_VKEY)
    lines = next(c for c in result.failures if c.name == "lines")
    assert "line 1: subject differ" in lines.reason
    moved = verify_report(tampered(good, "csv-reordered-lines"), log_key=LOG_VKEY)
    assert "out of log order" in next(c for c in moved.failures if c.name == "lines").reason


def test_another_logs_key_refuses_the_report(good: dict[str, bytes]) -> None:
    other = NoteVerifier.from_public_key(ORIGIN, PrivateKey.from_seed(b"o" * 32).public_key)
    result = verify_report(good, log_key=other.to_vkey())
    assert {"checkpoint", "statement"} <= {c.name for c in result.failures}


def test_one_format_only_verifies_and_a_stray_file_is_refused(story: ReportStory) -> None:
    csv_only = make_report(story, frozenset({"csv"}))
    assert set(csv_only) == {LINES_FILE, REPORT_FILE}
    result = verify_report(csv_only, log_key=LOG_VKEY)
    assert result.ok, result.to_obj()
    assert next(c for c in result.checks if c.name == "epcis").passed is None
    both = make_report(story)
    smuggled = {**csv_only, EPCIS_FILE: both[EPCIS_FILE]}
    assert "file events.epcis.json" in {
        c.name for c in verify_report(smuggled, log_key=LOG_VKEY).failures
    }


def test_what_is_not_a_report_is_bad_input(good: dict[str, bytes]) -> None:
    with pytest.raises(InvalidInput) as caught:
        verify_report({LINES_FILE: good[LINES_FILE]}, log_key=LOG_VKEY)
    assert caught.value.code == "invalid_report"
    with pytest.raises(InvalidInput):
        verify_report({**good, REPORT_FILE: b'{"format": "other"}'}, log_key=LOG_VKEY)


def test_a_period_that_has_not_ended_or_is_empty_is_refused(story: ReportStory) -> None:
    from ledger.usecases.regulator import build_report
    from tests.bundles import OPERATOR

    for start, end in ((story.to_ms, story.from_ms), (story.from_ms, story.now + 60_000)):
        with pytest.raises(InvalidInput) as caught:
            build_report(
                story.story.service.prover,
                from_ms=start,
                to_ms=end,
                tz="UTC",
                from_local="",
                to_local="",
                log_key=OPERATOR,
                now=story.now,
            )
        assert caught.value.code == "bad_period"
