"""Stream bodies: ``stream.declare``, a seller's live stream (a segment of a session) and the
listings it shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.errors import InvalidInput
from ledger.log.entries import register_entry_type
from ledger.provenance.events.fields import PLATFORM, TOKEN, actor_id, match, millis, shape, text
from ledger.provenance.events.names import STREAM_DECLARE

__all__ = ["MAX_SESSION_LISTINGS", "validate_stream"]

MAX_SESSION_LISTINGS = 100


def validate_stream(body: Mapping[str, Any]) -> None:
    """A seller declares a live stream (or a restart of one: a new segment of the same
    session) with the listings it will show."""
    shape(
        body,
        STREAM_DECLARE,
        {"actor", "platform", "session_id", "stream_id", "event_time"},
        {"url", "listings"},
    )
    actor_id(body, "actor")
    match(body, "platform", PLATFORM, "a platform name like tiktok or shopee")
    match(body, "session_id", TOKEN, "a session id (printable ASCII, no spaces)")
    match(body, "stream_id", TOKEN, "a stream id (printable ASCII, no spaces)")
    millis(body, "event_time")
    if "url" in body:
        text(body, "url", 500)
        if not str(body["url"]).startswith("https://"):
            raise InvalidInput("a stream url starts with https://")
    listings = body.get("listings", [])
    if not isinstance(listings, list) or len(listings) > MAX_SESSION_LISTINGS:
        raise InvalidInput(f"listings is a list of at most {MAX_SESSION_LISTINGS} listing ids")
    for listing in listings:
        if not isinstance(listing, str) or not TOKEN.fullmatch(listing):
            raise InvalidInput("every listing is a listing id (printable ASCII, no spaces)")
    if len(set(listings)) != len(listings):
        raise InvalidInput("a listing is named once")


register_entry_type(STREAM_DECLARE, validate_stream)
