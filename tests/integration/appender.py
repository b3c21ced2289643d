"""A log writer in its own OS process, for the multi-process tests.

    python -m tests.integration.appender URL SEED_HEX BATCHES BATCH_SIZE TAG

Opens ``SqlStore(URL)`` with the operator key ``PrivateKey.from_seed(SEED_HEX)`` and appends
BATCHES batches of BATCH_SIZE ``log.notice`` entries, the n-th one (n = 0, 1, ... in
submission order) titled ``title(TAG, n)``. After each batch has committed it prints
``ack <index>`` for every accepted entry, in order, and flushes: a line on stdout means the
entry is durable. Exit status 0 when every entry was accepted; 1 at the first rejection
(its code on stderr); 2 for bad arguments. Run from the repository root.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from ledger.keys import PrivateKey
from ledger.log.entries import NOTICE, sign_entry
from ledger.storage.sql.log import SqlStore
from ledger.usecases.append import Accepted
from ledger.usecases.service import LogService, now_ms

__all__ = ["REPO_ROOT", "command", "main", "title"]

USAGE = "usage: python -m tests.integration.appender URL SEED_HEX BATCHES BATCH_SIZE TAG"

#: The working directory the appender runs in (``python -m`` finds ``tests`` there).
REPO_ROOT = Path(__file__).parents[2]


def command(url: str, seed: bytes, batches: int, batch_size: int, tag: str) -> list[str]:
    """The argv that runs an appender with this interpreter, warnings as errors."""
    return [
        sys.executable,
        "-W",
        "error",
        "-m",
        "tests.integration.appender",
        url,
        seed.hex(),
        str(batches),
        str(batch_size),
        tag,
    ]


def title(tag: str, number: int) -> str:
    """The title of the ``number``-th notice a writer tagged ``tag`` submits."""
    return f"{tag}-{number}"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 5:
        print(USAGE, file=sys.stderr)
        return 2
    url, seed_hex, batches_text, size_text, tag = args
    try:
        key = PrivateKey.from_seed(bytes.fromhex(seed_hex))
        batches, batch_size = int(batches_text), int(size_text)
    except ValueError as exc:
        print(f"{USAGE}\n{exc}", file=sys.stderr)
        return 2
    store = SqlStore(url)
    try:
        service = LogService(store, log_key=key)
        number = 0
        for _ in range(batches):
            envelopes = [
                sign_entry(NOTICE, {"title": title(tag, number + i)}, key)
                for i in range(batch_size)
            ]
            number += batch_size
            outcomes = service.append(envelopes, now=now_ms())
            accepted = [o for o in outcomes if isinstance(o, Accepted)]
            sys.stdout.write("".join(f"ack {o.index}\n" for o in accepted))
            sys.stdout.flush()
            if len(accepted) != len(outcomes):
                rejected = next(o for o in outcomes if not isinstance(o, Accepted))
                print(f"rejected: {rejected}", file=sys.stderr)
                return 1
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
