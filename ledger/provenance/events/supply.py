"""Supply-chain event bodies, shaped as GS1 EPCIS 2.0 / CBV 2.0 events (what, when, where,
why): commission, pack, unpack, ship, receive, cancel a shipment, sell, claim, recall,
decommission, repack. ``ledger.provenance.epcis`` maps them to EPCIS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.codes.gs1 import validate_serial
from ledger.codes.identifiers import SerialSet, parse_item_id
from ledger.errors import InvalidInput, LimitExceeded
from ledger.keys import PublicKey
from ledger.log.entries import register_entry_type
from ledger.provenance.events.fields import (
    HEX64,
    MAX_ITEMS_PER_EVENT,
    TOKEN,
    TZ,
    URI,
    actor_id,
    common_event,
    gtin_field,
    id_list,
    lot_expiry,
    match,
    millis,
    shape,
    text,
)
from ledger.provenance.events.names import (
    CANCEL,
    CLAIM,
    COMMISSION,
    DECOMMISSION,
    PACK,
    RECALL,
    RECEIVE,
    REPACK,
    SELL,
    SHIP,
    UNPACK,
)

__all__ = [
    "MAX_RECALL_CONTACT",
    "validate_cancel",
    "validate_claim",
    "validate_commission",
    "validate_decommission",
    "validate_pack",
    "validate_recall",
    "validate_receive",
    "validate_repack",
    "validate_sell",
    "validate_ship",
    "validate_unpack",
]


def _product(body: Mapping[str, Any]) -> None:
    product = body["product"]
    if not isinstance(product, dict):
        raise InvalidInput("product must be an object")
    shape(product, "product", {"name"}, {"image_url", "description"})
    text(product, "name", 200)
    if "image_url" in product:
        url = match(product, "image_url", URI, "an https URL")
        if not url.startswith("https://"):
            raise InvalidInput("product image_url must be an https URL")
    if "description" in product:
        text(product, "description", 2000, empty=True)


def validate_commission(body: Mapping[str, Any]) -> None:
    common_event(body, COMMISSION, {"gtin", "serials"}, {"lot", "expiry", "product"})
    gtin_field(body)
    SerialSet.from_obj(body["serials"])
    lot_expiry(body)
    if "product" in body:
        _product(body)


def validate_pack(body: Mapping[str, Any]) -> None:
    common_event(body, PACK, {"parent", "children"}, set())
    if parse_item_id(body["parent"]).item_id != body["parent"]:
        raise InvalidInput("parent is not an item id in normal form", code="invalid_item_id")
    id_list(body, "children")
    if body["parent"] in body["children"]:
        raise InvalidInput("an item cannot be packed into itself")


def validate_unpack(body: Mapping[str, Any]) -> None:
    common_event(body, UNPACK, {"parent"}, {"children"})
    if parse_item_id(body["parent"]).item_id != body["parent"]:
        raise InvalidInput("parent is not an item id in normal form", code="invalid_item_id")
    if "children" in body:
        id_list(body, "children")


def validate_ship(body: Mapping[str, Any]) -> None:
    common_event(body, SHIP, {"shipment", "to", "items"}, set())
    match(body, "shipment", TOKEN, "a shipment id (printable ASCII, no spaces)")
    actor_id(body, "to")
    id_list(body, "items")


def validate_receive(body: Mapping[str, Any]) -> None:
    common_event(body, RECEIVE, {"shipment", "from"}, set())
    match(body, "shipment", TOKEN, "a shipment id")
    actor_id(body, "from")


def validate_cancel(body: Mapping[str, Any]) -> None:
    common_event(body, CANCEL, {"shipment"}, {"reason"})
    match(body, "shipment", TOKEN, "a shipment id")
    if "reason" in body:
        text(body, "reason", 500)


def validate_sell(body: Mapping[str, Any]) -> None:
    common_event(body, SELL, {"items"}, {"claims"})
    id_list(body, "items")
    claims = body.get("claims", {})
    if not isinstance(claims, dict) or set(claims) - set(body["items"]):
        raise InvalidInput("claims must map sold item ids to claim commitments")
    for value in claims.values():
        if not isinstance(value, str) or not HEX64.fullmatch(value):
            raise InvalidInput("a claim commitment is 64 lowercase hex digits (SHA-256)")


def validate_claim(body: Mapping[str, Any]) -> None:
    shape(body, CLAIM, {"item", "secret", "key", "event_time", "tz"}, set())
    millis(body, "event_time")
    match(body, "tz", TZ, "a time zone offset like +07:00")
    if parse_item_id(body["item"]).item_id != body["item"]:
        raise InvalidInput("item is not an item id in normal form", code="invalid_item_id")
    secret = body["secret"]
    if not isinstance(secret, str) or not 16 <= len(secret) <= 128 or not secret.isascii():
        raise InvalidInput("a claim secret is 16 to 128 ASCII characters")
    if not isinstance(body["key"], str):
        raise InvalidInput("key must be a string 'ed25519:<base64>'")
    PublicKey.from_text(body["key"])


MAX_RECALL_CONTACT = 200


def validate_recall(body: Mapping[str, Any]) -> None:
    common_event(body, RECALL, {"gtin", "scope", "reason"}, {"serials", "lot", "contact"})
    gtin_field(body)
    scope = body["scope"]
    text(body, "reason", 500)
    if "contact" in body:  # optional (recalls before it stay valid): a phone, URL or email
        text(body, "contact", MAX_RECALL_CONTACT)
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
        lot_expiry(body)
    elif scope == "gtin":
        if "serials" in body or "lot" in body:
            raise InvalidInput("a recall of a whole GTIN names no lot and no serials")
    else:
        raise InvalidInput("scope must be items, lot or gtin")


def validate_decommission(body: Mapping[str, Any]) -> None:
    common_event(body, DECOMMISSION, {"items", "reason"}, set())
    id_list(body, "items")
    if body["reason"] not in ("destroyed", "decommissioned", "damaged", "expired"):
        raise InvalidInput("reason must be destroyed, decommissioned, damaged or expired")


def validate_repack(body: Mapping[str, Any]) -> None:
    common_event(body, REPACK, {"inputs", "outputs"}, set())
    id_list(body, "inputs")
    outputs = body["outputs"]
    if not isinstance(outputs, dict):
        raise InvalidInput("outputs must be an object: gtin, serials, lot?, expiry?, product?")
    shape(outputs, "repack outputs", {"gtin", "serials"}, {"lot", "expiry", "product"})
    gtin_field(outputs)
    serials = SerialSet.from_obj(outputs["serials"])
    if len(serials) > MAX_ITEMS_PER_EVENT:
        raise LimitExceeded(f"a repack creates at most {MAX_ITEMS_PER_EVENT} items")
    lot_expiry(outputs)
    if "product" in outputs:
        _product(outputs)


register_entry_type(COMMISSION, validate_commission)
register_entry_type(PACK, validate_pack)
register_entry_type(UNPACK, validate_unpack)
register_entry_type(SHIP, validate_ship)
register_entry_type(RECEIVE, validate_receive)
register_entry_type(CANCEL, validate_cancel)
register_entry_type(SELL, validate_sell)
register_entry_type(CLAIM, validate_claim)
register_entry_type(RECALL, validate_recall)
register_entry_type(DECOMMISSION, validate_decommission)
register_entry_type(REPACK, validate_repack)
