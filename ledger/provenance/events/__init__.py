"""Entry bodies of the supply-chain ledger, one module per concept (each registers its own).

Each entry type registers a validator of its body's *shape* (fields, types, formats,
bounds); whether the signer may record it is decided by ``ledger.provenance.rules.custody``
against the projection. Event bodies use the words of GS1 EPCIS 2.0 / CBV 2.0 (what, when,
where, why); ``docs/format.md`` gives each body field by field and
``ledger.provenance.epcis`` maps them to EPCIS.

Every body has ``event_time`` (milliseconds since the epoch, UTC, when it happened) so two
honest statements never have the same bytes; a replay of the same bytes is refused by the
log itself. Events also carry ``tz`` (EPCIS eventTimeZoneOffset, ``+07:00``) and may carry
``read_point`` / ``biz_location`` (EPCIS where, a URI such as an SGLN).

Items are named by item ids and serial sets (``ledger.codes.identifiers``):
``01/<gtin14>/21/<serial>``, ``00/<sscc>``, and serial ranges, so 100,000 serials are one
small entry.

    names     the entry type names (``event.ship``, ...): import them from here
    fields    the field checks the bodies share
    actors    actor.register, actor.update          keys      key.add, key.revoke
    supply    the EPCIS-shaped events               listings  listing.declare, listing.close
    streams   stream.declare
    attestations  attest.identity, attest.qualification, attest.revoke
"""

from __future__ import annotations

# Importing the package registers every body validator with ``ledger.log.entries``.
from ledger.provenance.events import (  # noqa: F401
    actors,
    attestations,
    keys,
    listings,
    streams,
    supply,
)
