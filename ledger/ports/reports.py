"""The reports port: what shoppers report about an item, kept outside the log.

A report is a person's word, not evidence of custody: it never enters the log, never
changes an entry and never changes a verdict (DESIGN.md, section 5). It is classified by
who vouches for the context it was made in, exactly as scans are
(``ledger.verdicts.evidence``): ``platform``, ``session``, ``overlay`` or ``anonymous``;
an anonymous report is a weak signal for the producer. No network address is kept.

``Report.new`` checks every field (parse, don't validate); ``ReportStore`` is what the
reports route and the producer's query need (``ledger.storage.sql.reports`` is the table,
``MemoryReportStore`` the fake with the same contract).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger.errors import InvalidInput
from ledger.verdicts.evidence import SOURCES, VOUCHED

__all__ = [
    "MAX_CONTACT",
    "MAX_REPORT_TEXT",
    "REPORT_REASONS",
    "Report",
    "ReportStore",
]

#: What a shopper may report (the form's choices; docs/api.md, Reports).
REPORT_REASONS = (
    "counterfeit",  # I think this is a fake
    "seller_mismatch",  # the seller or stream is not who the page says holds it
    "recalled_on_sale",  # a recalled product is still being sold
    "damaged",  # the product or its seal is damaged
    "other",
)
MAX_REPORT_TEXT = 500
MAX_CONTACT = 200
_MAX_ID = 200


def _bounded(name: str, value: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"{name} is limited to {limit} characters", code="report_too_long")
    if any(ord(c) < 0x20 and c not in "\n\t" for c in value) or "\x7f" in value:
        raise InvalidInput(f"{name} must not contain control characters", code="invalid_report")
    return value


@dataclass(frozen=True, slots=True)
class Report:
    """One report: which item (and its producer), why, what the verdict was when it was
    made, the context it was made in and who vouches for it."""

    report_id: str
    time: int  # ms since the epoch
    item_id: str  # "" when the code named no item the ledger knows
    gtin: str
    producer: str  # actor id of the item's producer ("" when unknown)
    status: str  # the verdict the reporter was shown
    reason: str  # one of REPORT_REASONS
    text: str
    contact: str
    platform: str = ""
    stream_id: str = ""
    listing_id: str = ""
    seller: str = ""
    source: str = "anonymous"
    session: str = ""

    @property
    def weak(self) -> bool:
        """An anonymous report: a weak signal, never evidence for anyone else."""
        return self.source not in VOUCHED

    @classmethod
    def new(
        cls,
        report_id: str,
        time: int,
        *,
        item_id: str,
        gtin: str,
        producer: str,
        status: str,
        reason: str,
        text: str = "",
        contact: str = "",
        platform: str = "",
        stream_id: str = "",
        listing_id: str = "",
        seller: str = "",
        source: str = "anonymous",
        session: str = "",
    ) -> Report:
        """A checked report; InvalidInput for an unknown reason or source, an over-long or
        control-character text or contact."""
        if reason not in REPORT_REASONS:
            raise InvalidInput(
                f"reason must be one of {', '.join(REPORT_REASONS)}", code="invalid_report"
            )
        if source not in SOURCES:
            raise InvalidInput(f"unknown evidence source {source!r}", code="invalid_report")
        for name, value in (("item", item_id), ("producer", producer), ("seller", seller)):
            _bounded(name, value, _MAX_ID)
        return cls(
            report_id,
            time,
            item_id,
            gtin,
            producer,
            status,
            reason,
            _bounded("text", text, MAX_REPORT_TEXT),
            _bounded("contact", contact, MAX_CONTACT),
            platform,
            stream_id,
            listing_id,
            seller,
            source,
            session,
        )


class ReportStore(Protocol):
    """What the reports route and the producer's query need from storage."""

    def add(self, report: Report) -> None:
        """Keep one report (its id is new)."""
        ...

    def for_producer(self, producer: str, *, since: int = 0, limit: int = 100) -> Sequence[Report]:
        """The producer's reports made at or after ``since`` (ms), newest first."""
        ...
