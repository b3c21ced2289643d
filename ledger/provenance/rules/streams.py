"""Rules for stream sessions: a seller declares a live stream and the listings it shows.

A session is named by its seller (``session_id``, unique per platform) and lives on one
platform. Each declaration is a segment with its own stream id: when a stream drops and
the seller goes live again, the new stream id is declared as the next segment of the same
session, so the clone rules see one offer, not two streams (ledger/verdicts/clones.py).
The listings a session names must be the seller's own open listings on that platform.
A stream id belongs to one session for good: nobody can adopt another seller's stream.

Refusal codes: seller_not_verified, handle_not_registered, session_exists, stream_taken,
unknown_listing, not_listing_owner, listing_closed.

**Session scans.** The seller's own tools vouch for a scan made in its session by signing
the context (evidence source ``session``), with a key of the seller registered in the log::

    message   = "tracemark/session-scan/v1" 0x00 platform 0x00 session_id 0x00 code 0x00 time
    time      = 8 bytes, big-endian milliseconds since the Unix epoch
    signature = Ed25519(seller key, message), sent base64url without padding

The prefix keeps such a signature from passing as a code, entry, checkpoint or overlay
signature. A proof is fresh for ``SESSION_PROOF_WINDOW_MS`` around the server's clock, and
holds only for a session of the key's actor.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, replace

from ledger.errors import InvalidInput
from ledger.keys import SIGNATURE_SIZE, PrivateKey, PublicKey
from ledger.provenance.events.names import STREAM_DECLARE
from ledger.provenance.records import (
    OPEN,
    Actor,
    KeyRecord,
    Listing,
    StreamSegment,
    StreamSession,
    View,
)
from ledger.provenance.rules.common import Entry, event_signer, violation

__all__ = [
    "HANDLERS",
    "SESSION_PROOF_WINDOW_MS",
    "SESSION_SCAN_DOMAIN",
    "SessionProof",
    "scan_message",
    "session_of_proof",
    "sign_scan",
]

SESSION_SCAN_DOMAIN = b"tracemark/session-scan/v1\x00"
SESSION_PROOF_WINDOW_MS = 10 * 60 * 1000


def scan_message(platform: str, session_id: str, code: str, time: int) -> bytes:
    """The bytes a session scan proof signs (fields may not hold NUL: unambiguous)."""
    for value in (platform, session_id, code):
        if "\x00" in value:
            raise InvalidInput("a session scan field may not contain NUL")
    if not 0 <= time < 2**63:
        raise InvalidInput("a session scan time is milliseconds since the Unix epoch")
    fields = b"\x00".join(v.encode("utf-8") for v in (platform, session_id, code))
    return SESSION_SCAN_DOMAIN + fields + b"\x00" + time.to_bytes(8, "big")


@dataclass(frozen=True, slots=True)
class SessionProof:
    """A seller's signature over one scan in its session."""

    session_id: str
    key_id: str
    time: int
    signature: bytes

    @classmethod
    def from_text(cls, session_id: str, key_id: str, time: int, signature: str) -> SessionProof:
        try:
            raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        except (binascii.Error, ValueError):
            raise InvalidInput("the session signature is not base64url") from None
        if len(raw) != SIGNATURE_SIZE:
            raise InvalidInput(f"a session signature is {SIGNATURE_SIZE} bytes")
        return cls(session_id, key_id, time, raw)


def sign_scan(
    key: PrivateKey, platform: str, session_id: str, code: str, time: int
) -> SessionProof:
    """The seller's proof for one scan (its tools call this; the key stays with them)."""
    signature = key.sign(scan_message(platform, session_id, code, time))
    return SessionProof(session_id, key.key_id, time, signature)


def session_of_proof(
    view: View, proof: SessionProof, platform: str, code: str, *, now: int
) -> StreamSession | None:
    """The session a proof vouches for, or None: the session exists, its seller is active
    (a suspended seller's signature vouches for nothing, as a revoked platform key), the key
    is the seller's and valid now, the proof is fresh and its signature verifies."""
    if abs(now - proof.time) > SESSION_PROOF_WINDOW_MS:
        return None
    session = view.get(StreamSession, (platform, proof.session_id))
    key = view.get(KeyRecord, (proof.key_id,))
    if session is None or key is None or key.actor_id != session.seller:
        return None
    seller = view.get(Actor, (session.seller,))
    if seller is None or seller.status != "active":
        return None
    if not key.valid_at(now):
        return None
    try:
        message = scan_message(platform, proof.session_id, code, proof.time)
    except InvalidInput:
        return None
    public = PublicKey.from_text(key.public_key)
    return session if public.verify(proof.signature, message) else None


def _declare(entry: Entry) -> None:
    seller = event_signer(entry, roles=("seller", "retailer"))
    body, view = entry.body, entry.view
    platform, session_id, stream_id = body["platform"], body["session_id"], body["stream_id"]
    if not seller.verified:
        raise violation("seller_not_verified", f"{seller.actor_id} has not passed identity checks")
    if not any(h.startswith(platform + ":") for h in seller.handles):
        raise violation(
            "handle_not_registered", f"{seller.actor_id} has no registered {platform} account"
        )
    session = view.get(StreamSession, (platform, session_id))
    if session is not None and session.seller != seller.actor_id:
        raise violation(
            "session_exists", f"session {platform}:{session_id} belongs to {session.seller}"
        )
    segment = view.get(StreamSegment, (platform, stream_id))
    if segment is not None and (segment.session_id, segment.seller) != (
        session_id,
        seller.actor_id,
    ):
        raise violation(
            "stream_taken",
            f"stream {platform}:{stream_id} was declared for session {segment.session_id}",
        )
    listings = tuple(body.get("listings", ()))
    for listing_id in listings:
        listing = view.get(Listing, (platform, listing_id))
        if listing is None:
            raise violation("unknown_listing", f"no listing {platform}:{listing_id}")
        if listing.seller != seller.actor_id:
            raise violation(
                "not_listing_owner", f"listing {listing_id} belongs to {listing.seller}"
            )
        if listing.status != OPEN:
            raise violation("listing_closed", f"listing {listing_id} is closed")
    if session is None:
        session = StreamSession(
            platform, session_id, seller.actor_id, listings, 1, entry.index, entry.index
        )
    elif segment is None:  # a restart: the next segment, with the listings it shows now
        session = replace(
            session,
            listings=tuple(dict.fromkeys((*session.listings, *listings))),
            segments=session.segments + 1,
            last_index=entry.index,
        )
    else:  # the same stream declared again (a retry): new listings join, nothing else moves
        session = replace(
            session,
            listings=tuple(dict.fromkeys((*session.listings, *listings))),
            last_index=entry.index,
        )
    entry.changes.put(session)
    if segment is None:
        entry.changes.put(
            StreamSegment(
                platform,
                stream_id,
                session_id,
                seller.actor_id,
                session.segments,
                entry.index,
            )
        )


HANDLERS: dict[str, Callable[[Entry], None]] = {STREAM_DECLARE: _declare}
