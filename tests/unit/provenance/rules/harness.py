"""Rules applied one entry at a time to an in-memory projection: no log, no store, no service.

Signatures are the service's business (checked before the rules run), so the harness signs
only to name the signer; every refusal must leave the projection as it was.
"""

from __future__ import annotations

from typing import Any

import pytest

from ledger.errors import RuleViolation
from ledger.keys import PrivateKey
from ledger.log.entries import GENESIS, sign_entry
from ledger.provenance.events.names import ACTOR_REGISTER
from ledger.provenance.projection import MemoryProjection
from ledger.provenance.records import RECORD_TYPES
from ledger.provenance.rules.custody import apply
from tests.supply import T0, TZ, key_for

OPERATOR = key_for("operator")


class Rules:
    def __init__(self) -> None:
        self.view = MemoryProjection()
        self.index = 0
        self.now = T0
        self.keys: dict[str, PrivateKey] = {"operator": OPERATOR}
        self.ok(GENESIS, _genesis(), OPERATOR)

    def ok(self, kind: str, body: dict[str, Any], key: PrivateKey) -> None:
        self.now += 1_000
        changes = apply(sign_entry(kind, body, key), self.index, self.now, self.view)
        self.view.apply_changes(changes)
        self.index += 1

    def refused(self, code: str, kind: str, body: dict[str, Any], key: PrivateKey) -> str:
        before = _snapshot(self.view)
        with pytest.raises(RuleViolation) as raised:
            apply(sign_entry(kind, body, key), self.index, self.now + 1_000, self.view)
        assert raised.value.code == code, f"{raised.value.code}: {raised.value.message}"
        assert _snapshot(self.view) == before, "a refused entry changed the projection"
        return raised.value.message

    def event(self, actor: str, **fields: Any) -> dict[str, Any]:
        return {"actor": actor, "event_time": self.now, "tz": TZ, **fields}

    def actor(self, actor_id: str, role: str, **fields: Any) -> dict[str, Any]:
        key = self.keys.setdefault(actor_id, key_for(actor_id))
        actor = {"id": actor_id, "role": role, "name": actor_id, "country": "VN", "verified": True}
        return {
            "actor": {**actor, **fields},
            "keys": [key.public_key.to_text()],
            "event_time": self.now,
        }

    def register(self, actor_id: str, role: str, **fields: Any) -> PrivateKey:
        self.ok(ACTOR_REGISTER, self.actor(actor_id, role, **fields), OPERATOR)
        return self.keys[actor_id]


def _genesis() -> dict[str, Any]:
    return {
        "origin": "test.example/log",
        "operator": {"id": "operator", "name": "Operator"},
        "key": OPERATOR.public_key.to_text(),
    }


def _snapshot(view: MemoryProjection) -> dict[str, list[Any]]:
    return {kind.TABLE: view.rows(kind.TABLE) for kind in RECORD_TYPES}
