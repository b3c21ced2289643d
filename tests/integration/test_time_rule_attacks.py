"""Back-dating attacks on every event type that touches items (an adversarial review of
issue 13.5): an event dated an hour before the latest event of an item it touches is
refused ``event_backdated``, also when that item is inside a container whose own latest
event is older, and so is one dated beyond the back-dating window; the same event dated
after it is accepted (so the refusal is the time's). On memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ledger.keys import PrivateKey
from ledger.provenance.events.names import (
    CANCEL,
    CLAIM,
    DECOMMISSION,
    PACK,
    RECALL,
    RECEIVE,
    REPACK,
    SELL,
    SHIP,
    UNPACK,
)
from ledger.provenance.records import Item
from ledger.provenance.rules.common import MAX_BACKDATE_MS
from ledger.provenance.rules.custody import claim_commitment
from tests.supply import GTIN, GTIN_B, TZ, Supply, ids, sscc_for

HOUR = 3_600_000
T1 = ids(GTIN, "T1")[0]
CASE = f"00/{sscc_for(41)}"
SECRET = "buyer-secret-0123456789"
BUYER = PrivateKey.from_seed(b"r" * 32)  # TEST ONLY

#: (actor, type, body fields, signing key name) of the event under test, given the items.
Event = tuple[str, str, dict[str, Any], str]


def _ship(s: Supply, tops: list[str]) -> Event:
    return "fishco", SHIP, {"shipment": "B-1", "to": "distri", "items": tops}, "fishco"


def _shipped(s: Supply, tops: list[str]) -> None:
    s.ship("fishco", "distri", tops, "B-0")


def _sold(s: Supply, tops: list[str]) -> None:
    body = s.event("fishco", items=[T1], claims={T1: claim_commitment(T1, SECRET)})
    s.ok(SELL, body, s.keys["fishco"])


def _packed(s: Supply, tops: list[str]) -> None:
    s.pack("fishco", f"00/{sscc_for(42)}", tops)


#: kind -> (setup after the item's story, the event under test)
KINDS: dict[str, tuple[Callable[[Supply, list[str]], None] | None, Callable[..., Event]]] = {
    "ship": (None, _ship),
    "receive": (
        _shipped,
        lambda s, t: ("distri", RECEIVE, {"shipment": "B-0", "from": "fishco"}, "distri"),
    ),
    "cancel": (_shipped, lambda s, t: ("fishco", CANCEL, {"shipment": "B-0"}, "fishco")),
    "pack": (
        None,
        lambda s, t: ("fishco", PACK, {"parent": f"00/{sscc_for(43)}", "children": t}, "fishco"),
    ),
    "unpack": (
        _packed,
        lambda s, t: ("fishco", UNPACK, {"parent": f"00/{sscc_for(42)}"}, "fishco"),
    ),
    "sell": (None, lambda s, t: ("fishco", SELL, {"items": t}, "fishco")),
    "claim": (
        _sold,
        lambda s, t: (
            "",
            CLAIM,
            {"item": T1, "secret": SECRET, "key": BUYER.public_key.to_text()},
            "buyer",
        ),
    ),
    "recall": (
        None,
        lambda s, t: (
            "fishco",
            RECALL,
            {"gtin": GTIN, "scope": "items", "serials": ["T1"], "reason": "r"},
            "fishco",
        ),
    ),
    "decommission": (
        None,
        lambda s, t: ("fishco", DECOMMISSION, {"items": t, "reason": "damaged"}, "fishco"),
    ),
    "repack": (
        None,
        lambda s, t: (
            "fishco",
            REPACK,
            {"inputs": t, "outputs": {"gtin": GTIN_B, "serials": {"list": ["R1"]}}},
            "fishco",
        ),
    ),
}
#: Kinds that cannot act on a container (a sale and a claim are of trade items).
NOT_ON_CONTAINERS = {"sell", "claim"}


def latest(s: Supply, idents: list[str]) -> int:
    with s.service.store.reader() as view:
        found = [view.get(Item, (i,)) for i in idents]
    return max(i.event_time for i in found if i is not None)


def item_story(s: Supply, contained: bool, kind: str) -> list[str]:
    """T1 commissioned (and packed in CASE); inside the case, T1's latest event is later
    than the case's own (a recall of T1 by item), unless a recall would block the event."""
    s.commission("fishco", GTIN, {"list": ["T1"]}, lot="L1")
    if not contained:
        return [T1]
    s.pack("fishco", CASE, [T1])
    if kind not in ("repack",):
        s.tick(HOUR // 2)
        body = s.event("fishco", gtin=GTIN, scope="items", serials=["T1"], reason="check")
        s.ok(RECALL, body, s.keys["fishco"])
        assert latest(s, [T1]) > latest(s, [CASE])
    return [CASE]


def submit(s: Supply, event: Event, when: int) -> Any:
    actor, kind, fields, signer = event
    body = {"event_time": when, "tz": TZ, **fields}
    if actor:
        body["actor"] = actor
    key = BUYER if signer == "buyer" else s.keys[signer]
    return s.submit(kind, body, key)


#: Every kind on a plain item; in a container, the kinds that act on containers (claim and
#: sell act on trade items only).
CASES = [
    pytest.param(kind, contained, id=f"{kind}-{'in-container' if contained else 'item'}")
    for kind in sorted(KINDS)
    for contained in (False, True)
    if not (contained and kind in NOT_ON_CONTAINERS)
]


@pytest.mark.parametrize(("kind", "contained"), CASES)
def test_a_backdated_event_is_refused(story: Supply, kind: str, contained: bool) -> None:
    s = story
    tops = item_story(s, contained, kind)
    setup, make = KINDS[kind]
    if setup is not None:
        s.tick(HOUR // 2)
        setup(s, tops)
    s.tick(2 * HOUR)
    event = make(s, tops)
    last = latest(s, [T1, *tops])
    for when, why in (
        (last - HOUR, "before the latest event"),
        (s.now - MAX_BACKDATE_MS - HOUR, "h before the log's clock"),
    ):
        outcome = submit(s, event, when)
        assert getattr(outcome, "code", None) == "event_backdated", (kind, outcome)
        assert why in outcome.message
    accepted = submit(s, event, last + 1)
    assert getattr(accepted, "code", None) is None, (kind, accepted)
