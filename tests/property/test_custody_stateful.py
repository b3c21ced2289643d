"""Stateful property test: after any sequence of events, the projection equals a replay.

A hypothesis ``RuleBasedStateMachine`` drives a ``LogService`` on a fresh store (memory,
SQLite, PostgreSQL) with the standard cast of tests/supply.py. Its rules submit random
events: mostly plausible ones, chosen from a small model of what exists, and deliberately
wrong ones (wrong signer, revoked key, not the custodian, in transit, sold, destroyed,
recalled, unknown item, serial already commissioned, SSCC in another's prefix, ...), so
both accepted and rejected paths run.

The model (tests/property/custody_model.py) is written from the rules' documentation, not
from ``ledger.provenance.rules.custody``: it predicts every outcome (accepted, or the rule code of
the
refusal) and after every step the stored projection must agree with it item by item.
Invariants after every step:

    replay      replaying the log into a fresh MemoryProjection gives every stored table
    trees       every item of a tree has the custodian and status of its root
    audit       ``service.audit()`` finds nothing

and at teardown ``service.reindex()`` leaves the projection unchanged.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.codes.identifiers import item_id
from ledger.keys import PrivateKey
from ledger.log.entries import LogEntry, sign_entry
from ledger.provenance.events.names import (
    ACTOR_UPDATE,
    CANCEL,
    CLAIM,
    COMMISSION,
    DECOMMISSION,
    KEY_ADD,
    KEY_REVOKE,
    LISTING_CLOSE,
    LISTING_DECLARE,
    PACK,
    RECALL,
    RECEIVE,
    REPACK,
    SELL,
    SHIP,
    UNPACK,
)
from ledger.provenance.projection import replay
from ledger.provenance.records import RECORD_TYPES, SOLD, Item
from ledger.provenance.rules.custody import MAX_SKEW_MS, claim_commitment
from ledger.storage.memory.log import MemoryStore
from ledger.storage.sql.log import SqlStore
from ledger.usecases.append import Accepted
from ledger.usecases.service import LogService
from tests import conftest
from tests.conftest import BACKENDS, initialized, postgres_unavailable
from tests.property.custody_model import (
    ACTORS,
    FREE_PREFIX,
    GTINS,
    HANDLES,
    LISTED_SERIALS,
    LISTING_IDS,
    NEVER,
    NEVER_PARENT,
    OPERATOR_KEY,
    OWNERS,
    PLATFORMS,
    PREFIXES,
    PRODUCERS,
    SELLERS,
    STRANGER,
    CustodyModel,
    MKey,
    sscc_in,
)
from tests.supply import GTIN, OTHER_GTIN, T0, TZ, key_for, standard


def _often(data: st.DataObject, label: str, percent: int = 80) -> bool:
    """True most of the time; shrinks towards True (the plausible choice)."""
    return data.draw(st.integers(0, 99), label=label) < percent


Pool = Sequence[Any]


def _prefer(data: st.DataObject, mine: Pool, every: Pool, label: str, pct: int = 80) -> Any:
    """Mostly one of ``mine`` (the plausible choices, if any), else one of ``every``."""
    if mine and _often(data, f"preferred {label}", pct):
        return data.draw(st.sampled_from(mine), label=label)
    return data.draw(st.sampled_from(every), label=f"any {label}")


def _some(data: st.DataObject, pool: Sequence[str], label: str, limit: int = 2) -> list[str]:
    """One to ``limit`` different members of ``pool``."""
    some = st.lists(st.sampled_from(pool), min_size=1, max_size=limit, unique=True)
    return data.draw(some, label=label)


class CustodyMachine(RuleBasedStateMachine):
    """Random events against one log; the model predicts each outcome."""

    backend = "memory"

    def __init__(self) -> None:
        super().__init__()
        self._tmp: str | None = None
        self._schema: str | None = None
        self.store = self._open_store()
        self.service: LogService = initialized(self.store, OPERATOR_KEY, now=T0 - 10_000)
        supply = standard(self.service, OPERATOR_KEY)  # registers key_for(actor) for each
        self.now = supply.now
        self.counter = 0
        self.model = CustodyModel()
        cast = [OPERATOR_KEY, *(key_for(actor) for actor in ACTORS[1:])]
        self.private = {key.key_id: key for key in cast}  # every key made, registered or not
        self.model.keys = {key.key_id: MKey(actor) for key, actor in zip(cast, ACTORS, strict=True)}
        self.secrets: dict[str, str] = {}  # claim secrets of sold items
        # Some stock to start from, so that the first steps have something to move.
        self.seed("fishco", GTIN, ["S1", "S2", "S3", "S4", "S5", "S6"], lot="L1")
        self.seed("ricecorp", OTHER_GTIN, ["S1", "S2", "S3"])
        self.seed_delivery("fishco", "shop-a", [item_id(GTIN, "S5"), item_id(GTIN, "S6")])
        self.seed_delivery("ricecorp", "distri", [item_id(OTHER_GTIN, "S3")])
        self.seed_delivery("ricecorp", "shop-b", [item_id(OTHER_GTIN, "S2")])
        # Two verified sellers on one platform, so listing ids can collide between sellers.
        body = {"id": "shop-b", "handles": ["shopee:12345", "tiktok:@new"], "event_time": self.now}
        assert self.step(ACTOR_UPDATE, body, OPERATOR_KEY)

    def seed(self, producer: str, gtin: str, serials: list[str], **lot: str) -> None:
        body = self.on_time(producer, gtin=gtin, serials={"list": serials}, **lot)
        assert self.step(COMMISSION, body, key_for(producer))

    def seed_delivery(self, sender: str, receiver: str, items: list[str]) -> None:
        sid = self.next_id("SEED")
        body = self.on_time(sender, shipment=sid, to=receiver, items=items)
        assert self.step(SHIP, body, key_for(sender))
        body = self.on_time(receiver, shipment=sid, **{"from": sender})
        assert self.step(RECEIVE, body, key_for(receiver))

    def _open_store(self) -> Any:
        if self.backend == "memory":
            return MemoryStore()
        if self.backend == "sqlite":
            self._tmp = tempfile.mkdtemp(prefix="tm-stateful-")
            return SqlStore(f"sqlite:///{Path(self._tmp) / 'log.db'}")
        self._schema = f"tm_{uuid.uuid4().hex[:12]}"
        conftest._pg_admin(f"CREATE SCHEMA {self._schema}")
        sep = "&" if "?" in conftest.PG_URL else "?"
        return SqlStore(f"{conftest.PG_URL}{sep}options=-csearch_path%3D{self._schema}")

    # --- time, bodies, submission -----------------------------------------------------

    @property
    def at(self) -> int:
        """The integrated time of the next entry."""
        return self.now + 1_000

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def when(self, data: st.DataObject) -> int:
        """An event time; sometimes too far ahead of the log's clock."""
        return self.now + 1 if _often(data, "on time", 95) else self.at + MAX_SKEW_MS + 1

    def event_body(self, data: st.DataObject, actor: str, **fields: Any) -> dict[str, Any]:
        return {**self.on_time(actor, **fields), "event_time": self.when(data)}

    def on_time(self, actor: str, **fields: Any) -> dict[str, Any]:
        return {"actor": actor, "event_time": self.now + 1, "tz": TZ, **fields}

    def step(self, kind: str, body: dict[str, Any], key: PrivateKey) -> bool:
        """Submit one entry; the log must answer what the model predicts. True if accepted."""
        expected = self.model.outcome(kind, body, key, self.at)
        self.now += 1_000
        outcome = self.service.append([sign_entry(kind, body, key)], now=self.now)[0]
        got = "ok" if isinstance(outcome, Accepted) else outcome.code
        event(f"{kind}: {got}")
        detail = "" if isinstance(outcome, Accepted) else f": {outcome.message}"
        assert got == expected, f"{kind} {body}\nexpected {expected}, got {got}{detail}"
        if got == "ok":
            self.model.apply(kind, body, key)
        return got == "ok"

    # --- drawing plausible (and implausible) choices -----------------------------------

    def pick_key(self, data: st.DataObject, actor: str) -> PrivateKey:
        """Mostly a valid key of ``actor``; sometimes a revoked one, another's, a stranger's."""
        roll = data.draw(st.integers(0, 99), label="signer")
        if roll >= 97:
            return STRANGER
        if roll >= 88:
            actor = data.draw(st.sampled_from([a for a in ACTORS if a != actor]), label="wrong")
        keys = [k for k, record in self.model.keys.items() if record.actor == actor]
        valid = [k for k in keys if self.model.keys[k].valid_at(self.at)]
        pool = valid if valid and roll < 80 else keys
        if not pool:
            return STRANGER
        return self.private[data.draw(st.sampled_from(pool), label="key")]

    def pick_actor(self, data: st.DataObject, preferred: Sequence[str]) -> str:
        return str(_prefer(data, sorted(preferred), ACTORS, "actor"))

    def pick_items(
        self, data: st.DataObject, actor: str, *, trade: bool = False, limit: int = 3
    ) -> list[str]:
        """Mostly top-level items the actor holds; sometimes its items in any state (packed,
        in transit, sold, destroyed), any items, or an unknown one."""
        items = self.model.items
        mine = self.model.tops(actor, trade=trade)
        roll = data.draw(st.integers(0, 99), label="which items")
        if mine and roll < 75:
            return _some(data, mine, "items", limit)
        held = [i for i, item in items.items() if item.custodian == actor]
        if held and roll < 90:
            return _some(data, held, "items in any state")
        return _some(data, [*items, NEVER], "any items")

    def new_sscc(self, data: st.DataObject, actor: str) -> str:
        """A fresh SSCC: mostly in the actor's own prefix (or, not a producer, a free one)."""
        own = [p for p, owner in PREFIXES.items() if owner == actor] or [FREE_PREFIX]
        prefix = _prefer(data, own, [*PREFIXES, FREE_PREFIX], "sscc prefix", 85)
        return sscc_in(prefix, 100 + int(self.next_id("")))

    # --- rules: items -------------------------------------------------------------------

    @rule(data=st.data())
    def commission(self, data: st.DataObject) -> None:
        actor = self.pick_actor(data, PRODUCERS)
        gtin = data.draw(st.sampled_from(GTINS), label="gtin")
        listed = data.draw(st.lists(st.sampled_from(LISTED_SERIALS), max_size=3, unique=True))
        serials: dict[str, Any] = {}
        if listed:
            serials["list"] = listed
        if not listed or not _often(data, "no range", 60):
            first = data.draw(st.integers(0, 20), label="first")
            last = first + data.draw(st.integers(0, 3), label="length")
            serials["ranges"] = [{"prefix": "R", "first": first, "last": last, "width": 3}]
        lot = data.draw(st.sampled_from(["", "L1", "L2"]), label="lot")
        extra: dict[str, Any] = {"lot": lot} if lot else {}
        if not _often(data, "no product", 70):
            extra["product"] = {"name": f"Product {gtin[-5:]}"}
        body = self.event_body(data, actor, gtin=gtin, serials=serials, **extra)
        self.step(COMMISSION, body, self.pick_key(data, actor))

    @rule(data=st.data())
    def pack(self, data: st.DataObject) -> None:
        actor = self.pick_actor(data, self.model.holders())
        roll = data.draw(st.integers(0, 9), label="parent kind")
        mine = self.model.tops(actor)
        if roll < 6 or (not mine and roll < 9):
            parent = self.new_sscc(data, actor)
        elif roll < 8:
            parent = data.draw(st.sampled_from(mine), label="own parent")
        elif roll < 9:
            parent = data.draw(st.sampled_from(list(self.model.items)), label="any parent")
        else:
            parent = NEVER_PARENT
        chosen = [c for c in self.pick_items(data, actor) if c != parent]
        key = self.pick_key(data, actor)
        body = self.event_body(data, actor, parent=parent, children=chosen or [NEVER])
        self.step(PACK, body, key)

    @precondition(lambda self: any(item.parent for item in self.model.items.values()))
    @rule(data=st.data())
    def unpack(self, data: st.DataObject) -> None:
        model = self.model
        containers = [i for i, item in model.items.items() if not item.parent and model.children(i)]
        actor = self.pick_actor(data, sorted({model.items[c].custodian for c in containers}))
        mine = [c for c in containers if model.items[c].custodian == actor]
        parent = _prefer(data, mine, [*model.items, NEVER], "container")
        direct = model.children(parent) if parent in model.items else []
        fields: dict[str, Any] = {"parent": parent}
        wanted = direct
        if direct and not _often(data, "all children", 60):
            wanted = fields["children"] = _some(data, direct, "some children", len(direct))
        if not _often(data, "real children", 85):
            stray = data.draw(st.sampled_from([*model.items, NEVER]), label="stray child")
            if stray != parent and stray not in wanted:
                fields["children"] = [*wanted, stray]
        self.step(UNPACK, self.event_body(data, actor, **fields), self.pick_key(data, actor))

    @rule(data=st.data())
    def ship(self, data: st.DataObject) -> None:
        actor = self.pick_actor(data, self.model.holders())
        to = _prefer(data, [a for a in ACTORS[1:] if a != actor], [*ACTORS, "nobody"], "receiver")
        own = sorted(sid for sender, sid in self.model.shipments if sender == actor)
        if own and not _often(data, "new shipment id", 90):
            shipment = data.draw(st.sampled_from(own), label="reused shipment id")
        else:
            shipment = self.next_id("SH")
        items = self.pick_items(data, actor)
        key = self.pick_key(data, actor)
        self.step(SHIP, self.event_body(data, actor, shipment=shipment, to=to, items=items), key)

    def pick_shipment(self, data: st.DataObject, *, by_sender: bool) -> tuple[str, str, str]:
        """(actor, sender, shipment id): mostly an open shipment and the party who may act."""
        open_ones = self.model.open_shipments()
        every = sorted(self.model.shipments)
        roll = data.draw(st.integers(0, 9), label="shipment kind")
        if open_ones and roll < (5 if by_sender else 8):
            sender, sid = data.draw(st.sampled_from(open_ones), label="open shipment")
        elif every and roll < 9:
            sender, sid = data.draw(st.sampled_from(every), label="any shipment")
        else:
            sender, sid = data.draw(st.sampled_from(ACTORS), label="sender"), "NOPE"
        shipment = self.model.shipments.get((sender, sid))
        default = sender if by_sender else (shipment.receiver if shipment else "")
        if default and _often(data, "right party"):
            return default, sender, sid
        return data.draw(st.sampled_from(ACTORS), label="party"), sender, sid

    @precondition(lambda self: self.model.open_shipments())
    @rule(data=st.data())
    def receive(self, data: st.DataObject) -> None:
        actor, sender, sid = self.pick_shipment(data, by_sender=False)
        key = self.pick_key(data, actor)
        self.step(RECEIVE, self.event_body(data, actor, shipment=sid, **{"from": sender}), key)

    @precondition(lambda self: self.model.open_shipments())
    @rule(data=st.data())
    def shipment_cancel(self, data: st.DataObject) -> None:
        actor, _sender, sid = self.pick_shipment(data, by_sender=True)
        fields: dict[str, Any] = {"shipment": sid}
        if not _often(data, "no reason", 50):
            fields["reason"] = "wrong address"
        self.step(CANCEL, self.event_body(data, actor, **fields), self.pick_key(data, actor))

    @rule(data=st.data())
    def sell(self, data: st.DataObject) -> None:
        actor = self.pick_actor(data, self.model.holders(trade=True))
        items = self.pick_items(data, actor, trade=_often(data, "trade items", 90), limit=2)
        secrets: dict[str, str] = {}
        for ident in items:
            if _often(data, "with claim code", 75):
                secrets[ident] = f"secret-{self.next_id('c'):0>10}-claim"
        fields: dict[str, Any] = {"items": items}
        if secrets:
            fields["claims"] = {i: claim_commitment(i, s) for i, s in secrets.items()}
        key = self.pick_key(data, actor)
        if self.step(SELL, self.event_body(data, actor, **fields), key):
            self.secrets.update(secrets)

    @precondition(lambda self: any(item.status == SOLD for item in self.model.items.values()))
    @rule(data=st.data())
    def owner_claim(self, data: st.DataObject) -> None:
        items = self.model.items
        claimable = [i for i, it in items.items() if it.claim_commitment and not it.claimed_by]
        sold = [i for i, item in items.items() if item.status == SOLD]
        roll = data.draw(st.integers(0, 9), label="claimed item kind")
        if claimable and roll < 7:
            ident = data.draw(st.sampled_from(claimable), label="claimable item")
        elif sold and roll < 9:
            ident = data.draw(st.sampled_from(sold), label="sold item")
        else:
            ident = data.draw(st.sampled_from([*items, NEVER]), label="any item")
        right = self.secrets.get(ident, "")
        secret = right if right and _often(data, "right secret") else "not-the-secret-0000"
        buyer = PrivateKey.from_seed(self.next_id("buyer").encode().ljust(32, b"."))  # TEST ONLY
        body = {"item": ident, "secret": secret, "key": buyer.public_key.to_text(), "tz": TZ}
        self.step(CLAIM, {**body, "event_time": self.when(data)}, buyer)

    @rule(data=st.data())
    def recall(self, data: st.DataObject) -> None:
        actor = self.pick_actor(data, PRODUCERS)
        gtin = _prefer(data, [g for g, owner in OWNERS.items() if owner == actor], GTINS, "gtin")
        scope = data.draw(st.sampled_from(["items", "items", "items", "lot", "lot", "gtin"]))
        fields: dict[str, Any] = {"gtin": gtin, "scope": scope, "reason": "contamination"}
        if scope == "items":
            of_gtin = {i.split("/")[3]: it for i, it in self.model.items.items() if it.gtin == gtin}
            packed = [serial for serial, it in of_gtin.items() if it.parent]  # inside a container
            pool = packed if packed and _often(data, "packed", 40) else list(of_gtin)
            fields["serials"] = data.draw(
                st.lists(st.sampled_from([*pool, "NEVER9"]), min_size=1, max_size=3),
                label="serials",
            )
        elif scope == "lot":
            fields["lot"] = data.draw(st.sampled_from(["L1", "L2"]), label="lot")
        self.step(RECALL, self.event_body(data, actor, **fields), self.pick_key(data, actor))

    @rule(data=st.data())
    def decommission(self, data: st.DataObject) -> None:
        actor = self.pick_actor(data, self.model.holders())
        items = self.pick_items(data, actor, limit=2)
        reason = data.draw(st.sampled_from(["destroyed", "decommissioned", "damaged", "expired"]))
        key = self.pick_key(data, actor)
        self.step(DECOMMISSION, self.event_body(data, actor, items=items, reason=reason), key)

    @rule(data=st.data())
    def repack(self, data: st.DataObject) -> None:
        actor = self.pick_actor(data, [p for p in PRODUCERS if self.model.tops(p)])
        inputs = self.pick_items(data, actor, limit=2)
        owned = [g for g, owner in OWNERS.items() if owner == actor]
        gtin = _prefer(data, owned, GTINS, "output gtin")
        serials = _some(data, LISTED_SERIALS, "output serials")
        outputs = {"gtin": gtin, "serials": {"list": serials}, "lot": "L2"}
        key = self.pick_key(data, actor)
        self.step(REPACK, self.event_body(data, actor, inputs=inputs, outputs=outputs), key)

    # --- rules: listings ------------------------------------------------------------------

    @rule(data=st.data())
    def listing_declare(self, data: st.DataObject) -> None:
        actor = self.pick_actor(data, SELLERS)
        platforms = [h.split(":")[0] for h in self.model.actors[actor].handles]
        platform = _prefer(data, platforms, PLATFORMS, "platform", 90)
        listing_id = data.draw(st.sampled_from(LISTING_IDS), label="listing id")
        items = self.model.items
        held = sorted({it.gtin for it in items.values() if it.custodian == actor and it.gtin})
        gtin = _prefer(data, held, GTINS, "gtin")
        body: dict[str, Any] = {
            "actor": actor,
            "platform": platform,
            "listing_id": listing_id,
            "gtin": gtin,
        }
        of_gtin = [i for i, it in items.items() if it.gtin == gtin]
        mine = [i for i in of_gtin if items[i].custodian == actor]
        if of_gtin and not _often(data, "by quantity", 70):
            pool = mine if mine and _often(data, "own serials") else of_gtin
            body["serials"] = _some(data, pool, "listed serials", 3)
        else:
            body["quantity"] = data.draw(st.integers(1, 3), label="quantity")
        if not _often(data, "no stream", 70):
            body["stream_id"] = "live-1"
        body["event_time"] = self.when(data)
        self.step(LISTING_DECLARE, body, self.pick_key(data, actor))

    @precondition(lambda self: self.model.listings)
    @rule(data=st.data())
    def listing_close(self, data: st.DataObject) -> None:
        known = sorted(self.model.listings)
        if _often(data, "known listing", 90):
            platform, listing_id = data.draw(st.sampled_from(known), label="listing")
        else:
            platform = data.draw(st.sampled_from(PLATFORMS), label="platform")
            listing_id = "NOPE"
        listing = self.model.listings.get((platform, listing_id))
        actor = self.pick_actor(data, [listing.seller] if listing is not None else [])
        body: dict[str, Any] = {"actor": actor, "platform": platform, "listing_id": listing_id}
        body["event_time"] = self.now + 1
        if not _often(data, "no reason", 50):
            body["reason"] = "sold out"
        self.step(LISTING_CLOSE, body, self.pick_key(data, actor))

    # --- rules: actors and keys -----------------------------------------------------------

    def key_signer(self, data: st.DataObject, subject: str) -> PrivateKey:
        if subject not in self.model.actors or not _often(data, "own key signs", 60):
            return OPERATOR_KEY
        return self.pick_key(data, subject)

    @rule(data=st.data())
    def key_add(self, data: st.DataObject) -> None:
        subject = data.draw(st.sampled_from([*ACTORS, "nobody"]), label="subject")
        if not _often(data, "new key", 90):
            new = self.private[data.draw(st.sampled_from(sorted(self.private)), label="known")]
        else:
            new = key_for(self.next_id(f"{subject}-k"))
            self.private[new.key_id] = new
        signer = self.key_signer(data, subject)
        body = {"actor": subject, "key": new.public_key.to_text(), "event_time": self.when(data)}
        self.step(KEY_ADD, body, signer)

    @rule(data=st.data())
    def key_revoke(self, data: st.DataObject) -> None:
        """Revoke a key, sometimes one already revoked (again, looser or tighter)."""
        subject = data.draw(st.sampled_from(ACTORS), label="subject")
        keys = sorted(self.model.keys)
        own = [k for k in keys if self.model.keys[k].actor == subject]
        target = _prefer(data, own, keys, "revoked key")
        delay = data.draw(st.sampled_from([600_000, 5_000, 2_000, 0, -5_000]), label="delay")
        effective = self.at + delay
        body: dict[str, Any] = {"actor": subject, "key_id": target, "effective_time": effective}
        compromised = data.draw(st.sampled_from([-1, effective - 3_000, effective]))
        if compromised >= 0:
            body["compromised_since"] = compromised
        signer = self.key_signer(data, subject)
        body["event_time"] = self.when(data)
        self.step(KEY_REVOKE, body, signer)

    @rule(data=st.data())
    def update_actor(self, data: st.DataObject) -> None:
        """Suspend or reactivate an actor, mark it verified or not, change its handles."""
        subject = data.draw(st.sampled_from([*ACTORS, "nobody"]), label="subject")
        body: dict[str, Any] = {"id": subject}
        if _often(data, "status change", 70):
            body["status"] = data.draw(st.sampled_from(["active", "active", "suspended"]))
        if not _often(data, "verified unchanged", 85):
            body["verified"] = data.draw(st.booleans(), label="verified")
        if not _often(data, "handles unchanged", 80):
            handles = st.lists(st.sampled_from(HANDLES), max_size=2, unique=True)
            body["handles"] = data.draw(handles, label="handles")
        signer = OPERATOR_KEY
        if not _often(data, "operator signs", 90):
            signer = self.pick_key(data, data.draw(st.sampled_from(ACTORS[1:])))
        body["event_time"] = self.when(data)
        self.step(ACTOR_UPDATE, body, signer)

    # --- invariants ---------------------------------------------------------------------

    def stored_tables(self) -> dict[str, list[Any]]:
        with self.store.reader() as view:
            return {kind.TABLE: view.rows(kind.TABLE) for kind in RECORD_TYPES}

    @invariant()
    def projection_equals_replay(self) -> None:
        size = self.store.size()
        entries = [LogEntry.from_leaf(row.index, row.data) for row in self.store.entries(0, size)]
        expected = replay(entries)
        stored = self.stored_tables()
        for kind in RECORD_TYPES:
            assert stored[kind.TABLE] == expected.rows(kind.TABLE), f"table {kind.TABLE}"

    @invariant()
    def trees_share_custody(self) -> None:
        with self.store.reader() as view:
            items = {item.item_id: item for item in view.rows(Item.TABLE)}
        for item in items.values():
            root = items[item.root]
            assert root.root == root.item_id and not root.parent, item
            assert (item.custodian, item.status) == (root.custodian, root.status), item
            assert (item.pending_to, item.shipment) == (root.pending_to, root.shipment), item
            ancestor = item
            for _ in range(len(items)):
                if not ancestor.parent:
                    break
                ancestor = items[ancestor.parent]
            assert ancestor.item_id == item.root, item

    @invariant()
    def audit_passes(self) -> None:
        report = self.service.audit()
        assert report.ok, report.findings

    @invariant()
    def projection_matches_model(self) -> None:
        with self.store.reader() as view:
            self.model.assert_matches(view)

    def teardown(self) -> None:
        try:
            before = self.stored_tables()
            assert self.service.reindex() == self.store.size()
            assert self.stored_tables() == before
            assert self.service.audit().ok
        finally:
            self.store.close()
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
            if self._schema is not None:
                conftest._pg_admin(f"DROP SCHEMA {self._schema} CASCADE")


def machine_for(backend: str) -> type[CustodyMachine]:
    if backend == "postgresql":
        reason = postgres_unavailable()
        if reason:
            pytest.skip(reason)
    return type(f"CustodyMachine_{backend}", (CustodyMachine,), {"backend": backend})


QUICK = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
#: Examples of the slow variant: every step replays and audits the whole log, so SQL
#: backends get fewer (each takes about 1.5 to 2.5 minutes).
LONG_EXAMPLES = {"memory": 300, "sqlite": 100, "postgresql": 60}


@pytest.mark.parametrize("backend", BACKENDS)
def test_projection_equals_replay_after_random_events(backend: str) -> None:
    run_state_machine_as_test(machine_for(backend), settings=QUICK)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("backend", BACKENDS)
def test_projection_equals_replay_after_many_random_events(backend: str) -> None:
    long = settings(QUICK, max_examples=LONG_EXAMPLES[backend], stateful_step_count=60)
    run_state_machine_as_test(machine_for(backend), settings=long)
