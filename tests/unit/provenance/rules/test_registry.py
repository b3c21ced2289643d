"""ledger/provenance/rules/registry.py: who registers actors, and who adds and revokes keys."""

from __future__ import annotations

from ledger.provenance.events.names import ACTOR_REGISTER, ACTOR_UPDATE, KEY_ADD, KEY_REVOKE
from ledger.provenance.records import Actor, KeyRecord
from tests.supply import key_for
from tests.unit.provenance.rules.harness import OPERATOR, Rules


def test_the_operator_registers_an_actor_with_its_prefixes_and_keys() -> None:
    rules = Rules()
    key = rules.register("fishco", "producer", prefixes=["8930001"])
    actor = rules.view.get(Actor, ("fishco",))
    assert actor is not None and actor.role == "producer" and actor.prefixes == ("8930001",)
    record = rules.view.get(KeyRecord, (key.public_key.key_id,))
    assert record is not None and record.actor_id == "fishco"


def test_only_the_operator_registers_actors() -> None:
    rules = Rules()
    producer = rules.register("fishco", "producer")
    rules.refused("not_operator", ACTOR_REGISTER, rules.actor("shop", "seller"), producer)


def test_an_actor_id_and_a_gs1_prefix_are_registered_once() -> None:
    rules = Rules()
    rules.register("fishco", "producer", prefixes=["8930001"])
    rules.refused("actor_exists", ACTOR_REGISTER, rules.actor("fishco", "producer"), OPERATOR)
    body = rules.actor("other", "producer", prefixes=["8930001"])
    rules.refused("prefix_taken", ACTOR_REGISTER, body, OPERATOR)


def test_a_handle_belongs_to_one_actor_whatever_its_spelling() -> None:
    rules = Rules()
    rules.register("shopa", "seller", handles=["tiktok:@ShopA"])
    body = rules.actor("shopb", "seller", handles=["tiktok:shopa"])
    rules.refused("handle_taken", ACTOR_REGISTER, body, OPERATOR)


def test_an_unknown_key_cannot_sign() -> None:
    rules = Rules()
    stranger = key_for("stranger")
    rules.refused("unknown_key", ACTOR_REGISTER, rules.actor("shop", "seller"), stranger)


def test_an_actor_adds_its_own_key_and_may_not_add_anothers() -> None:
    rules = Rules()
    own = rules.register("fishco", "producer")
    rules.register("shop", "seller")
    extra = key_for("fishco-2").public_key.to_text()
    rules.ok(KEY_ADD, {"actor": "fishco", "key": extra, "event_time": rules.now}, own)
    taken = rules.keys["shop"].public_key.to_text()
    rules.refused(
        "key_exists", KEY_ADD, {"actor": "fishco", "key": taken, "event_time": rules.now}, own
    )


def test_a_revoked_key_signs_nothing_after_its_effective_time() -> None:
    rules = Rules()
    key = rules.register("fishco", "producer")
    revoke = {
        "actor": "fishco",
        "key_id": key.public_key.key_id,
        "effective_time": rules.now,
        "event_time": rules.now,
    }
    rules.ok(KEY_REVOKE, revoke, OPERATOR)
    update = {"id": "fishco", "name": "New name", "event_time": rules.now}
    rules.refused("key_revoked", ACTOR_UPDATE, update, key)
    extra = key_for("fishco-2").public_key.to_text()
    body = {"actor": "fishco", "key": extra, "event_time": rules.now}
    rules.refused("key_revoked", KEY_ADD, body, key)


def test_the_genesis_key_cannot_be_revoked_by_an_entry() -> None:
    rules = Rules()
    revoke = {
        "actor": "operator",
        "key_id": OPERATOR.public_key.key_id,
        "effective_time": rules.now,
        "event_time": rules.now,
    }
    rules.refused("operator_key", KEY_REVOKE, revoke, OPERATOR)
