"""Tracemark as a C2SP witness of another Tracemark log, and the log asking it to cosign
(``POST /witness/add-checkpoint``, ``ledger.usecases.cosign.ask_witness``,
``tracemark log witness``): two apps, one the log and one the witness, over HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli
from api.http.app import create_app
from api.settings import WitnessRole
from ledger import errors
from ledger.keyfile import save_private_key
from ledger.keys import PrivateKey
from ledger.log.checkpoint import CosignatureVerifier, verify_cosignatures
from ledger.log.witnessing import format_add_checkpoint
from ledger.storage.memory.log import MemoryStore
from ledger.storage.sql.log import SqlStore
from ledger.usecases.cosign import Post, ask_witness
from ledger.usecases.service import LogService
from tests.api.conftest import Api, settings
from tests.api.test_log_routes import grow
from tests.conftest import initialized, notices

NAME = "witness.tracemark.test/w1"
KEY = PrivateKey.from_seed(b"witness-role-TEST-ONLY-seed-byte")  # TEST ONLY
VERIFIER = CosignatureVerifier.from_public_key(NAME, KEY.public_key)


@pytest.fixture
def witness(tmp_path: Path, memory_api: Api) -> Iterator[TestClient]:
    """A second app, the witness of ``memory_api``'s log."""
    home = tmp_path / "witness"
    home.mkdir()
    save_private_key(home / "witness.key", KEY, None)
    role = WitnessRole(NAME, home / "witness.key", None, (memory_api.service.info().verifier,))
    app = create_app(replace(settings(home), witness_role=role), service=LogService(MemoryStore()))
    with TestClient(app) as client:
        yield client


def _post(client: TestClient) -> Post:
    def post(body: bytes) -> tuple[int, str, str]:
        response = client.post("/witness/add-checkpoint", content=body)
        return response.status_code, response.headers.get("content-type", ""), response.text

    return post


def test_the_log_gets_cosigned_and_serves_the_cosignature(
    memory_api: Api, witness: TestClient
) -> None:
    memory_api.client.get("/checkpoint")  # the server signs a checkpoint of its tree
    kept = ask_witness(memory_api.service, VERIFIER, _post(witness))
    size = memory_api.service.latest_checkpoint().tree_size
    served = memory_api.client.get("/checkpoint").text
    (cosig,) = verify_cosignatures(served, [VERIFIER])
    assert cosig.timestamp == kept.timestamp > 0
    # the log grows; not knowing the witness's size, the log learns it from the 409
    grow(memory_api, 5)
    memory_api.service.checkpoint(now=memory_api.supply.tick())
    ask_witness(memory_api.service, VERIFIER, _post(witness), old_size=0)
    newer = memory_api.service.latest_checkpoint().tree_size
    assert newer == size + 5
    assert verify_cosignatures(memory_api.client.get("/checkpoint").text, [VERIFIER])
    assert memory_api.client.get("/v1/log/checkpoint", params={"cosigned": 1}).text.startswith(
        memory_api.service.latest_checkpoint().note
    )


def test_the_witness_answers_with_the_specs_statuses(memory_api: Api, witness: TestClient) -> None:
    note = memory_api.service.latest_checkpoint().note
    first = witness.post("/witness/add-checkpoint", content=format_add_checkpoint(0, (), note))
    assert first.status_code == 200 and first.text.startswith("\u2014 " + NAME + " ")
    again = witness.post("/witness/add-checkpoint", content=format_add_checkpoint(0, (), note))
    size = memory_api.service.latest_checkpoint().tree_size
    assert (again.status_code, again.text) == (409, f"{size}\n")
    assert again.headers["content-type"] == "text/x.tlog.size"
    garbage = witness.post("/witness/add-checkpoint", content=b"hello")
    assert garbage.status_code == 400
    big = witness.post("/witness/add-checkpoint", content=b"old 0\n\n" + b"x" * (2 << 20))
    assert big.status_code == 413
    # another log the witness does not follow
    stranger_key = PrivateKey.generate()
    stranger = LogService(MemoryStore())
    stranger.initialize(origin="other.test/log", operator_name="X", key=stranger_key, now=1_000)
    stranger.log_key = stranger_key
    other_note = stranger.checkpoint(now=2_000).note
    unknown = witness.post(
        "/witness/add-checkpoint", content=format_add_checkpoint(0, (), other_note)
    )
    assert unknown.status_code == 404


def test_a_forked_log_with_the_same_key_is_never_cosigned(
    memory_api: Api, witness: TestClient, operator_key: PrivateKey
) -> None:
    ask_witness(memory_api.service, VERIFIER, _post(witness))
    # the operator's key signs a second history of the same origin (a split view)
    fork = initialized(MemoryStore(), operator_key)
    fork.log_key = operator_key
    fork.append(notices(operator_key, 40, tag="fork"), now=5_000)
    fork.checkpoint(now=6_000)
    with pytest.raises(errors.VerificationError, match="refused"):
        ask_witness(fork, VERIFIER, _post(witness))
    assert fork.store.witnesses.cosigned() is None


def test_a_server_that_is_not_a_witness_says_so(memory_api: Api) -> None:
    response = memory_api.client.post("/witness/add-checkpoint", content=b"old 0\n\n")
    assert response.status_code == 404
    assert response.json()["code"] == "not_a_witness"


def test_a_wrong_witness_key_or_a_lying_witness_is_refused(
    memory_api: Api, witness: TestClient
) -> None:
    other = CosignatureVerifier.from_public_key(NAME, PrivateKey.generate().public_key)
    with pytest.raises(errors.SignatureError, match="without its cosignature"):
        ask_witness(memory_api.service, other, _post(witness))

    def liar(body: bytes) -> tuple[int, str, str]:
        status, kind, text = _post(witness)(body)
        return status, kind, text.replace("A", "B", 1) if "A" in text[20:] else text + "x"

    with pytest.raises((errors.SignatureError, errors.InvalidInput)):
        ask_witness(memory_api.service, VERIFIER, liar, old_size=0)


def test_cli_witness_refuses_bad_input_and_an_unreachable_witness(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/log.db"
    key = PrivateKey.generate()
    service = initialized(SqlStore(db), key)
    service.log_key = key
    service.checkpoint(now=2_000)
    service.store.close()
    vkey = VERIFIER.to_vkey()

    def run(url: str, witness_key: str) -> tuple[int, str]:
        argv = ["log", "witness", url, "--witness-key", witness_key, "--database-url", db]
        result = CliRunner().invoke(cli, argv)
        return result.exit_code, result.output

    code, output = run("ftp://w", vkey)
    assert code == 2 and "http" in output
    assert run("http://127.0.0.1:1", "nope")[0] == 2
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, output = run(f"http://127.0.0.1:{port}", vkey)
    assert code == 5 and "unreachable" in output and "Traceback" not in output
