"""The witness port: cosignatures of the log's checkpoints, kept outside the log.

What is kept and why: ``ledger.storage.sql.witnesses`` (the table); ``MemoryWitnessStore``
(``ledger/storage/memory/witnesses.py``) is the fake with the same contract, checked by
tests/integration/test_witness_store.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger.errors import Conflict, InvalidInput

__all__ = [
    "Cosignature",
    "FollowedLog",
    "KeptCosignature",
    "WitnessStore",
    "check_keep",
    "split_view",
]


@dataclass(frozen=True, slots=True)
class Cosignature:
    """One witness's verified cosignature of a checkpoint."""

    witness: str  # the witness's key name
    key_id: bytes  # the 4-byte note key id of its cosignature key
    timestamp: int  # seconds since the epoch, as the witness signed
    line: str  # the signature line, "— <name> <base64>\n"


@dataclass(frozen=True, slots=True)
class KeptCosignature:
    """One stored row, as stored (the key id as its hex text): what the audit checks."""

    tree_size: int
    witness: str
    key_id: str
    timestamp: int
    line: str
    note: str


@dataclass(frozen=True, slots=True)
class FollowedLog:
    """What Tracemark, as a witness of another log, last cosigned for it (C2SP tlog-witness):
    the tree size and root hash, and the signed checkpoint note it cosigned."""

    origin: str
    tree_size: int
    root_hash: bytes
    note: str


def split_view(tree_size: int) -> Conflict:
    """The Conflict of a second, different note cosigned at one tree size."""
    # Cannot happen for a verified checkpoint of one log (Ed25519 is deterministic, and the
    # root was compared with the log's): a second note of one size is a split view.
    return Conflict(
        f"another checkpoint of size {tree_size} was cosigned before",
        code="checkpoint_mismatch",
    )


def check_keep(keep: int) -> None:
    """``keep`` (tree sizes kept) must be at least one."""
    if keep < 1:
        raise InvalidInput("keep at least one cosigned tree size")


class WitnessStore(Protocol):
    """What the witness routes need from storage."""

    def add(
        self,
        tree_size: int,
        note: str,
        cosignatures: Sequence[Cosignature],
        *,
        keep: int,
    ) -> None:
        """Keep each witness's newest cosignature of ``note``, the operator's signed note of
        ``tree_size``; Conflict if another note of this size was cosigned before. Then drop
        every tree size but the newest ``keep``."""
        ...

    def cosigned(self, tree_size: int | None = None) -> str | None:
        """The cosigned checkpoint of ``tree_size`` (default: the newest one cosigned): the
        operator's note plus the kept cosignature lines, sorted; None when none is kept."""
        ...

    def kept(self) -> list[KeptCosignature]:
        """Every kept row, by tree size, witness and key id (the audit reads them all)."""
        ...

    def followed(self, origin: str) -> FollowedLog | None:
        """As a witness: what was last cosigned for the log of ``origin`` (None: never)."""
        ...

    def advance(self, old_size: int, log: FollowedLog) -> FollowedLog | None:
        """As a witness, atomically: record ``log`` as cosigned if what was last cosigned for
        its origin has ``old_size`` (0 when never), and return None; otherwise change nothing
        and return what is recorded (a ``FollowedLog`` of size 0 when never). The check and
        the write are one step, so two requests can never roll a log back (tlog-witness)."""
        ...
