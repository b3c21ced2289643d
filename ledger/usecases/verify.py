"""Scan-verify: one code and its context in, an explained verdict with provenance out.

``Verifier.verify(uri, context, now=...)`` checks the producer's signature against the
ledger's keys, reads the item's state, resolves the seller of the listing or stream,
collects recent scans of the serial, and runs the pure ``decide``. It records the scan
outside the log. Reads are O(1) projection lookups plus one signature check, whatever the
size of the ledger; scans are buffered and written in batches.

What only the log decides is kept per snapshot (docs/decisions.md, 21): the projection is a
function of the log, so for one log size a code's check (its producer, key and signature)
and its item's state are the same in every snapshot, and so are, for one log size and one
checkpoint, the item's timeline and its inclusion proof. A verify of a code seen before at
this log size therefore reads two things: the distinct contexts of the item's recent scans
(which other workers write) and, for the timeline, the latest checkpoint's size. The
context, the clone rules and the verdict are worked out afresh on every verify, and the
scan is recorded. Signatures that verified are remembered across log sizes
(``keys.VerifiedSignatures``): a triple that verified once always does.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ledger.codes.signed import check_code_detail
from ledger.errors import InvalidInput, TracemarkError
from ledger.keys import VerifiedSignatures
from ledger.log.entries import NOTICE
from ledger.ports.log import ProjectionReader
from ledger.provenance.events.names import (
    CANCEL,
    CLAIM,
    DECOMMISSION,
    LISTING_CLOSE,
    LISTING_DECLARE,
    PACK,
    RECEIVE,
    SELL,
    SHIP,
    STREAM_DECLARE,
    UNPACK,
)
from ledger.provenance.handles import normalise_handle
from ledger.provenance.records import (
    OPEN,
    Actor,
    Handle,
    Item,
    KeyRecord,
    Listing,
    StreamSegment,
    StreamSession,
)
from ledger.provenance.rules.common import is_recalled
from ledger.provenance.rules.streams import SessionProof, session_of_proof
from ledger.usecases.prove import InclusionProof
from ledger.usecases.queries import ItemView, LedgerDirectory, TimelineStep, item_view
from ledger.usecases.service import LogService
from ledger.verdicts import (
    ANONYMOUS,
    OVERLAY,
    SESSION,
    Evidence,
    ItemFacts,
    KeyFacts,
    ScanContext,
    ScanRecord,
    Thresholds,
    Verdict,
    decide,
)

__all__ = ["ScanBuffer", "Verifier", "VerifyResult", "WeakSignalGate", "device_hash"]

RETENTION_MS = 30 * 24 * 3_600_000
_PRUNE_EVERY_MS = 60_000
log = logging.getLogger("tracemark.verify")
_MAX_CACHED_STEPS = 50_000
_MAX_PER_SNAPSHOT = 10_000  # codes (and items) kept per snapshot (memory: decisions 21)
_MAX_RENAMED = 32  # recorded contexts without a seller looked up per verify (_as_logged)
_MAX_CARRIED_ENTRIES = 4_096  # beyond this many new entries, nothing is carried over
#: Entry types whose projection changes are confined to the items they touch, and to records
#: a Verifier does not keep (shipments; listings, read on every verify). See ``_advance``.
_ITEM_SCOPED = frozenset(
    {PACK, UNPACK, SHIP, RECEIVE, CANCEL, SELL, CLAIM, DECOMMISSION, LISTING_DECLARE}
    | {LISTING_CLOSE, NOTICE, STREAM_DECLARE}
)


def _anonymous(context: ScanContext) -> ScanContext:
    c = context
    return ScanContext(c.platform, c.stream_id, c.listing_id, c.seller, c.device, c.place)


def _overlay_holds(view: ProjectionReader, context: ScanContext, code: Verdict) -> bool:
    """An overlay nonce (checked by the adapter) vouches for a scan only where the log
    backs it: the listing is open, its stream is a segment of a session its seller
    declared with this listing, and the code is of the listing's GTIN (and among its
    items, when it names them). Anything else counts as anonymous."""
    listing = view.get(Listing, (context.platform, context.listing_id))
    if listing is None or listing.status != OPEN:
        return False
    segment = view.get(StreamSegment, (context.platform, context.stream_id))
    if segment is None or segment.seller != listing.seller:
        return False
    session = view.get(StreamSession, (context.platform, segment.session_id))
    if session is None or listing.listing_id not in session.listings:
        return False
    if code.item.get("gtin") != listing.gtin:
        return False
    return not listing.serials or code.item.get("item_id") in listing.serials


def _in_session(
    view: ProjectionReader, context: ScanContext, session: StreamSession
) -> ScanContext:
    """The context a session proof vouches for. The proof signs the platform, session, code
    and time, not the stream or listing the request names: those are kept only when the log
    says they are the session's (a segment of it, a listing it shows), so a replayed proof
    cannot name streams (each a context the rules read, and a webhook event) at will."""
    c = context
    segment = view.get(StreamSegment, (c.platform, c.stream_id)) if c.stream_id else None
    stream = c.stream_id if segment is not None and segment.session_id == session.session_id else ""
    listing = c.listing_id if c.listing_id in session.listings else ""
    return ScanContext(
        c.platform, stream, listing, session.seller, c.device, c.place, SESSION, session.session_id
    )


def _kept(context: ScanContext) -> ScanContext:
    """The context as a vouched scan is kept: an offer (a listing, a stream, a session) once,
    whatever device or place scanned it (they count only for physical scans), so scans
    through a public overlay nonce from many phones cannot crowd other vouched contexts out
    of the clone rules' read (the store returns the newest 500 distinct contexts)."""
    c = context
    if not c.offered or not (c.device or c.place):
        return context
    return ScanContext(c.platform, c.stream_id, c.listing_id, c.seller, "", "", c.source, c.session)


def _as_logged(view: ProjectionReader, recent: list[ScanRecord]) -> list[ScanRecord]:
    """Recorded contexts as the log names them now: a stream or listing seen before its
    seller declared it (a restart declared after its first scans) is that seller's, so it
    is the seller's one offer, not a second one. Only contexts without a seller are looked
    up (a stream id belongs to one session for good; a listing to its declarer), and at most
    ``_MAX_RENAMED`` of them: beyond that many offers nobody declared, a plain verify says
    scan_velocity whatever their names, and a flood of them costs no reads per verify."""
    out = recent
    looked = 0
    for n, record in enumerate(recent):
        c = record.context
        if c.seller or not c.platform or not (c.stream_id or c.listing_id):
            continue
        looked += 1
        if looked > _MAX_RENAMED:
            break
        segment = view.get(StreamSegment, (c.platform, c.stream_id)) if c.stream_id else None
        seller, session = (segment.seller, segment.session_id) if segment else ("", c.session)
        if not seller and c.listing_id:
            listing = view.get(Listing, (c.platform, c.listing_id))
            seller = listing.seller if listing is not None else ""
        if seller:
            named = ScanContext(
                c.platform, c.stream_id, c.listing_id, seller, c.device, c.place, c.source, session
            )
            out = out if out is not recent else list(recent)
            out[n] = ScanRecord(record.item_id, record.time, named)
    return out


def _unknown_sellers(
    view: ProjectionReader, item: ItemFacts | None, recent: Sequence[ScanRecord]
) -> frozenset[str]:
    """The sellers of recent contexts that are no registered actor: a vouched context keeps
    a seller it could not resolve as the handle named (``unknown_seller`` for it), never a
    second seller for others. The item's holders need no lookup (the common case)."""
    if item is None:
        return frozenset()
    named = {r.context.seller for r in recent} - {"", item.custodian, item.pending_to}
    # A seller shown as platform:account is no actor id: no lookup (a platform naming 500
    # accounts nobody registered costs no reads on every later verify of the item).
    return frozenset(s for s in named if ":" in s or view.get(Actor, (s,)) is None)


def device_hash(salt: bytes, client: str) -> str:
    """A coarse, salted, truncated hash of client hints: counts distinct devices, names none."""
    return hashlib.sha256(salt + client.encode("utf-8", "replace")).hexdigest()[:12]


@dataclass
class ScanBuffer:
    """Scans waiting to be written: flushed in batches (size or age), and at close.

    A batch handed out for writing stays visible to ``pending`` until ``written`` is
    called, so the clone rules never miss a scan that is on its way to the database.
    Each batch keeps its scans by item too: ``pending`` runs on every verify, and reads
    an item's few scans, not the whole batch."""

    max_items: int = 256
    max_age_ms: int = 1_000
    records: list[ScanRecord] = field(default_factory=list)
    writing: list[list[ScanRecord]] = field(default_factory=list)
    oldest: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _by_item: dict[str, list[ScanRecord]] = field(default_factory=dict)
    _writing_by_item: list[dict[str, list[ScanRecord]]] = field(default_factory=list)

    def add(self, record: ScanRecord) -> list[ScanRecord] | None:
        """Add one; returns the batch to write when it is time to flush."""
        with self.lock:
            if not self.records:
                self.oldest = record.time
            self.records.append(record)
            self._by_item.setdefault(record.item_id, []).append(record)
            if len(self.records) >= self.max_items or record.time - self.oldest >= self.max_age_ms:
                return self._hand_out()
        return None

    def _hand_out(self) -> list[ScanRecord]:
        batch, self.records = self.records, []
        self.writing.append(batch)
        self._writing_by_item.append(self._by_item)
        self._by_item = {}
        return batch

    def take(self) -> list[ScanRecord]:
        with self.lock:
            return self._hand_out()

    def written(self, batch: list[ScanRecord]) -> None:
        with self.lock:
            kept = [i for i, b in enumerate(self.writing) if b is not batch]
            self.writing = [self.writing[i] for i in kept]
            self._writing_by_item = [self._writing_by_item[i] for i in kept]

    def pending(self, item: str, since: int) -> list[ScanRecord]:
        with self.lock:
            return [
                r
                for by_item in (*self._writing_by_item, self._by_item)
                for r in by_item.get(item, ())
                if r.time >= since
            ]


class WeakSignalGate:
    """How many anonymous (weak) scan contexts are kept, per item and window.

    A context nobody vouched for is kept for the producer, never read by the clone rules;
    so a flood of them (a rival naming a new seller on every request) must not grow the
    store without bound. Per item and window, at most ``per_place`` distinct weak contexts
    are kept for each coarse (device, place), and at most ``per_item`` in all; the rest are
    dropped (and counted). Identical contexts cost nothing: the store keeps one row per
    distinct context. Safe to share between threads; it keeps a hash per context, at most
    ``per_item`` for each of ``max_items`` items (a million hashes, tens of MB, at most)."""

    def __init__(
        self,
        window_ms: int,
        *,
        per_place: int = 5,
        per_item: int = 50,
        max_items: int = 20_000,
    ) -> None:
        self.window_ms, self.per_place, self.per_item = window_ms, per_place, per_item
        self.max_items = max_items
        self.dropped = 0
        self._lock = threading.Lock()
        self._started = 0
        self._seen: dict[str, tuple[int, dict[tuple[str, str], set[int]]]] = {}

    def admit(self, item: str, context: ScanContext, now: int) -> bool:
        with self._lock:
            if now - self._started >= self.window_ms:
                self._started, self._seen = now, {}
            total, places = self._seen.get(item, (0, {}))
            seen = places.get((context.device, context.place))
            mark = hash(context)
            if seen is not None and mark in seen:
                return True  # the same context again: one row in the store
            full = total >= self.per_item or (seen is not None and len(seen) >= self.per_place)
            if full or (item not in self._seen and len(self._seen) >= self.max_items):
                self.dropped += 1
                return False
            places.setdefault((context.device, context.place), set()).add(mark)
            self._seen[item] = (total + 1, places)
            return True


@dataclass(frozen=True)
class VerifyResult:
    verdict: Verdict
    view: ItemView | None  # the item with its timeline (None for a code that names none)
    proof: InclusionProof | None  # of the item's latest entry, against the checkpoint
    checkpoint: str | None
    #: (log size, checkpoint size) that ``view`` and ``proof`` reflect, when detailed: what
    #: is derived from them (their JSON) may be kept under this and the code.
    snapshot: tuple[int, int] | None = None
    #: The context as the verdict saw it: seller resolved, source checked (None: none given).
    context: ScanContext | None = None

    @property
    def source(self) -> str:
        return self.context.source if self.context is not None else ANONYMOUS


@dataclass(frozen=True, slots=True)
class _Facts:
    """A code's check and its item's state in one snapshot: functions of the log."""

    code: Verdict
    item: ItemFacts | None
    key: KeyFacts | None


#: An item's view, its proof and the checkpoint note, and the snapshot they were read in.
_Detail = tuple[ItemView, InclusionProof | None, str | None, tuple[int, int]]
K = TypeVar("K", int, tuple[int, int])
V = TypeVar("V")


class _PerSnapshot(Generic[K, V]):
    """Values derived from one snapshot, kept until a newer one is read.

    ``at`` orders snapshots (a log size, or a log size and a checkpoint size); the kept
    snapshot only ever moves forward. A value derived from an older snapshot than the one
    kept is returned but not kept. Shared by threads (the event loop and the thread pool's
    batches): changes are made under a lock, reads need none (one tuple, one dict lookup)."""

    def __init__(self, zero: K) -> None:
        self._kept: tuple[K, dict[str, V]] = (zero, {})
        self._lock = threading.Lock()

    @property
    def at(self) -> K:
        return self._kept[0]

    def carry(self, since: K, at: K, keep: Callable[[V], bool] | None) -> None:
        """Move on from snapshot ``since`` to the newer ``at``, with the values that ``keep``
        says the snapshots in between left as they were (None: none). If another thread
        moved the kept snapshot meanwhile, ``keep`` was not worked out for it: nothing is
        carried then (unless that thread already went as far as ``at``)."""
        with self._lock:
            kept_at, values = self._kept
            if kept_at >= at:
                return
            if kept_at != since or keep is None:
                self._kept = (at, {})
                return
            self._kept = (at, {k: v for k, v in values.items() if keep(v)})

    def get(self, at: K, key: str) -> V | None:
        kept_at, values = self._kept
        return values.get(key) if kept_at == at else None

    def put(self, at: K, key: str, value: V) -> None:
        with self._lock:
            kept_at, values = self._kept
            if kept_at != at or len(values) >= _MAX_PER_SNAPSHOT:
                if kept_at > at:
                    return
                values = {}
                self._kept = (at, values)
            values[key] = value


class Verifier:
    """Scan-verify over a LogService; safe to share between threads.

    One way to the log: every read (projection, entries, checkpoints, scans) goes through the
    store port (``self.store``); the only thing asked of a use case is an inclusion proof,
    from the service's ``Prover``, which keeps the proof caches every caller shares."""

    def __init__(
        self,
        service: LogService,
        *,
        resolvers: Sequence[str],
        thresholds: Thresholds | None = None,
        buffer: ScanBuffer | None = None,
        retention_ms: int = RETENTION_MS,
    ) -> None:
        self.store = service.store
        self.retention_ms = retention_ms  # 0: never pruned here (the Pruner's windows)
        self.prover = service.prover
        self.resolvers = tuple(resolvers)
        self.thresholds = thresholds or Thresholds()
        self.buffer = buffer or ScanBuffer()
        self.weak = WeakSignalGate(self.thresholds.window_ms)
        # Timeline steps by entry index: entries never change, and the commission, shipment
        # and receipt entries of a carton are shared by every item in it.
        self._steps: dict[int, TimelineStep] = {}
        self.signatures = VerifiedSignatures()
        self._facts: _PerSnapshot[int, _Facts] = _PerSnapshot(-1)
        self._details: _PerSnapshot[tuple[int, int], _Detail] = _PerSnapshot((-1, -1))
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scan-writer")
        self._pruned = -_PRUNE_EVERY_MS  # the writer thread's: when it last pruned

    def verify(
        self,
        uri: str,
        context: ScanContext,
        *,
        now: int,
        record: bool = True,
        detail: bool = False,
        proof: SessionProof | None = None,
    ) -> VerifyResult:
        """The verdict for one scan; ``detail`` adds the timeline and an inclusion proof.

        ``context.source`` is what the adapter checked (a platform key, an overlay nonce);
        ``proof``, a seller's signature over this scan in its stream session, makes it a
        ``session`` context when it verifies
        (``ledger.provenance.rules.streams.session_of_proof``)."""
        store = self.store
        with store.reader() as view:  # one snapshot for the verdict and what shows it
            size = view.log_size()
            if self._facts.at < size:
                self._advance(size)
            facts = self._facts.get(size, uri)
            if facts is None:
                facts = self._gather(view, uri)
                self._facts.put(size, uri, facts)
            if proof is not None:
                session = session_of_proof(view, proof, context.platform, uri, now=now)
                if session is not None:
                    context = _in_session(view, context, session)
            if context.source == OVERLAY and not _overlay_holds(view, context, facts.code):
                context = _anonymous(context)
            context, seller_known = self._resolve_seller(view, context)
            item = facts.item
            recent: list[ScanRecord] = []
            if item is not None:
                since = now - self.thresholds.window_ms
                # Pending first: a batch written (and dropped from the buffer) between the
                # two reads is then in the store's answer, never in neither. A scan in both
                # counts once (the rules count distinct contexts).
                pending = [r for r in self.buffer.pending(item.item_id, since) if r.context.vouched]
                recent = _as_logged(view, [*store.recent_scans(item.item_id, since), *pending])
            evidence = Evidence(
                facts.code,
                item,
                facts.key,
                context,
                recent,
                seller_known=seller_known,
                unknown_sellers=_unknown_sellers(view, item, recent),
            )
            verdict = decide(evidence, self.thresholds)
            result = (
                self._detailed(verdict, item.item_id, size, context)
                if detail and item is not None
                else VerifyResult(verdict, None, None, None, context=context)
            )
        if record and item is not None:
            if context.vouched:
                self._record(ScanRecord(item.item_id, now, _kept(context)), now)
            elif self.weak.admit(item.item_id, context, now):
                self._record(ScanRecord(item.item_id, now, context), now)
        return result

    def _gather(self, view: ProjectionReader, uri: str) -> _Facts:
        """The code's check against the ledger's keys, the item's state and the signing
        key's history, as this snapshot has them."""
        check = check_code_detail(
            uri, LedgerDirectory(view, self.resolvers), verified=self.signatures
        )
        code = check.verdict
        item_id = code.item.get("item_id")
        item = view.get(Item, (item_id,)) if item_id else None
        if item is None:
            return _Facts(code, None, None)
        changed = (
            self.store.entry(item.last_index).integrated_time
            if item.last_index > item.commissioned_index
            else item.commissioned_time
        )
        facts = ItemFacts(
            item.item_id,
            item.status,
            item.custodian,
            item.pending_to,
            is_recalled(view, item),
            bool(item.claimed_by),
            item.producer,
            item.commissioned_time,
            changed,
        )
        signer = check.signer
        record_key = view.get(KeyRecord, (signer.key.key_id,)) if signer is not None else None
        key = (
            None
            if record_key is None
            else KeyFacts(
                record_key.key_id, record_key.effective_time, record_key.compromised_since
            )
        )
        return _Facts(code, facts, key)

    def _advance(self, size: int) -> None:
        """Move what is kept on to a larger log, keeping what its new entries left as it was.

        Only entries of ``_ITEM_SCOPED`` types may pass: they change nothing a kept value
        depends on but the items they touch, and every change to an item is recorded with a
        timeline row of its entry (``rules.Entry.touch``), which ``store.touched_items``
        reads. Anything else (a registration, a key, a recall of a lot or a GTIN, a
        commission and its product) and every kept value goes. In the caller's read
        snapshot; threads may advance at once (``_PerSnapshot.carry`` settles it)."""
        store = self.store
        kept, details_at = self._facts.at, self._details.at
        checkpoint = store.checkpoint_size()
        items: frozenset[str] | None = None
        near = 0 <= kept < size and size - kept <= _MAX_CARRIED_ENTRIES
        if near and store.entry_types(kept, size) <= _ITEM_SCOPED:
            items = store.touched_items(kept, size)
        if items is None:
            self._facts.carry(kept, size, None)
            self._details.carry(details_at, (size, checkpoint), None)
            return
        changed = items
        self._facts.carry(kept, size, lambda f: f.code.item.get("item_id") not in changed)
        if details_at == (kept, checkpoint):
            self._details.carry(
                details_at, (size, checkpoint), lambda d: d[0].record.item_id not in changed
            )

    def _detailed(
        self, verdict: Verdict, item: str, size: int, context: ScanContext
    ) -> VerifyResult:
        snapshot = (size, self.store.checkpoint_size())
        detail = self._details.get(snapshot, item)
        if detail is None:
            detail = self._detail(item, snapshot)
            self._details.put(snapshot, item, detail)
        # Its own snapshot, not this one: the same JSON, kept once (api.http.routes.verify).
        view, proof, note, read_at = detail
        return VerifyResult(verdict, view, proof, note, snapshot=read_at, context=context)

    def _detail(self, item: str, snapshot: tuple[int, int]) -> _Detail:
        """The item's view and timeline, and an inclusion proof of its latest entry against
        the latest checkpoint (none when that entry came after it)."""
        if len(self._steps) > _MAX_CACHED_STEPS:
            self._steps = {}
        shown = item_view(self.store, item, self._steps)
        checkpoint = self.store.latest_checkpoint()
        if checkpoint is None:
            return shown, None, None, snapshot
        last = shown.timeline[-1].index if shown.timeline else shown.record.commissioned_index
        try:
            proof = (
                self.prover.inclusion_proof(last, checkpoint.tree_size)
                if last < checkpoint.tree_size
                else None
            )
        except TracemarkError:
            return shown, None, None, snapshot
        note: str | None = checkpoint.note
        return shown, proof, note, snapshot

    def _resolve_seller(
        self, view: ProjectionReader, context: ScanContext
    ) -> tuple[ScanContext, bool]:
        """The context with its seller as an actor id, and whether the seller is a
        registered actor. What the log says wins over what the request says: a declared
        stream's seller (and its session), then a declared listing's seller, then a handle
        normalised (``ledger.provenance.handles``) and looked up, then an actor id. A seller that
        resolves to no actor stays as the normalised handle: ``unknown_seller`` for this
        context, never a second seller for anyone else."""
        c = context
        if c.source == SESSION:  # the session's seller signed it (``_in_session``)
            return context, True
        seller, session = c.seller, c.session
        found: str | None = None
        if c.platform and c.stream_id:
            segment = view.get(StreamSegment, (c.platform, c.stream_id))
            if segment is not None:
                found, session = segment.seller, segment.session_id
        if found is None and c.platform and c.listing_id:
            listing = view.get(Listing, (c.platform, c.listing_id))
            if listing is not None:
                found = listing.seller
        if found is None and seller:
            found, seller = self._seller(view, seller, c.platform)
        if found is not None:
            seller = found
        if (seller, session) == (c.seller, c.session):
            return context, found is not None or not seller
        # dataclasses.replace costs more than the rest of this method
        resolved = ScanContext(
            c.platform, c.stream_id, c.listing_id, seller, c.device, c.place, c.source, session
        )
        return resolved, found is not None or not seller

    @staticmethod
    def _seller(view: ProjectionReader, given: str, platform: str) -> tuple[str | None, str]:
        """(actor id or None, the seller as shown): a handle, else an actor id (on a
        platform, only an actor with an account there). A seller shown for None is never an
        actor id (it names an account), so no later read takes it for a registered seller."""
        handle = given
        if ":" in given or platform:
            try:
                handle = normalise_handle(given, platform)
            except InvalidInput:
                return None, given if ":" in given else f"{platform}:{given}"
            found = view.get(Handle, (handle,))
            if found is not None:
                return found.actor_id, handle
            if ":" in given:
                return None, handle
        actor = view.get(Actor, (given,))
        if actor is None:
            return None, handle
        if platform and not any(h.startswith(platform + ":") for h in actor.handles):
            return None, handle  # no such account on this platform: a key speaks for its own
        return actor.actor_id, given

    def _record(self, scan: ScanRecord, now: int) -> None:
        batch = self.buffer.add(scan)
        if batch:
            # Written by one background thread: a verify never waits for a commit (and,
            # run on the event loop, never blocks it for one).
            self._writer.submit(self._write, batch, now)

    def _write(self, batch: list[ScanRecord], now: int) -> None:
        """Write a batch (tried twice: a PostgreSQL deadlock between two workers' writers
        is transient); prune old scans at most once a minute."""
        prune = None
        if self.retention_ms and now - self._pruned >= _PRUNE_EVERY_MS:
            prune, self._pruned = now - self.retention_ms, now
        try:
            for attempt in (1, 2):
                try:
                    self.store.record_scans(batch, prune_before=prune)
                    break
                except TracemarkError as exc:  # scans are evidence for clone rules, not log
                    if attempt == 2:
                        log.warning("could not record %d scans: %s", len(batch), exc.message)
        finally:
            self.buffer.written(batch)

    def flush(self, now: int) -> None:
        """Write buffered scans and wait for writes under way (call at shutdown)."""
        self._writer.submit(self._write, self.buffer.take(), now).result()
