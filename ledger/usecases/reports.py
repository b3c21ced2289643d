"""Shoppers' reports: keep one, and the producer's question "what did people report about
my items?". Reports live outside the log (``ledger.ports.reports``) and never change a
verdict; the HTTP route classifies each by who vouches for its context, as scans are.
"""

from __future__ import annotations

from ledger.errors import InvalidInput, NotFound
from ledger.ports.log import LogStore
from ledger.ports.reports import Report
from ledger.provenance.records import Actor

__all__ = ["MAX_LISTED_REPORTS", "file_report", "reports_for_producer"]

MAX_LISTED_REPORTS = 1_000


def file_report(store: LogStore, report: Report) -> Report:
    """Keep ``report`` (already checked by ``Report.new``)."""
    store.reports.add(report)
    return report


def reports_for_producer(
    store: LogStore, producer: str, *, since: int = 0, limit: int = 100
) -> list[Report]:
    """The reports about a registered producer's items, newest first (anonymous ones too,
    each marked ``weak``); NotFound for an actor that is not registered."""
    if not 1 <= limit <= MAX_LISTED_REPORTS:
        raise InvalidInput(f"limit must be 1 to {MAX_LISTED_REPORTS}")
    with store.reader() as view:
        if view.get(Actor, (producer,)) is None:
            raise NotFound(f"actor {producer} is not registered", code="unknown_actor")
    return list(store.reports.for_producer(producer, since=since, limit=limit))
