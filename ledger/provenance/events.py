"""Entry bodies of the supply-chain ledger: actors, keys, EPCIS-shaped events, listings.

Each entry type registers a validator of its body's *shape* (fields, types, formats,
bounds); whether the signer may record it is decided by ``ledger.provenance.rules.custody``
against the projection. Event bodies use the words of GS1 EPCIS 2.0 / CBV 2.0 (what, when,
where, why); ``docs/format.md`` gives each body field by field and
``ledger.provenance.epcis`` maps them to EPCIS.

Every body has ``event_time`` (milliseconds since the epoch, UTC, when it happened) so two
honest statements never have the same bytes; a replay of the same bytes is refused by the
log itself. Events also carry ``tz`` (EPCIS eventTimeZoneOffset, ``+07:00``) and may carry
``read_point`` / ``biz_location`` (EPCIS where, a URI such as an SGLN).

Items are named by item ids and serial sets (``ledger.codes.identifiers``, re-exported here):
``01/<gtin14>/21/<serial>``, ``00/<sscc>``, and serial ranges, so 100,000 serials are one
small entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ledger.codes.gs1 import (
    gtin14,
    validate_company_prefix,
    validate_expiry,
    validate_lot,
    validate_serial,
)
from ledger.codes.identifiers import (
    MAX_SERIALS_PER_COMMISSION,
    ItemRef,
    SerialRange,
    SerialSet,
    item_id,
    parse_item_id,
)
from ledger.errors import InvalidInput, LimitExceeded
from ledger.keys import PublicKey
from ledger.log.entries import register_entry_type

__all__ = [
    "ACTOR_REGISTER",
    "ACTOR_UPDATE",
    "CANCEL",
    "CLAIM",
    "COMMISSION",
    "DECOMMISSION",
    "EVENT_TYPES",
    "KEY_ADD",
    "KEY_REVOKE",
    "LISTING_CLOSE",
    "LISTING_DECLARE",
    "MAX_ITEMS_PER_EVENT",
    "MAX_SERIALS_PER_COMMISSION",
    "PACK",
    "RECALL",
    "RECEIVE",
    "REPACK",
    "ROLES",
    "SELL",
    "SHIP",
    "STREAM_DECLARE",
    "UNPACK",
    "ItemRef",
    "SerialRange",
    "SerialSet",
    "item_id",
    "parse_item_id",
]

ACTOR_REGISTER = "actor.register"
ACTOR_UPDATE = "actor.update"
KEY_ADD = "key.add"
KEY_REVOKE = "key.revoke"
COMMISSION = "event.commission"
PACK = "event.pack"
UNPACK = "event.unpack"
SHIP = "event.ship"
RECEIVE = "event.receive"
CANCEL = "event.cancel_shipment"
SELL = "event.sell"
CLAIM = "event.claim"
RECALL = "event.recall"
DECOMMISSION = "event.decommission"
REPACK = "event.repack"
LISTING_DECLARE = "listing.declare"
LISTING_CLOSE = "listing.close"
STREAM_DECLARE = "stream.declare"
EVENT_TYPES = (
    COMMISSION,
    PACK,
    UNPACK,
    SHIP,
    RECEIVE,
    CANCEL,
    SELL,
    CLAIM,
    RECALL,
    DECOMMISSION,
    REPACK,
)

ROLES = ("operator", "producer", "distributor", "retailer", "seller", "platform")
MAX_ITEMS_PER_EVENT = 5_000
MAX_KEYS = 8
MAX_TIME = 2**53 - 1

_ACTOR_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_PLATFORM = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
_HANDLE = re.compile(r"^([a-z0-9][a-z0-9_.-]{1,31}):([\x21-\x7e]{1,100})$")
_TOKEN = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no space (listing ids, ...)
_TZ = re.compile(r"^[+-](?:0\d|1[0-4]):[0-5]\d$")
_URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:[\x21-\x7e]{1,500}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


# --- field helpers -------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shape(body: Mapping[str, Any], what: str, required: set[str], optional: set[str]) -> None:
    keys = set(body)
    missing = required - keys
    extra = keys - required - optional
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(sorted(missing)))
        if extra:
            parts.append("unexpected " + ", ".join(sorted(extra)))
        raise InvalidInput(f"{what} body: {'; '.join(parts)}")


def _text(body: Mapping[str, Any], name: str, limit: int, *, empty: bool = False) -> str:
    value = body[name]
    if not isinstance(value, str) or len(value) > limit or (not empty and not value):
        raise InvalidInput(
            f"{name} must be a {'' if empty else 'non-empty '}string of at most {limit} characters"
        )
    if any(ord(c) < 0x20 and c not in "\n\t" for c in value):
        raise InvalidInput(f"{name} must not contain control characters")
    return value


def _match(body: Mapping[str, Any], name: str, pattern: re.Pattern[str], expected: str) -> str:
    value = body[name]
    if not isinstance(value, str) or not pattern.match(value):
        raise InvalidInput(f"{name} must be {expected}, got {value!r}"[:300])
    return value


def _time(body: Mapping[str, Any], name: str) -> int:
    value = body[name]
    if not _is_int(value) or not 0 <= value <= MAX_TIME:
        raise InvalidInput(f"{name} must be milliseconds since the epoch")
    return int(value)


def _actor_id(body: Mapping[str, Any], name: str) -> str:
    return _match(body, name, _ACTOR_ID, "an actor id (lowercase letters, digits, . _ -)")


def _id_list(body: Mapping[str, Any], name: str, *, limit: int = MAX_ITEMS_PER_EVENT) -> None:
    value = body[name]
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"{name} must be a non-empty list of item ids")
    if len(value) > limit:
        raise LimitExceeded(f"{name} holds at most {limit} item ids")
    ids = [parse_item_id(v).item_id for v in value]
    if ids != value:
        bad = next(v for v, n in zip(value, ids, strict=True) if v != n)
        raise InvalidInput(f"item id {bad!r} is not in normal form", code="invalid_item_id")
    if len(set(ids)) != len(ids):
        raise InvalidInput(f"{name} repeats an item id")


def _common_event(
    body: Mapping[str, Any], what: str, required: set[str], optional: set[str]
) -> None:
    _shape(
        body,
        what,
        required | {"actor", "event_time", "tz"},
        optional | {"read_point", "biz_location"},
    )
    _actor_id(body, "actor")
    _time(body, "event_time")
    _match(body, "tz", _TZ, "a time zone offset like +07:00")
    for name in ("read_point", "biz_location"):
        if name in body:
            _match(body, name, _URI, "a URI (for example urn:epc:id:sgln:...)")


# --- actors and keys -----------------------------------------------------------------------


def _actor_fields(actor: Mapping[str, Any], *, partial: bool) -> None:
    fields_all = {"id", "role", "name", "country", "verified", "prefixes", "handles"}
    if partial:
        _shape(
            actor,
            "actor.update",
            {"id", "event_time"},
            {"name", "country", "verified", "status", "prefixes", "handles"},
        )
    else:
        _shape(
            actor,
            "actor",
            {"id", "role", "name", "country", "verified"},
            fields_all - {"id", "role", "name", "country", "verified"},
        )
    _actor_id(actor, "id")
    if "role" in actor and actor["role"] not in ROLES[1:]:
        raise InvalidInput(f"role must be one of {', '.join(ROLES[1:])}")
    if "name" in actor:
        _text(actor, "name", 200)
    if "country" in actor:
        _match(actor, "country", _COUNTRY, "an ISO 3166-1 alpha-2 code like VN")
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
        if not isinstance(handle, str) or not _HANDLE.match(handle):
            raise InvalidInput(
                f"handle {handle!r} must look like platform:account, for example tiktok:@shopname"
            )
    if len(set(handles)) != len(handles):
        raise InvalidInput("handles repeats a handle")


def _keys(body: Mapping[str, Any], name: str) -> None:
    keys = body[name]
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_KEYS:
        raise InvalidInput(f"{name} must list 1 to {MAX_KEYS} public keys")
    for text in keys:
        if not isinstance(text, str):
            raise InvalidInput("a public key must be a string 'ed25519:<base64>'")
        PublicKey.from_text(text)
    if len(set(keys)) != len(keys):
        raise InvalidInput(f"{name} repeats a key")


def _validate_register(body: Mapping[str, Any]) -> None:
    _shape(body, ACTOR_REGISTER, {"actor", "keys", "event_time"}, set())
    if not isinstance(body["actor"], dict):
        raise InvalidInput("actor must be an object")
    _actor_fields(body["actor"], partial=False)
    _keys(body, "keys")
    _time(body, "event_time")


def _validate_update(body: Mapping[str, Any]) -> None:
    _actor_fields(body, partial=True)
    _time(body, "event_time")


def _validate_key_add(body: Mapping[str, Any]) -> None:
    _shape(body, KEY_ADD, {"actor", "key", "event_time"}, set())
    _actor_id(body, "actor")
    if not isinstance(body["key"], str):
        raise InvalidInput("key must be a string 'ed25519:<base64>'")
    PublicKey.from_text(body["key"])
    _time(body, "event_time")


def _validate_key_revoke(body: Mapping[str, Any]) -> None:
    _shape(
        body,
        KEY_REVOKE,
        {"actor", "key_id", "effective_time", "event_time"},
        {"compromised_since", "reason"},
    )
    _actor_id(body, "actor")
    _match(body, "key_id", re.compile(r"^[0-9a-f]{16}$"), "a key id of 16 hex digits")
    _time(body, "effective_time")
    _time(body, "event_time")
    if "compromised_since" in body:
        _time(body, "compromised_since")
        if body["compromised_since"] > body["effective_time"]:
            raise InvalidInput("compromised_since must not be after effective_time")
    if "reason" in body:
        _text(body, "reason", 500)


# --- supply-chain events -------------------------------------------------------------------


def _product(body: Mapping[str, Any]) -> None:
    product = body["product"]
    if not isinstance(product, dict):
        raise InvalidInput("product must be an object")
    _shape(product, "product", {"name"}, {"image_url", "description"})
    _text(product, "name", 200)
    if "image_url" in product:
        url = _match(product, "image_url", _URI, "an https URL")
        if not url.startswith("https://"):
            raise InvalidInput("product image_url must be an https URL")
    if "description" in product:
        _text(product, "description", 2000, empty=True)


def _lot_expiry(body: Mapping[str, Any]) -> None:
    if "lot" in body:
        if not isinstance(body["lot"], str):
            raise InvalidInput("lot must be a string", code="invalid_lot")
        validate_lot(body["lot"])
    if "expiry" in body:
        if not isinstance(body["expiry"], str):
            raise InvalidInput("expiry must be a YYMMDD string", code="invalid_expiry")
        validate_expiry(body["expiry"])


def _gtin_field(body: Mapping[str, Any], name: str = "gtin") -> None:
    value = body[name]
    if not isinstance(value, str) or gtin14(value) != value:
        raise InvalidInput(
            f"{name} must be a 14-digit GTIN with a valid check digit", code="invalid_gtin"
        )


def _validate_commission(body: Mapping[str, Any]) -> None:
    _common_event(body, COMMISSION, {"gtin", "serials"}, {"lot", "expiry", "product"})
    _gtin_field(body)
    SerialSet.from_obj(body["serials"])
    _lot_expiry(body)
    if "product" in body:
        _product(body)


def _validate_pack(body: Mapping[str, Any]) -> None:
    _common_event(body, PACK, {"parent", "children"}, set())
    if parse_item_id(body["parent"]).item_id != body["parent"]:
        raise InvalidInput("parent is not an item id in normal form", code="invalid_item_id")
    _id_list(body, "children")
    if body["parent"] in body["children"]:
        raise InvalidInput("an item cannot be packed into itself")


def _validate_unpack(body: Mapping[str, Any]) -> None:
    _common_event(body, UNPACK, {"parent"}, {"children"})
    if parse_item_id(body["parent"]).item_id != body["parent"]:
        raise InvalidInput("parent is not an item id in normal form", code="invalid_item_id")
    if "children" in body:
        _id_list(body, "children")


def _validate_ship(body: Mapping[str, Any]) -> None:
    _common_event(body, SHIP, {"shipment", "to", "items"}, set())
    _match(body, "shipment", _TOKEN, "a shipment id (printable ASCII, no spaces)")
    _actor_id(body, "to")
    _id_list(body, "items")


def _validate_receive(body: Mapping[str, Any]) -> None:
    _common_event(body, RECEIVE, {"shipment", "from"}, set())
    _match(body, "shipment", _TOKEN, "a shipment id")
    _actor_id(body, "from")


def _validate_cancel(body: Mapping[str, Any]) -> None:
    _common_event(body, CANCEL, {"shipment"}, {"reason"})
    _match(body, "shipment", _TOKEN, "a shipment id")
    if "reason" in body:
        _text(body, "reason", 500)


def _validate_sell(body: Mapping[str, Any]) -> None:
    _common_event(body, SELL, {"items"}, {"claims"})
    _id_list(body, "items")
    claims = body.get("claims", {})
    if not isinstance(claims, dict) or set(claims) - set(body["items"]):
        raise InvalidInput("claims must map sold item ids to claim commitments")
    for value in claims.values():
        if not isinstance(value, str) or not _HEX64.match(value):
            raise InvalidInput("a claim commitment is 64 lowercase hex digits (SHA-256)")


def _validate_claim(body: Mapping[str, Any]) -> None:
    _shape(body, CLAIM, {"item", "secret", "key", "event_time", "tz"}, set())
    _time(body, "event_time")
    _match(body, "tz", _TZ, "a time zone offset like +07:00")
    if parse_item_id(body["item"]).item_id != body["item"]:
        raise InvalidInput("item is not an item id in normal form", code="invalid_item_id")
    secret = body["secret"]
    if not isinstance(secret, str) or not 16 <= len(secret) <= 128 or not secret.isascii():
        raise InvalidInput("a claim secret is 16 to 128 ASCII characters")
    if not isinstance(body["key"], str):
        raise InvalidInput("key must be a string 'ed25519:<base64>'")
    PublicKey.from_text(body["key"])


def _validate_recall(body: Mapping[str, Any]) -> None:
    _common_event(body, RECALL, {"gtin", "scope", "reason"}, {"serials", "lot"})
    _gtin_field(body)
    scope = body["scope"]
    _text(body, "reason", 500)
    if scope == "items":
        serials = body.get("serials")
        if "lot" in body or not isinstance(serials, list) or not serials:
            raise InvalidInput("a recall of items lists their serials (and no lot)")
        if len(serials) > MAX_ITEMS_PER_EVENT:
            raise LimitExceeded(f"a recall lists at most {MAX_ITEMS_PER_EVENT} serials")
        for serial in serials:
            if not isinstance(serial, str):
                raise InvalidInput("serials must be strings", code="invalid_serial")
            validate_serial(serial)
    elif scope == "lot":
        if "serials" in body or "lot" not in body:
            raise InvalidInput("a recall of a lot names the lot (and no serials)")
        _lot_expiry(body)
    elif scope == "gtin":
        if "serials" in body or "lot" in body:
            raise InvalidInput("a recall of a whole GTIN names no lot and no serials")
    else:
        raise InvalidInput("scope must be items, lot or gtin")


def _validate_decommission(body: Mapping[str, Any]) -> None:
    _common_event(body, DECOMMISSION, {"items", "reason"}, set())
    _id_list(body, "items")
    if body["reason"] not in ("destroyed", "decommissioned", "damaged", "expired"):
        raise InvalidInput("reason must be destroyed, decommissioned, damaged or expired")


def _validate_repack(body: Mapping[str, Any]) -> None:
    _common_event(body, REPACK, {"inputs", "outputs"}, set())
    _id_list(body, "inputs")
    outputs = body["outputs"]
    if not isinstance(outputs, dict):
        raise InvalidInput("outputs must be an object: gtin, serials, lot?, expiry?, product?")
    _shape(outputs, "repack outputs", {"gtin", "serials"}, {"lot", "expiry", "product"})
    _gtin_field(outputs)
    serials = SerialSet.from_obj(outputs["serials"])
    if len(serials) > MAX_ITEMS_PER_EVENT:
        raise LimitExceeded(f"a repack creates at most {MAX_ITEMS_PER_EVENT} items")
    _lot_expiry(outputs)
    if "product" in outputs:
        _product(outputs)


def _validate_listing(body: Mapping[str, Any]) -> None:
    _shape(
        body,
        LISTING_DECLARE,
        {"actor", "platform", "listing_id", "gtin", "event_time"},
        {"stream_id", "quantity", "serials"},
    )
    _actor_id(body, "actor")
    _match(body, "platform", _PLATFORM, "a platform name like tiktok or shopee")
    _match(body, "listing_id", _TOKEN, "a listing id (printable ASCII, no spaces)")
    if "stream_id" in body:
        _match(body, "stream_id", _TOKEN, "a stream id (printable ASCII, no spaces)")
    _gtin_field(body)
    _time(body, "event_time")
    if "serials" in body:
        _id_list(body, "serials")
        gtins = {parse_item_id(i).gtin for i in body["serials"]}
        if gtins != {body["gtin"]}:
            raise InvalidInput("every listed item must be of the listing's GTIN")
    quantity = body.get("quantity", len(body.get("serials", [])))
    if not _is_int(quantity) or not 1 <= quantity <= 10_000_000:
        raise InvalidInput("quantity must be a whole number from 1 (or list serials)")
    if "serials" in body and quantity != len(body["serials"]):
        raise InvalidInput("quantity must equal the number of listed serials")


def _validate_listing_close(body: Mapping[str, Any]) -> None:
    _shape(body, LISTING_CLOSE, {"actor", "platform", "listing_id", "event_time"}, {"reason"})
    _actor_id(body, "actor")
    _match(body, "platform", _PLATFORM, "a platform name")
    _match(body, "listing_id", _TOKEN, "a listing id")
    _time(body, "event_time")
    if "reason" in body:
        _text(body, "reason", 500)


MAX_SESSION_LISTINGS = 100


def _validate_stream(body: Mapping[str, Any]) -> None:
    """A seller declares a live stream (or a restart of one: a new segment of the same
    session) with the listings it will show."""
    _shape(
        body,
        STREAM_DECLARE,
        {"actor", "platform", "session_id", "stream_id", "event_time"},
        {"url", "listings"},
    )
    _actor_id(body, "actor")
    _match(body, "platform", _PLATFORM, "a platform name like tiktok or shopee")
    _match(body, "session_id", _TOKEN, "a session id (printable ASCII, no spaces)")
    _match(body, "stream_id", _TOKEN, "a stream id (printable ASCII, no spaces)")
    _time(body, "event_time")
    if "url" in body:
        _text(body, "url", 500)
        if not str(body["url"]).startswith("https://"):
            raise InvalidInput("a stream url starts with https://")
    listings = body.get("listings", [])
    if not isinstance(listings, list) or len(listings) > MAX_SESSION_LISTINGS:
        raise InvalidInput(f"listings is a list of at most {MAX_SESSION_LISTINGS} listing ids")
    for listing in listings:
        if not isinstance(listing, str) or not _TOKEN.match(listing):
            raise InvalidInput("every listing is a listing id (printable ASCII, no spaces)")
    if len(set(listings)) != len(listings):
        raise InvalidInput("a listing is named once")


_VALIDATORS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    ACTOR_REGISTER: _validate_register,
    ACTOR_UPDATE: _validate_update,
    KEY_ADD: _validate_key_add,
    KEY_REVOKE: _validate_key_revoke,
    COMMISSION: _validate_commission,
    PACK: _validate_pack,
    UNPACK: _validate_unpack,
    SHIP: _validate_ship,
    RECEIVE: _validate_receive,
    CANCEL: _validate_cancel,
    SELL: _validate_sell,
    CLAIM: _validate_claim,
    RECALL: _validate_recall,
    DECOMMISSION: _validate_decommission,
    REPACK: _validate_repack,
    LISTING_DECLARE: _validate_listing,
    LISTING_CLOSE: _validate_listing_close,
    STREAM_DECLARE: _validate_stream,
}
for _name, _validate in _VALIDATORS.items():
    register_entry_type(_name, _validate)
