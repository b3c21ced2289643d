"""The projection in memory: the fake store's state, and the oracle replay audits compare with.

``MemoryProjection`` implements ``records.View`` over dicts and applies ``Changes``.
``replay(entries)`` rebuilds the whole projection from log entries through the same rules
that ran at append (``custody.apply``), so ``tracemark reindex`` and ``audit`` need no
second implementation of any rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from ledger.errors import RuleViolation
from ledger.log.entries import LogEntry
from ledger.provenance.records import (
    ACTIVE,
    RECORD_TYPES,
    Changes,
    Item,
    KeyRecord,
    Prefix,
    TimelineRow,
)
from ledger.provenance.rules.custody import apply, is_recalled

__all__ = ["MemoryProjection", "ReplayFailure", "replay"]

R = TypeVar("R")


class MemoryProjection:
    """Every projection table as a dict keyed by primary key, plus a root index for items."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[tuple[Any, ...], Any]] = {k.TABLE: {} for k in RECORD_TYPES}
        self._roots: dict[str, set[str]] = {}
        self.size = 0  # log entries applied (kept by the fake store)

    def copy(self) -> MemoryProjection:
        """A copy that shares the (immutable) records, not the tables."""
        other = MemoryProjection()
        other.tables = {name: dict(table) for name, table in self.tables.items()}
        other._roots = {root: set(ids) for root, ids in self._roots.items()}
        other.size = self.size
        return other

    # --- View -----------------------------------------------------------------------------

    def get(self, kind: type[R], key: tuple[Any, ...]) -> R | None:
        found: R | None = self.tables[kind.TABLE].get(key)  # type: ignore[attr-defined]
        return found

    def subtree(self, root: str) -> list[Item]:
        items = self.tables[Item.TABLE]
        return [items[(ident,)] for ident in sorted(self._roots.get(root, ()))]

    def existing_items(self, item_ids: Sequence[str]) -> list[str]:
        items = self.tables[Item.TABLE]
        return [ident for ident in item_ids if (ident,) in items]

    def held_items(self, custodian: str) -> list[Item]:
        items = self.tables[Item.TABLE].values()
        return sorted((i for i in items if i.custodian == custodian), key=lambda i: i.item_id)

    def stock(self, custodian: str, gtin: str) -> int:
        return sum(
            1
            for item in self.tables[Item.TABLE].values()
            if item.custodian == custodian
            and item.gtin == gtin
            and item.status == ACTIVE
            and not is_recalled(self, item)
        )

    def recalled_stock(self, custodian: str, gtin: str) -> int:
        return sum(
            1
            for item in self.tables[Item.TABLE].values()
            if item.custodian == custodian
            and item.gtin == gtin
            and item.status == ACTIVE
            and is_recalled(self, item)
        )

    def prefixes_overlapping(self, prefix: str) -> list[Prefix]:
        return [
            p
            for p in self.tables[Prefix.TABLE].values()
            if p.prefix.startswith(prefix) or prefix.startswith(p.prefix)
        ]

    # --- writes -----------------------------------------------------------------------------

    def apply_changes(self, changes: Changes) -> None:
        for kind, key in changes.deletes:
            self.tables[kind.TABLE].pop(key, None)
        self.put_all(changes.puts)

    def put_all(self, records: Iterable[Any]) -> None:
        tables, roots = self.tables, self._roots
        for record in records:
            key = tuple(getattr(record, name) for name in record.KEY)
            table = tables[record.TABLE]
            if isinstance(record, Item):
                old = table.get(key)
                if old is not None and old.root != record.root:
                    roots[old.root].discard(record.item_id)
                roots.setdefault(record.root, set()).add(record.item_id)
            table[key] = record

    def log_size(self) -> int:
        return self.size

    def timeline(self, item: str) -> list[int]:
        """Indices of the entries that touched an item, in log order."""
        return sorted(i for (ident, i) in self.tables[TimelineRow.TABLE] if ident == item)

    def keys_with_hint(self, hint: int) -> list[KeyRecord]:
        prefix = f"{hint:02x}"
        keys = self.tables[KeyRecord.TABLE]
        return [keys[k] for k in sorted(keys) if keys[k].key_id.startswith(prefix)]

    def rows(self, table: str) -> list[Any]:
        """The records of one table, sorted by primary key."""
        data = self.tables[table]
        return [data[key] for key in sorted(data)]


class ReplayFailure(Exception):
    """An entry in the log that the rules refuse on replay (tampering or a rules change)."""

    def __init__(self, index: int, error: RuleViolation) -> None:
        super().__init__(f"entry {index}: {error.code}: {error.message}")
        self.index = index
        self.error = error


def replay(
    entries: Iterable[LogEntry], projection: MemoryProjection | None = None
) -> MemoryProjection:
    """Apply log entries in order through the rules; raise ReplayFailure on a refused one."""
    state = projection if projection is not None else MemoryProjection()
    for entry in entries:
        try:
            changes = apply(entry.envelope, entry.index, entry.integrated_time, state)
        except RuleViolation as exc:
            raise ReplayFailure(entry.index, exc) from None
        state.apply_changes(changes)
    return state
