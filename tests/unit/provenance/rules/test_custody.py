"""ledger/provenance/rules/custody.py: commissioning, shipping and receiving, one rule at a time."""

from __future__ import annotations

from ledger.codes.identifiers import item_id
from ledger.provenance.events.names import COMMISSION, RECEIVE, SHIP
from ledger.provenance.records import Item
from tests.supply import gtin_for
from tests.unit.provenance.rules.harness import Rules

GTIN = gtin_for("8930001", "0001")
OTHER_GTIN = gtin_for("8930002", "0001")


def _chain() -> Rules:
    rules = Rules()
    rules.register("fishco", "producer", prefixes=["8930001"])
    rules.register("dist", "distributor")
    return rules


def _commission(rules: Rules, *serials: str) -> None:
    body = rules.event("fishco", gtin=GTIN, serials={"list": list(serials)})
    rules.ok(COMMISSION, body, rules.keys["fishco"])


def test_a_producer_commissions_items_of_its_own_gtin() -> None:
    rules = _chain()
    _commission(rules, "S1", "S2")
    item = rules.view.get(Item, (item_id(GTIN, "S1"),))
    assert item is not None and item.custodian == "fishco" and item.status == "active"


def test_a_gtin_of_another_company_prefix_is_refused() -> None:
    rules = _chain()
    body = rules.event("fishco", gtin=OTHER_GTIN, serials={"list": ["S1"]})
    rules.refused("not_gtin_producer", COMMISSION, body, rules.keys["fishco"])


def test_a_serial_is_commissioned_once() -> None:
    rules = _chain()
    _commission(rules, "S1")
    body = rules.event("fishco", gtin=GTIN, serials={"list": ["S1"]})
    rules.refused("serial_commissioned", COMMISSION, body, rules.keys["fishco"])


def test_a_distributor_may_not_commission() -> None:
    rules = _chain()
    body = rules.event("dist", gtin=GTIN, serials={"list": ["S1"]})
    rules.refused("wrong_role", COMMISSION, body, rules.keys["dist"])


def test_custody_moves_on_receipt_not_on_shipment() -> None:
    rules = _chain()
    _commission(rules, "S1")
    items = [item_id(GTIN, "S1")]
    ship = rules.event("fishco", shipment="SH1", to="dist", items=items)
    rules.ok(SHIP, ship, rules.keys["fishco"])
    shipped = rules.view.get(Item, (items[0],))
    assert shipped is not None and shipped.custodian == "fishco"
    rules.refused("item_in_transit", SHIP, {**ship, "shipment": "SH2"}, rules.keys["fishco"])
    rules.ok(RECEIVE, rules.event("dist", shipment="SH1", **{"from": "fishco"}), rules.keys["dist"])
    received = rules.view.get(Item, (items[0],))
    assert received is not None and received.custodian == "dist"


def test_only_the_addressee_receives_a_shipment() -> None:
    rules = _chain()
    rules.register("dist2", "distributor")
    _commission(rules, "S1")
    ship = rules.event("fishco", shipment="SH1", to="dist", items=[item_id(GTIN, "S1")])
    rules.ok(SHIP, ship, rules.keys["fishco"])
    body = rules.event("dist2", shipment="SH1", **{"from": "fishco"})
    rules.refused("not_receiver", RECEIVE, body, rules.keys["dist2"])


def test_nobody_ships_to_themselves() -> None:
    rules = _chain()
    _commission(rules, "S1")
    ship = rules.event("fishco", shipment="SH1", to="fishco", items=[item_id(GTIN, "S1")])
    rules.refused("self_shipment", SHIP, ship, rules.keys["fishco"])


def test_a_recall_may_name_a_contact_and_need_not() -> None:
    import pytest

    from ledger.errors import InvalidInput
    from ledger.log.entries import sign_entry
    from ledger.provenance.events.names import RECALL
    from ledger.provenance.records import Recall

    rules = _chain()
    _commission(rules, "S1", "S2")
    fish = rules.keys["fishco"]
    old = rules.event("fishco", gtin=GTIN, scope="items", serials=["S1"], reason="mould")
    rules.ok(RECALL, old, fish)  # as recalls were made before the field existed
    body = rules.event(
        "fishco", gtin=GTIN, scope="gtin", reason="histamine", contact="1800 6868 / fishco.vn"
    )
    rules.ok(RECALL, body, fish)
    assert rules.view.get(Recall, (GTIN, "")) is not None
    for bad in ("x" * 201, 42, "tab\x07bell"):
        with pytest.raises(InvalidInput, match="contact"):
            sign_entry(RECALL, {**body, "contact": bad}, fish)
