"""Key bodies: ``key.add`` and ``key.revoke`` (with its effective time and, for a compromised
key, since when)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ledger.errors import InvalidInput
from ledger.keys import PublicKey
from ledger.log.entries import register_entry_type
from ledger.provenance.events.fields import actor_id, match, millis, shape, text
from ledger.provenance.events.names import KEY_ADD, KEY_REVOKE

__all__ = ["validate_key_add", "validate_key_revoke"]


def validate_key_add(body: Mapping[str, Any]) -> None:
    shape(body, KEY_ADD, {"actor", "key", "event_time"}, set())
    actor_id(body, "actor")
    if not isinstance(body["key"], str):
        raise InvalidInput("key must be a string 'ed25519:<base64>'")
    PublicKey.from_text(body["key"])
    millis(body, "event_time")


def validate_key_revoke(body: Mapping[str, Any]) -> None:
    shape(
        body,
        KEY_REVOKE,
        {"actor", "key_id", "effective_time", "event_time"},
        {"compromised_since", "reason"},
    )
    actor_id(body, "actor")
    match(body, "key_id", re.compile(r"^[0-9a-f]{16}$"), "a key id of 16 hex digits")
    millis(body, "effective_time")
    millis(body, "event_time")
    if "compromised_since" in body:
        millis(body, "compromised_since")
        if body["compromised_since"] > body["effective_time"]:
            raise InvalidInput("compromised_since must not be after effective_time")
    if "reason" in body:
        text(body, "reason", 500)


register_entry_type(KEY_ADD, validate_key_add)
register_entry_type(KEY_REVOKE, validate_key_revoke)
