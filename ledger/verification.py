"""Scan-verify: one code and its context in, an explained verdict with provenance out.

``Verifier.verify(uri, context, now=...)`` checks the producer's signature against the
ledger's keys, reads the item's state, resolves the seller of the listing or stream,
collects recent scans of the serial, and runs the pure ``decide``. It records the scan
outside the log. Reads are O(1) projection lookups plus one signature check, whatever the
size of the ledger; scans are buffered and written in batches.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from ledger.codes import check_code
from ledger.decide import Evidence, ItemFacts, KeyFacts, ScanContext, ScanRecord, Thresholds, decide
from ledger.errors import TracemarkError
from ledger.queries import ItemView, LedgerDirectory, TimelineStep, item_view
from ledger.records import Handle, Item, KeyRecord, Listing
from ledger.rules import is_recalled
from ledger.service import InclusionProof, LogService
from ledger.storage.port import ProjectionReader
from ledger.verdict import Verdict

__all__ = ["ScanBuffer", "Verifier", "VerifyResult", "device_hash"]

RETENTION_MS = 30 * 24 * 3_600_000
log = logging.getLogger("tracemark.verify")
_MAX_CACHED_STEPS = 50_000


def device_hash(salt: bytes, client: str) -> str:
    """A coarse, salted, truncated hash of client hints: counts distinct devices, names none."""
    return hashlib.sha256(salt + client.encode("utf-8", "replace")).hexdigest()[:12]


@dataclass
class ScanBuffer:
    """Scans waiting to be written: flushed in batches (size or age), and at close.

    A batch handed out for writing stays visible to ``pending`` until ``written`` is
    called, so the clone rules never miss a scan that is on its way to the database."""

    max_items: int = 256
    max_age_ms: int = 1_000
    records: list[ScanRecord] = field(default_factory=list)
    writing: list[list[ScanRecord]] = field(default_factory=list)
    oldest: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: ScanRecord) -> list[ScanRecord] | None:
        """Add one; returns the batch to write when it is time to flush."""
        with self.lock:
            if not self.records:
                self.oldest = record.time
            self.records.append(record)
            if len(self.records) >= self.max_items or record.time - self.oldest >= self.max_age_ms:
                batch, self.records = self.records, []
                self.writing.append(batch)
                return batch
        return None

    def take(self) -> list[ScanRecord]:
        with self.lock:
            batch, self.records = self.records, []
            self.writing.append(batch)
            return batch

    def written(self, batch: list[ScanRecord]) -> None:
        with self.lock:
            self.writing = [b for b in self.writing if b is not batch]

    def pending(self, item: str, since: int) -> list[ScanRecord]:
        with self.lock:
            return [
                r
                for batch in (*self.writing, self.records)
                for r in batch
                if r.item_id == item and r.time >= since
            ]


@dataclass(frozen=True)
class VerifyResult:
    verdict: Verdict
    view: ItemView | None  # the item with its timeline (None for a code that names none)
    proof: InclusionProof | None  # of the item's latest entry, against the checkpoint
    checkpoint: str | None


class Verifier:
    """Scan-verify over a LogService; safe to share between threads."""

    def __init__(
        self,
        service: LogService,
        *,
        resolvers: Sequence[str],
        thresholds: Thresholds | None = None,
        buffer: ScanBuffer | None = None,
    ) -> None:
        self.service = service
        self.resolvers = tuple(resolvers)
        self.thresholds = thresholds or Thresholds()
        self.buffer = buffer or ScanBuffer()
        # Timeline steps by entry index: entries never change, and the commission, shipment
        # and receipt entries of a carton are shared by every item in it.
        self._steps: dict[int, TimelineStep] = {}
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan-writer")

    def verify(
        self,
        uri: str,
        context: ScanContext,
        *,
        now: int,
        record: bool = True,
        detail: bool = False,
    ) -> VerifyResult:
        """The verdict for one scan; ``detail`` adds the timeline and an inclusion proof."""
        store = self.service.store
        with store.reader() as view:  # one snapshot for the verdict and what shows it
            code_verdict = check_code(uri, LedgerDirectory(view, self.resolvers))
            item_id = code_verdict.item.get("item_id")
            item = view.get(Item, (item_id,)) if item_id else None
            context = self._resolve_seller(view, context)
            facts = key = None
            recent: list[ScanRecord] = []
            if item is not None:
                facts = ItemFacts(
                    item.item_id,
                    item.status,
                    item.custodian,
                    item.pending_to,
                    is_recalled(view, item),
                    bool(item.claimed_by),
                    item.producer,
                    item.commissioned_time,
                )
                key_id = (
                    code_verdict.reasons[0].evidence.get("key_id") if code_verdict.reasons else None
                )
                record_key = view.get(KeyRecord, (str(key_id),)) if key_id else None
                if record_key is not None:
                    key = KeyFacts(
                        record_key.key_id, record_key.effective_time, record_key.compromised_since
                    )
                since = now - self.thresholds.window_ms
                recent = [
                    *store.recent_scans(item.item_id, since),
                    *self.buffer.pending(item.item_id, since),
                ]
            verdict = decide(Evidence(code_verdict, facts, key, context, recent), self.thresholds)
            result = (
                self._detailed(verdict, item.item_id)
                if detail and item is not None
                else VerifyResult(verdict, None, None, None)
            )
        if record and item is not None:
            self._record(ScanRecord(item.item_id, now, context), now)
        return result

    def _detailed(self, verdict: Verdict, item: str) -> VerifyResult:
        if len(self._steps) > _MAX_CACHED_STEPS:
            self._steps = {}
        shown = item_view(self.service.store, item, self._steps)
        try:
            checkpoint = self.service.latest_checkpoint()
            last = shown.timeline[-1].index if shown.timeline else shown.record.commissioned_index
            proof = (
                self.service.inclusion_proof(last, checkpoint.tree_size)
                if last < checkpoint.tree_size
                else None
            )
            note: str | None = checkpoint.note
        except TracemarkError:
            proof, note = None, None
        return VerifyResult(verdict, shown, proof, note)

    def _resolve_seller(self, view: ProjectionReader, context: ScanContext) -> ScanContext:
        """The seller as an actor id: from the listing, or from a platform handle."""
        seller = context.seller
        if context.platform and context.listing_id:
            listing = view.get(Listing, (context.platform, context.listing_id))
            if listing is not None:
                seller = listing.seller
        if seller == context.seller and seller:  # not resolved by a listing: a handle?
            handle = seller if ":" in seller else f"{context.platform}:{seller}"
            found = view.get(Handle, (handle,)) if context.platform or ":" in seller else None
            if found is not None:
                seller = found.actor_id
        if seller == context.seller:
            return context
        return replace(context, seller=seller)

    def _record(self, scan: ScanRecord, now: int) -> None:
        batch = self.buffer.add(scan)
        if batch:
            # Written by one background thread: a verify never waits for a commit (and,
            # run on the event loop, never blocks it for one).
            self._writer.submit(self._write, batch, now)

    def _write(self, batch: list[ScanRecord], now: int) -> None:
        try:
            self.service.store.record_scans(batch, prune_before=now - RETENTION_MS)
        except TracemarkError as exc:  # scans are evidence for later clone rules, not log
            log.warning("could not record %d scans: %s", len(batch), exc.message)
        finally:
            self.buffer.written(batch)

    def flush(self, now: int) -> None:
        """Write buffered scans and wait for writes under way (call at shutdown)."""
        self._writer.submit(self._write, self.buffer.take(), now).result()
