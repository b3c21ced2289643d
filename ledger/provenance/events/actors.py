"""Actor bodies: ``actor.register`` (the operator registers an actor with its keys) and
``actor.update`` (name, country, identity check, status, GS1 prefixes, handles)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.codes.gs1 import validate_company_prefix
from ledger.errors import InvalidInput
from ledger.keys import PublicKey
from ledger.log.entries import register_entry_type
from ledger.provenance.events.fields import COUNTRY, HANDLE, actor_id, match, millis, shape, text
from ledger.provenance.events.names import ACTOR_REGISTER, ACTOR_UPDATE

__all__ = ["MAX_KEYS", "ROLES", "validate_register", "validate_update"]

ROLES = (
    "operator",
    "producer",
    "distributor",
    "retailer",
    "seller",
    "platform",
    "identity_verifier",
    "certifier",
)
MAX_KEYS = 8


def _actor_fields(actor: Mapping[str, Any], *, partial: bool) -> None:
    fields_all = {"id", "role", "name", "country", "verified", "prefixes", "handles"}
    if partial:
        shape(
            actor,
            "actor.update",
            {"id", "event_time"},
            {"name", "country", "verified", "status", "prefixes", "handles"},
        )
    else:
        shape(
            actor,
            "actor",
            {"id", "role", "name", "country", "verified"},
            fields_all - {"id", "role", "name", "country", "verified"},
        )
    actor_id(actor, "id")
    if "role" in actor and actor["role"] not in ROLES[1:]:
        raise InvalidInput(f"role must be one of {', '.join(ROLES[1:])}")
    if "name" in actor:
        text(actor, "name", 200)
    if "country" in actor:
        match(actor, "country", COUNTRY, "an ISO 3166-1 alpha-2 code like VN")
    if "verified" in actor and not isinstance(actor["verified"], bool):
        raise InvalidInput("verified must be true or false")
    if "status" in actor and actor["status"] not in ("active", "suspended"):
        raise InvalidInput("status must be active or suspended")
    prefixes = actor.get("prefixes", [])
    if not isinstance(prefixes, list) or len(prefixes) > 50:
        raise InvalidInput("prefixes must be a list of at most 50 GS1 company prefixes")
    for prefix in prefixes:
        if not isinstance(prefix, str):
            raise InvalidInput("a GS1 company prefix must be a string of digits")
        validate_company_prefix(prefix)
    if len(set(prefixes)) != len(prefixes):
        raise InvalidInput("prefixes repeats a prefix")
    handles = actor.get("handles", [])
    if not isinstance(handles, list) or len(handles) > 50:
        raise InvalidInput("handles must be a list of at most 50 platform handles")
    for handle in handles:
        if not isinstance(handle, str) or not HANDLE.fullmatch(handle):
            raise InvalidInput(
                f"handle {handle!r} must look like platform:account, for example tiktok:@shopname"
            )
    if len(set(handles)) != len(handles):
        raise InvalidInput("handles repeats a handle")


def keys_field(body: Mapping[str, Any], name: str) -> None:
    keys = body[name]
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_KEYS:
        raise InvalidInput(f"{name} must list 1 to {MAX_KEYS} public keys")
    for key_text in keys:
        if not isinstance(key_text, str):
            raise InvalidInput("a public key must be a string 'ed25519:<base64>'")
        PublicKey.from_text(key_text)
    if len(set(keys)) != len(keys):
        raise InvalidInput(f"{name} repeats a key")


def validate_register(body: Mapping[str, Any]) -> None:
    shape(body, ACTOR_REGISTER, {"actor", "keys", "event_time"}, set())
    if not isinstance(body["actor"], dict):
        raise InvalidInput("actor must be an object")
    _actor_fields(body["actor"], partial=False)
    keys_field(body, "keys")
    millis(body, "event_time")


def validate_update(body: Mapping[str, Any]) -> None:
    _actor_fields(body, partial=True)
    millis(body, "event_time")


register_entry_type(ACTOR_REGISTER, validate_register)
register_entry_type(ACTOR_UPDATE, validate_update)
