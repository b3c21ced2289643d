"""The fake witness store: cosignatures in a dict, the contract of ``ledger.ports.witnesses``."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ledger.ports.witnesses import (
    Cosignature,
    FollowedLog,
    KeptCosignature,
    check_keep,
    split_view,
)

__all__ = ["MemoryWitnessStore"]


class MemoryWitnessStore:
    """The fake: the operator's note and the lines by witness key, per tree size, under a
    lock. ``MemoryStore`` holds one, so apps sharing a store share its cosignatures."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sizes: dict[int, tuple[str, dict[tuple[str, bytes], Cosignature]]] = {}
        self._followed: dict[str, FollowedLog] = {}

    def add(
        self,
        tree_size: int,
        note: str,
        cosignatures: Sequence[Cosignature],
        *,
        keep: int,
    ) -> None:
        check_keep(keep)
        with self._lock:
            found = self._sizes.get(tree_size)
            if found is not None and found[0] != note:
                raise split_view(tree_size)
            lines = found[1] if found is not None else {}
            for cosig in cosignatures:
                key = (cosig.witness, cosig.key_id)
                if key not in lines or lines[key].timestamp < cosig.timestamp:
                    lines[key] = cosig
            if lines:
                self._sizes[tree_size] = (note, lines)
            for old in sorted(self._sizes)[:-keep]:
                del self._sizes[old]

    def cosigned(self, tree_size: int | None = None) -> str | None:
        with self._lock:
            if tree_size is None:
                if not self._sizes:
                    return None
                tree_size = max(self._sizes)
            found = self._sizes.get(tree_size)
            if found is None:
                return None
            note, lines = found
            return note + "".join(sorted(c.line for c in lines.values()))

    def kept(self) -> list[KeptCosignature]:
        with self._lock:
            found = [
                KeptCosignature(size, c.witness, c.key_id.hex(), c.timestamp, c.line, note)
                for size, (note, lines) in self._sizes.items()
                for c in lines.values()
            ]
        return sorted(found, key=lambda k: (k.tree_size, k.witness, k.key_id))

    def followed(self, origin: str) -> FollowedLog | None:
        with self._lock:
            return self._followed.get(origin)

    def advance(self, old_size: int, log: FollowedLog) -> FollowedLog | None:
        with self._lock:
            known = self._followed.get(log.origin)
            if (known.tree_size if known is not None else 0) != old_size:
                return known or FollowedLog(log.origin, 0, b"", "")
            self._followed[log.origin] = log
            return None
