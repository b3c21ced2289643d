"""The witness policy (k of n, ``TRACEMARK_WITNESS_QUORUM``): the verify API and the viewer
say which configured witnesses cosigned the checkpoint of a verdict's proof, and whether they
make it witnessed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.settings import Settings
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.errors import InvalidInput
from ledger.log.checkpoint import CosignatureVerifier, cosign_checkpoint
from tests.api.conftest import (
    OTHER_WITNESS_KEY,
    RESOLVER,
    WITNESS,
    WITNESS_KEY,
    WITNESS_VERIFIER,
    Api,
    settings,
)
from tests.supply import GTIN

OTHER = "witness-two.test"
OTHER_VERIFIER = CosignatureVerifier.from_public_key(OTHER, OTHER_WITNESS_KEY.public_key)
STAMP = 1_760_000_000


def _client(api: Api, tmp_path: Path, **changes: object) -> Iterator[TestClient]:
    app = create_app(replace(settings(tmp_path), **changes), service=api.service)  # type: ignore[arg-type]
    app.state.tracemark.witness_view.ttl_s = 0  # no memory across the test's steps
    with TestClient(app) as client:
        yield client


@pytest.fixture
def code(memory_api: Api) -> str:
    memory_api.supply.commission("fishco", GTIN, {"list": ["W1"]}, lot="L7")
    memory_api.service.checkpoint(now=memory_api.supply.tick())  # the proof needs one
    return issue_uri(CodeIdentity(GTIN, "W1", "L7"), memory_api.supply.keys["fishco"], RESOLVER)


def _verify(client: TestClient, code: str) -> dict:  # type: ignore[type-arg]
    response = client.post("/v1/verify", json={"code": code})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _cosign(client: TestClient, note: str, name: str, key) -> None:  # type: ignore[no-untyped-def]
    cosigned = cosign_checkpoint(note, name, key, STAMP)
    response = client.post(
        "/v1/log/witness/cosignature", content=cosigned, headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 200, response.text


def test_one_of_one_witness_makes_a_checkpoint_witnessed(
    memory_api: Api, code: str, tmp_path: Path
) -> None:
    for client in _client(memory_api, tmp_path):
        proof = _verify(client, code)["proof"]
        assert proof["witnesses"] == {
            "cosigned_by": [],
            "quorum": 1,
            "of": 1,
            "witnessed": False,
        }
        _cosign(client, proof["checkpoint"], WITNESS, WITNESS_KEY)
        after = _verify(client, code)["proof"]
        assert after["tree_size"] == proof["tree_size"]
        assert after["witnesses"]["cosigned_by"] == [WITNESS]
        assert after["witnesses"]["witnessed"] is True
        page = client.get(code.replace(RESOLVER, ""), headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert f"co-signed by {WITNESS}" in page.text and "witnessed (1/1)" in page.text


def test_two_of_two_needs_both(memory_api: Api, code: str, tmp_path: Path) -> None:
    both = (WITNESS_VERIFIER, OTHER_VERIFIER)
    for client in _client(memory_api, tmp_path, witnesses=both, witness_quorum=2):
        note = _verify(client, code)["proof"]["checkpoint"]
        _cosign(client, note, WITNESS, WITNESS_KEY)
        half = _verify(client, code)["proof"]["witnesses"]
        assert half == {"cosigned_by": [WITNESS], "quorum": 2, "of": 2, "witnessed": False}
        _cosign(client, note, OTHER, OTHER_WITNESS_KEY)
        full = _verify(client, code)["proof"]["witnesses"]
        assert full["cosigned_by"] == sorted([WITNESS, OTHER]) and full["witnessed"] is True


def test_a_cosignature_of_a_witness_no_longer_configured_does_not_count(
    memory_api: Api, code: str, tmp_path: Path
) -> None:
    for client in _client(memory_api, tmp_path, witnesses=(WITNESS_VERIFIER, OTHER_VERIFIER)):
        _cosign(client, _verify(client, code)["proof"]["checkpoint"], OTHER, OTHER_WITNESS_KEY)
    for client in _client(memory_api, tmp_path, witnesses=(WITNESS_VERIFIER,)):
        assert _verify(client, code)["proof"]["witnesses"]["cosigned_by"] == []


def test_without_witnesses_the_proof_says_nothing_of_them(
    memory_api: Api, code: str, tmp_path: Path
) -> None:
    for client in _client(memory_api, tmp_path, witnesses=()):
        assert "witnesses" not in _verify(client, code)["proof"]


def test_the_quorum_setting() -> None:
    vkey = WITNESS_VERIFIER.to_vkey()
    assert Settings.from_env({"TRACEMARK_WITNESSES": vkey}).witness_quorum == 1
    with pytest.raises(InvalidInput, match="above the 1"):
        Settings.from_env({"TRACEMARK_WITNESSES": vkey, "TRACEMARK_WITNESS_QUORUM": "2"})
    with pytest.raises(InvalidInput):
        Settings.from_env({"TRACEMARK_WITNESS_QUORUM": "0"})
