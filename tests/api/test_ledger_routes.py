"""The ledger routes: POST /v1/entries (per-entry results, proofs, limits) and the reads
(keys, items, actors, listings) with their 404/422 answers."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.log.entries import NOTICE, sign_entry
from ledger.log.verify import verify_inclusion
from ledger.provenance.events.names import COMMISSION, KEY_REVOKE, RECALL
from tests.api.conftest import Api
from tests.api.test_log_routes import b64d, error_code
from tests.supply import GTIN, GTIN_B, OTHER_GTIN, TZ, ids, key_for


def commission(api: Api, serials: list[str], actor: str = "fishco", gtin: str = GTIN):  # type: ignore[no-untyped-def]
    body = api.supply.event(actor, gtin=gtin, serials={"list": serials})
    return sign_entry(COMMISSION, body, api.supply.keys[actor])


# --- POST /v1/entries --------------------------------------------------------------------------


def test_accepted_entries_come_with_proofs_against_a_fresh_checkpoint(api: Api) -> None:
    envelopes = [commission(api, ["A1"]), commission(api, ["A2", "A3"])]
    response = api.post_entries(*envelopes)
    assert response.status_code == 200, response.text
    body = response.json()
    checkpoint = api.service.open_checkpoint(body["checkpoint"]).checkpoint
    assert checkpoint.tree_size == api.service.store.head().size
    results = body["results"]
    assert [r["index"] for r in results] == [checkpoint.tree_size - 2, checkpoint.tree_size - 1]
    for result in results:
        stored = api.service.store.entry(result["index"])
        assert b64d(result["leaf_hash"]) == stored.leaf_hash
        assert result["integrated_time"] == stored.integrated_time
        assert result["proof"]["tree_size"] == checkpoint.tree_size
        verify_inclusion(
            result["index"],
            checkpoint.tree_size,
            stored.leaf_hash,
            [b64d(h) for h in result["proof"]["inclusion_path"]],
            checkpoint.root_hash,
        )
    item = api.client.get(f"/v1/items/{GTIN}/A2").json()
    assert item["status"] == "active"
    assert item["timeline"][0]["index"] == results[1]["index"]


def test_each_entry_gets_its_own_result(api: Api) -> None:
    good = commission(api, ["B1"])
    tampered = good.to_obj()
    tampered["body"] = dict(tampered["body"], serials={"list": ["B9"]})  # signature no longer fits
    no_signature = {k: v for k, v in good.to_obj().items() if k != "signature"}
    unknown_type = dict(good.to_obj(), type="event.teleport")
    not_owner = commission(api, ["C1"], gtin=OTHER_GTIN)  # fishco does not own that prefix
    response = api.post_entries(
        good, no_signature, unknown_type, tampered, not_owner, good, "text", None, [1]
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 9
    assert set(results[0]) == {"index", "leaf_hash", "integrated_time", "proof"}
    codes = [r["error"]["code"] if "error" in r else "ok" for r in results]
    assert codes[0] == "ok"
    assert codes[1] == "invalid_input"
    assert codes[2] == "unknown_type"
    assert codes[3] == "signature_invalid"
    assert codes[4] not in ("ok", "invalid_input")  # a ledger rule refused it
    assert codes[5] == "duplicate_entry"
    assert codes[6:] == ["invalid_input"] * 3
    assert all(r["error"]["message"] for r in results[1:])


def test_a_batch_with_nothing_valid_appends_nothing(api: Api) -> None:
    size = api.service.store.head().size
    response = api.post_entries({"type": NOTICE})
    assert response.status_code == 200
    assert "error" in response.json()["results"][0]
    assert api.service.store.head().size == size


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"entries": []},
        {"entries": "x"},
        {"entries": {"a": 1}},
        {"entries": [], "extra": 1},
        {"entry": []},
        None,
    ],
    ids=["list", "empty-entries", "string", "object", "extra-key", "misspelled", "null"],
)
def test_bodies_of_another_shape_are_422(memory_api: Api, payload: Any) -> None:
    response = memory_api.client.post("/v1/entries", json=payload)
    assert response.status_code == 422, response.text
    assert error_code(response) == "invalid_request"


def test_a_body_that_is_not_json_is_422(memory_api: Api) -> None:
    response = memory_api.client.post(
        "/v1/entries", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert error_code(response) == "invalid_request"


def test_more_than_1000_entries_are_413(api: Api) -> None:
    entry = sign_entry(NOTICE, {"title": "t"}, api.supply.operator).to_obj()
    response = api.client.post("/v1/entries", json={"entries": [entry] * 1_001})
    assert response.status_code == 413
    assert error_code(response) == "too_many_entries"
    ok = api.client.post("/v1/entries", json={"entries": [entry] * 1_000})
    codes = [r.get("error", {}).get("code", "ok") for r in ok.json()["results"]]
    assert codes[0] == "ok"
    assert set(codes[1:]) == {"duplicate_entry"}


def test_bodies_beyond_the_limit_are_413(memory_api: Api) -> None:
    response = memory_api.client.post(
        "/v1/entries",
        content=b'{"entries": ["' + b"x" * (1 << 20) + b'"]}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert error_code(response) == "body_too_large"


def test_entries_without_the_key_get_proofs_only_when_a_checkpoint_covers_them(
    api: Api,
) -> None:
    api.service.log_key = None
    response = api.post_entries(commission(api, ["D1"])).json()
    assert "proof" not in response["results"][0] or response["results"][0]["proof"] is None
    assert response["checkpoint"] == api.service.latest_checkpoint().note


# --- keys ---------------------------------------------------------------------------------------


def test_key_names_its_actor(api: Api) -> None:
    key = api.supply.keys["fishco"]
    response = api.client.get(f"/v1/keys/{key.key_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["actor_id"] == "fishco"
    assert body["public_key"] == key.public_key.to_text()
    assert body["revoked"] is False
    assert body["revoked_index"] is None
    assert body["effective_time"] is None


def test_revoked_key_shows_its_revocation(api: Api) -> None:
    key = api.supply.keys["distri"]
    when = api.supply.now
    revoke = {
        "actor": "distri",
        "key_id": key.key_id,
        "effective_time": when,
        "compromised_since": when - 5_000,
        "reason": "laptop stolen",
        "event_time": when,
    }
    api.supply.ok(KEY_REVOKE, revoke, api.supply.operator)
    body = api.client.get(f"/v1/keys/{key.key_id}").json()
    assert body["revoked"] is True
    assert body["revoked_index"] == api.service.store.head().size - 1
    assert (body["effective_time"], body["compromised_since"]) == (when, when - 5_000)
    assert body["reason"] == "laptop stolen"


def test_unknown_and_malformed_keys(api: Api) -> None:
    response = api.client.get("/v1/keys/" + key_for("nobody").key_id)
    assert response.status_code == 404
    assert error_code(response) == "unknown_key"
    for bad in ("XYZ", "0123456789ABCDEF", "0" * 17):
        response = api.client.get(f"/v1/keys/{bad}")
        assert response.status_code == 422, bad
        assert error_code(response) == "invalid_request"


# --- items -------------------------------------------------------------------------------------


def test_item_state_and_timeline_follow_custody(api: Api) -> None:
    s = api.supply
    s.commission("fishco", GTIN, {"list": ["E1", "E/2"]}, lot="L7")
    s.ship("fishco", "distri", ids(GTIN, "E1"), "S-1")
    body = api.client.get(f"/v1/items/{GTIN}/E1").json()
    assert body["status"] == "in_transit"
    assert body["pending_to"] == "distri"
    assert body["lot"] == "L7"
    assert [t["type"] for t in body["timeline"]] == ["event.commission", "event.ship"]
    assert body["timeline"][1]["summary"].startswith("shipped by fishco to distri")
    assert body["timeline"][0]["tz"] == TZ
    s.receive("distri", "fishco", "S-1")
    body = api.client.get(f"/v1/items/{GTIN}/E1").json()
    assert (body["status"], body["custodian"]) == ("active", "distri")
    slash = api.client.get(f"/v1/items/{GTIN}/E%2F2")  # a serial may hold '/'
    assert slash.status_code == 200, slash.text
    assert slash.json()["serial"] == "E/2"
    assert api.client.get(f"/v1/items/{GTIN}/E/2").json()["item_id"] == slash.json()["item_id"]
    short = GTIN.lstrip("0")  # GTIN-13 form is normalised
    assert api.client.get(f"/v1/items/{short}/E1").json()["gtin"] == GTIN


def test_unknown_and_malformed_items(api: Api) -> None:
    response = api.client.get(f"/v1/items/{GTIN}/NEVER")
    assert response.status_code == 404
    assert error_code(response) == "unknown_item"
    bad_check_digit = GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10)
    for path in (f"/v1/items/{bad_check_digit}/A1", f"/v1/items/{GTIN}/{'x' * 21}"):
        response = api.client.get(path)
        assert response.status_code == 400, path
        assert error_code(response).startswith("invalid")


# --- actors -----------------------------------------------------------------------------------


def test_actor_and_its_keys(api: Api) -> None:
    body = api.client.get("/v1/actors/fishco").json()
    assert body["role"] == "producer"
    assert body["prefixes"] == ["8930001"]
    assert body["verified"] is True
    assert [k["key_id"] for k in body["keys"]] == [api.supply.keys["fishco"].key_id]
    seller = api.client.get("/v1/actors/shop-x").json()
    assert (seller["verified"], seller["handles"]) == (False, ["tiktok:shopx"])


def test_unknown_and_malformed_actors(api: Api) -> None:
    response = api.client.get("/v1/actors/nobody")
    assert response.status_code == 404
    assert error_code(response) == "unknown_actor"
    response = api.client.get("/v1/actors/Not%20An%20Id")
    assert response.status_code == 422
    assert error_code(response) == "invalid_request"


# --- listings ----------------------------------------------------------------------------------


def stock_shop_a(api: Api, serials: list[str]) -> None:
    s = api.supply
    s.commission("fishco", GTIN, {"list": serials})
    s.ship("fishco", "shop-a", ids(GTIN, *serials), "S-L")
    s.receive("shop-a", "fishco", "S-L")


def test_listing_backed_by_stock(api: Api) -> None:
    stock_shop_a(api, ["F1", "F2"])
    api.supply.listing("shop-a", "tiktok", "live/123", GTIN, quantity=2)
    response = api.client.get("/v1/listings/tiktok/live/123")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["backed"], body["stock"], body["reasons"]) == (True, 2, [])
    assert (body["seller"], body["quantity"], body["status"]) == ("shop-a", 2, "open")


def test_listing_not_backed_says_why(api: Api) -> None:
    stock_shop_a(api, ["G1"])
    api.supply.listing("shop-a", "tiktok", "999", GTIN, quantity=1)
    assert api.client.get("/v1/listings/tiktok/999").json()["backed"] is True
    api.supply.ship("shop-a", "distri", ids(GTIN, "G1"), "S-back")  # the stock leaves
    body = api.client.get("/v1/listings/tiktok/999").json()
    assert body["backed"] is False
    assert body["stock"] == 0
    assert any("holds 0 sellable" in reason for reason in body["reasons"])


def recall(api: Api, **fields: Any) -> None:
    s = api.supply
    s.ok(RECALL, s.event("fishco", gtin=GTIN_B, reason="test recall", **fields), s.keys["fishco"])


def listing_flags(api: Api, listing: str) -> tuple[bool, bool, int]:
    body = api.client.get(f"/v1/listings/tiktok/{listing}").json()
    return body["recalled"], body["backed"], body["stock"]


def test_listing_recalled_when_the_seller_holds_recalled_items(api: Api) -> None:
    s = api.supply
    s.commission("fishco", GTIN_B, {"list": ["A1", "A2", "A3"]}, lot="LA")
    s.commission("fishco", GTIN_B, {"list": ["B1", "B2"]}, lot="LB")
    s.commission("fishco", GTIN_B, {"list": ["C1"]}, lot="LC")
    s.ship("fishco", "shop-a", ids(GTIN_B, "A1", "A2", "A3", "B1", "B2"), "S-A")
    s.receive("shop-a", "fishco", "S-A")
    s.listing("shop-a", "tiktok", "by-gtin", GTIN_B, quantity=2)
    s.listing("shop-a", "tiktok", "by-serial", GTIN_B, serials=ids(GTIN_B, "A1"))
    assert listing_flags(api, "by-gtin") == (False, True, 5)
    # A lot the producer still holds is recalled: nothing shop-a holds is.
    recall(api, scope="lot", lot="LC")
    assert listing_flags(api, "by-gtin") == (False, True, 5)
    # A lot shop-a holds: the listing may ship a recalled item, though enough stock is left.
    recall(api, scope="lot", lot="LB")
    assert listing_flags(api, "by-gtin") == (True, True, 3)
    assert listing_flags(api, "by-serial") == (False, True, 1)  # A1 is not recalled
    recall(api, scope="items", serials=["A1"])
    assert listing_flags(api, "by-serial") == (True, False, 0)
    assert listing_flags(api, "by-gtin") == (True, True, 2)


def test_listing_recalled_with_its_gtin_even_without_stock(api: Api) -> None:
    s = api.supply
    s.commission("fishco", GTIN_B, {"list": ["D1"]})
    s.ship("fishco", "shop-a", ids(GTIN_B, "D1"), "S-D")
    s.receive("shop-a", "fishco", "S-D")
    s.listing("shop-a", "tiktok", "gone", GTIN_B, quantity=1)
    s.ship("shop-a", "distri", ids(GTIN_B, "D1"), "S-back")  # the stock leaves
    assert listing_flags(api, "gone") == (False, False, 0)
    recall(api, scope="gtin")
    assert listing_flags(api, "gone") == (True, False, 0)


def test_unknown_and_malformed_listings(api: Api) -> None:
    response = api.client.get("/v1/listings/tiktok/none")
    assert response.status_code == 404
    assert error_code(response) == "unknown_listing"
    response = api.client.get("/v1/listings/TikTok!/1")
    assert response.status_code == 422
    assert error_code(response) == "invalid_request"


def test_unknown_routes_are_json_404(memory_api: Api) -> None:
    response = memory_api.client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert error_code(response) == "not_found"
