"""Listing bodies: ``listing.declare`` (a seller offers a GTIN on a platform, by quantity or
exact items) and ``listing.close``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.codes.identifiers import parse_item_id
from ledger.errors import InvalidInput
from ledger.log.entries import register_entry_type
from ledger.provenance.events.fields import (
    PLATFORM,
    TOKEN,
    actor_id,
    gtin_field,
    id_list,
    is_int,
    match,
    millis,
    shape,
    text,
)
from ledger.provenance.events.names import LISTING_CLOSE, LISTING_DECLARE

__all__ = ["validate_listing", "validate_listing_close"]


def validate_listing(body: Mapping[str, Any]) -> None:
    shape(
        body,
        LISTING_DECLARE,
        {"actor", "platform", "listing_id", "gtin", "event_time"},
        {"stream_id", "quantity", "serials"},
    )
    actor_id(body, "actor")
    match(body, "platform", PLATFORM, "a platform name like tiktok or shopee")
    match(body, "listing_id", TOKEN, "a listing id (printable ASCII, no spaces)")
    if "stream_id" in body:
        match(body, "stream_id", TOKEN, "a stream id (printable ASCII, no spaces)")
    gtin_field(body)
    millis(body, "event_time")
    if "serials" in body:
        id_list(body, "serials")
        gtins = {parse_item_id(i).gtin for i in body["serials"]}
        if gtins != {body["gtin"]}:
            raise InvalidInput("every listed item must be of the listing's GTIN")
    quantity = body.get("quantity", len(body.get("serials", [])))
    if not is_int(quantity) or not 1 <= quantity <= 10_000_000:
        raise InvalidInput("quantity must be a whole number from 1 (or list serials)")
    if "serials" in body and quantity != len(body["serials"]):
        raise InvalidInput("quantity must equal the number of listed serials")


def validate_listing_close(body: Mapping[str, Any]) -> None:
    shape(body, LISTING_CLOSE, {"actor", "platform", "listing_id", "event_time"}, {"reason"})
    actor_id(body, "actor")
    match(body, "platform", PLATFORM, "a platform name")
    match(body, "listing_id", TOKEN, "a listing id")
    millis(body, "event_time")
    if "reason" in body:
        text(body, "reason", 500)


register_entry_type(LISTING_DECLARE, validate_listing)
register_entry_type(LISTING_CLOSE, validate_listing_close)
