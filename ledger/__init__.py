"""Tracemark ledger: the domain core (pure) and its storage adapter.

Pure core modules (no I/O, web, database or imaging imports; checked by
tests/architecture): errors, hashing, merkle, canonical, keys, note, checkpoint,
entries, audit. Adapters: keyfile (files), storage (SQL), service (use cases
over the storage port).
"""
