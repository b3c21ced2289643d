"""GET /v1/items/{gtin}/{serial}/bundle: an offline proof bundle that verifies with the pinned
log key (and the witnesses), from the story of tests/bundles.py; its errors are problems."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from ledger.usecases.service import now_ms
from ledger.verdicts.bundles import verify_bundle
from tests.api.conftest import settings
from tests.bundles import LOG_VKEY, WITNESSES, Story, bundle_story
from tests.conftest import make_store
from tests.supply import GTIN, signed_code

URL = f"/v1/items/{GTIN}/A1/bundle"


@pytest.fixture(params=["memory", "sqlite"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TestClient, Story]]:
    store = make_store(request.param, request, tmp_path)
    story = bundle_story(store=store)
    with TestClient(create_app(settings(tmp_path), service=story.service)) as client:
        yield client, story
    store.close()


def test_the_bundle_of_an_item_verifies_offline_with_its_code(served: tuple) -> None:
    client, story = served
    answer = client.get(URL, params={"code": story.code})
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    assert bundle["code"] == story.code and bundle["item"] == f"01/{GTIN}/21/A1"
    result = verify_bundle(bundle, log_key=LOG_VKEY, witnesses=WITNESSES, quorum=2, now=now_ms())
    assert result.ok, result.to_obj()
    assert result.summary is not None and result.summary.recalled
    assert client.get(f"/v1/items/{GTIN}/A1").json()["status"] == result.summary.status


def test_a_newer_entry_is_proven_against_a_fresh_unwitnessed_checkpoint(served: tuple) -> None:
    client, story = served
    s = story.supply
    s.ship("fishco", "shop-b", [f"01/{GTIN}/21/B9"], "S-20")
    bundle = client.get(f"/v1/items/{GTIN}/B9/bundle").json()
    result = verify_bundle(bundle, log_key=LOG_VKEY, now=now_ms())
    assert result.ok and result.summary is not None
    assert result.summary.custody_status == "in_transit"
    witnessed = verify_bundle(bundle, log_key=LOG_VKEY, witnesses=WITNESSES, quorum=1, now=now_ms())
    assert [c.name for c in witnessed.failures] == ["witnesses"]


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        (f"/v1/items/{GTIN}/NOPE/bundle", {}, 404, "unknown_item"),
        ("/v1/items/123/A1/bundle", {}, 400, "invalid_gtin"),
        (URL, {"code": "not a code"}, 400, "malformed_code"),
    ],
)
def test_bad_requests_are_problems(
    served: tuple, path: str, params: dict, status: int, code: str
) -> None:
    client, _ = served
    answer = client.get(path, params=params)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code


def test_a_code_of_another_item_is_refused(served: tuple) -> None:
    client, story = served
    other = signed_code(story.supply, "A2", lot="L7")
    answer = client.get(URL, params={"code": other})
    assert (answer.status_code, answer.json()["code"]) == (400, "code_mismatch")


def test_a_server_without_the_operator_key_has_no_bundles(served: tuple) -> None:
    client, story = served
    story.service.log_key = None
    answer = client.get(URL)
    assert (answer.status_code, answer.json()["code"]) == (503, "no_operator_key")


def test_a_serial_with_a_slash_still_reaches_the_item_route(served: tuple) -> None:
    client, _ = served
    answer = client.get(f"/v1/items/{GTIN}/{quote('A/1', safe='')}")
    assert (answer.status_code, answer.json()["code"]) == (404, "unknown_item")
