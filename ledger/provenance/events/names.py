"""The names of every entry type the supply-chain ledger records: one home for them.

Actors and keys (``actor.*``, ``key.*``), the EPCIS-shaped supply-chain events (``event.*``,
``EVENT_TYPES``), listings (``listing.*``), stream sessions (``stream.declare``) and attestations
(``attest.*``: verified sellers and product qualifications). The log's
own entry types (genesis, notice) are in ``ledger.log.entries``.
"""

from __future__ import annotations

__all__ = [
    "ACTOR_REGISTER",
    "ACTOR_UPDATE",
    "ATTEST_IDENTITY",
    "ATTEST_QUALIFICATION",
    "ATTEST_REVOKE",
    "CANCEL",
    "CLAIM",
    "COMMISSION",
    "DECOMMISSION",
    "EVENT_TYPES",
    "KEY_ADD",
    "KEY_REVOKE",
    "LISTING_CLOSE",
    "LISTING_DECLARE",
    "PACK",
    "RECALL",
    "RECEIVE",
    "REPACK",
    "SELL",
    "SHIP",
    "STREAM_DECLARE",
    "UNPACK",
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
ATTEST_IDENTITY = "attest.identity"
ATTEST_QUALIFICATION = "attest.qualification"
ATTEST_REVOKE = "attest.revoke"
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
