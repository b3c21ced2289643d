"""The transparency-log routes: checkpoint, entries, proofs, witness cosignatures, trust.

Every answer is checked the way a client would: proofs with ledger.log.merkle against the
signed checkpoint, cosigned notes with ledger.log.checkpoint, the trust bundle with
TrustBundle.open and the log's pinned verifier key.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from ledger.codes.trust import TrustBundle
from ledger.errors import Conflict
from ledger.keys import PrivateKey
from ledger.log.checkpoint import (
    Checkpoint,
    CosignatureVerifier,
    cosign_checkpoint,
    open_checkpoint,
    sign_checkpoint,
    verify_cosignatures,
)
from ledger.log.entries import NOTICE, sign_entry
from ledger.log.note import NoteSigner
from ledger.log.verify import verify_consistency, verify_inclusion
from ledger.storage.memory.log import MemoryStore
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService
from tests.api.conftest import (
    OTHER_WITNESS_KEY,
    WITNESS,
    WITNESS_KEY,
    Api,
    serve,
)
from tests.api.conftest import settings as api_settings
from tests.conftest import ORIGIN, initialized, notices
from tests.supply import GTIN

COSIGNED_AT = 1_760_000_000  # seconds, as witnesses stamp cosignatures


def b64d(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def grow(api: Api, count: int = 3, tag: str = "n") -> None:
    api.service.append(notices(api.supply.operator, count, tag=tag), now=api.supply.tick())


def error_code(response) -> str:  # type: ignore[no-untyped-def]
    """The code of an error answer, checked to be an RFC 9457 problem (api/http/app.py)."""
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail", "code", "error"}, body
    assert body["status"] == response.status_code, body
    assert body["error"] == {"code": body["code"], "message": body["detail"]}, body
    return str(body["code"])


# --- checkpoint -------------------------------------------------------------------------------


def test_checkpoint_is_the_signed_note_byte_exact(api: Api) -> None:
    response = api.client.get("/v1/log/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    latest = api.service.latest_checkpoint()
    assert response.content == latest.note.encode("utf-8")
    opened = api.service.open_checkpoint(response.text)
    assert opened.checkpoint.tree_size == api.service.store.head().size


def test_checkpoint_is_signed_fresh_when_the_log_grew(api: Api) -> None:
    before = api.client.get("/v1/log/checkpoint").text
    grow(api)
    after = api.client.get("/v1/log/checkpoint").text
    size = api.service.store.head().size
    assert after != before
    assert api.service.open_checkpoint(after).checkpoint.tree_size == size
    assert api.client.get("/v1/log/checkpoint").text == after  # unchanged: no new signature


def test_a_checkpoint_stored_by_another_worker_first_is_served(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    grow(api)
    stored = api.service.checkpoint(now=api.supply.tick()).note  # "the other worker"

    def lost_the_race(*, now: int) -> None:
        raise Conflict("the database refused the write: duplicate key")

    monkeypatch.setattr(api.service, "checkpoint", lost_the_race)
    assert api.client.get("/v1/log/checkpoint").text == stored
    response = api.post_entries(sign_entry(NOTICE, {"title": "race"}, api.supply.operator))
    assert response.status_code == 200
    assert response.json()["checkpoint"] == stored  # appended; proof once a checkpoint covers it
    assert response.json()["results"][0]["proof"] is None


def test_server_without_the_key_serves_the_latest_stored(
    tmp_path: Path, operator_key: PrivateKey
) -> None:
    service = initialized(MemoryStore(), operator_key)
    service.append(notices(operator_key, 2), now=2_000)
    stored = service.checkpoint(now=2_000).note
    service.append(notices(operator_key, 2, start=2), now=3_000)
    service.log_key = None
    with TestClient(serve(service, tmp_path)) as client:
        assert client.get("/v1/log/checkpoint").text == stored
        proof = client.get("/v1/log/proof/inclusion", params={"index": 1}).json()
        assert proof["tree_size"] == 3
        assert error_code(client.get("/v1/trust")) == "no_operator_key"
        assert client.get("/v1/trust").status_code == 503


def test_a_key_other_than_the_genesis_key_signs_nothing(
    tmp_path: Path, operator_key: PrivateKey
) -> None:
    service = initialized(MemoryStore(), operator_key)
    first = service.latest_checkpoint().note
    service.append(notices(operator_key, 2), now=2_000)
    service.log_key = PrivateKey.from_seed(b"\x07" * 32)  # TEST ONLY: not the operator's
    with TestClient(serve(service, tmp_path)) as client:
        assert client.get("/v1/log/checkpoint").text == first
        assert client.get("/v1/trust").status_code == 503


def test_uninitialized_log_answers_404(tmp_path: Path) -> None:
    with TestClient(serve(LogService(MemoryStore()), tmp_path)) as client:
        for path in ("/v1/log/checkpoint", "/v1/log/proof/inclusion?index=0"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert error_code(response) in ("no_checkpoint", "not_initialized")
        assert client.get("/v1/log/entries").json() == {"entries": []}


# --- entries ---------------------------------------------------------------------------------


def test_entries_are_the_stored_leaves(api: Api) -> None:
    response = api.client.get("/v1/log/entries", params={"start": 1, "end": 4})
    assert response.status_code == 200
    got = response.json()["entries"]
    assert [e["index"] for e in got] == [1, 2, 3]
    for entry in got:
        stored = api.service.store.entry(entry["index"])
        leaf = b64d(entry["leaf"])
        assert leaf == stored.data
        assert b64d(entry["leaf_hash"]) == hashlib.sha256(b"\x00" + leaf).digest()
        assert entry["type"] == stored.entry_type == "actor.register"
        assert entry["integrated_time"] == stored.integrated_time


def test_entries_are_at_most_1000_and_fewer_at_the_tail(api: Api) -> None:
    api.service.append(notices(api.supply.operator, 1_100), now=api.supply.tick())
    size = api.service.store.head().size
    page = api.client.get("/v1/log/entries", params={"start": 0, "end": size}).json()["entries"]
    assert len(page) == 1_000
    assert [e["index"] for e in page] == list(range(1_000))
    default = api.client.get("/v1/log/entries", params={"start": 1_000}).json()["entries"]
    assert [e["index"] for e in default] == list(range(1_000, size))
    beyond = api.client.get("/v1/log/entries", params={"start": size + 5})
    assert beyond.json() == {"entries": []}


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"start": 5, "end": 5}, 400, "invalid_range"),
        ({"start": 5, "end": 2}, 400, "invalid_range"),
        ({"start": -1}, 422, "invalid_request"),
        ({"start": "x"}, 422, "invalid_request"),
        ({"start": 2**62}, 422, "invalid_request"),
    ],
    ids=["empty-range", "reversed-range", "negative-start", "not-a-number", "huge-start"],
)
def test_entries_refuse_bad_ranges(
    memory_api: Api, query: dict[str, object], status: int, code: str
) -> None:
    response = memory_api.client.get("/v1/log/entries", params=query)
    assert response.status_code == status
    assert error_code(response) == code


# --- proofs -----------------------------------------------------------------------------------


def test_inclusion_proof_verifies_against_the_signed_checkpoint(api: Api) -> None:
    grow(api, 5)
    size = api.service.store.head().size
    for index in (0, 3, size - 1):
        proof = api.client.get("/v1/log/proof/inclusion", params={"index": index}).json()
        assert proof["tree_size"] == size
        opened = api.service.open_checkpoint(proof["checkpoint"])
        assert opened.checkpoint.tree_size == size
        assert b64d(proof["root_hash"]) == opened.checkpoint.root_hash
        verify_inclusion(
            index,
            size,
            b64d(proof["leaf_hash"]),
            [b64d(h) for h in proof["inclusion_path"]],
            opened.checkpoint.root_hash,
        )
        leaf = api.service.store.entry(index).data
        assert b64d(proof["leaf_hash"]) == hashlib.sha256(b"\x00" + leaf).digest()


def test_inclusion_proof_at_an_older_size(api: Api) -> None:
    old = api.client.get("/v1/log/checkpoint").text
    old_size = api.service.open_checkpoint(old).checkpoint.tree_size
    grow(api, 4)
    api.client.get("/v1/log/checkpoint")
    proof = api.client.get("/v1/log/proof/inclusion", params={"index": 2, "size": old_size}).json()
    assert proof["tree_size"] == old_size
    assert proof["checkpoint"] == old  # this server signed it and kept it at hand
    root = api.service.open_checkpoint(old).checkpoint.root_hash
    verify_inclusion(
        2, old_size, b64d(proof["leaf_hash"]), [b64d(h) for h in proof["inclusion_path"]], root
    )
    unsigned = api.client.get("/v1/log/proof/inclusion", params={"index": 0, "size": 3}).json()
    assert unsigned["checkpoint"] is None  # no checkpoint of size 3 exists
    verify_inclusion(
        0,
        3,
        b64d(unsigned["leaf_hash"]),
        [b64d(h) for h in unsigned["inclusion_path"]],
        b64d(unsigned["root_hash"]),
    )
    assert b64d(unsigned["root_hash"]) == api.service.root_at(3)


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"index": 10_000}, 400, "index_beyond_tree"),
        ({"index": 0, "size": 10_000}, 400, "invalid_input"),
        ({"index": 3, "size": 3}, 400, "index_beyond_tree"),
        ({"index": -1}, 422, "invalid_request"),
        ({"index": 0, "size": 0}, 422, "invalid_request"),
        ({}, 422, "invalid_request"),
    ],
    ids=["index-beyond-log", "size-beyond-log", "index-equals-size", "negative", "size-0", "none"],
)
def test_inclusion_proof_errors(
    memory_api: Api, query: dict[str, int], status: int, code: str
) -> None:
    response = memory_api.client.get("/v1/log/proof/inclusion", params=query)
    assert response.status_code == status, response.text
    assert error_code(response) == code


def test_consistency_proof_verifies(api: Api) -> None:
    old = api.service.open_checkpoint(api.client.get("/v1/log/checkpoint").text).checkpoint
    grow(api, 7)
    proof = api.client.get("/v1/log/proof/consistency", params={"old": old.tree_size}).json()
    new = api.service.open_checkpoint(proof["checkpoint"]).checkpoint
    assert (proof["old_size"], proof["new_size"]) == (old.tree_size, new.tree_size)
    assert b64d(proof["old_root"]) == old.root_hash
    assert b64d(proof["new_root"]) == new.root_hash
    verify_consistency(
        old.tree_size,
        new.tree_size,
        old.root_hash,
        new.root_hash,
        [b64d(h) for h in proof["consistency_path"]],
    )
    explicit = api.client.get("/v1/log/proof/consistency", params={"old": 2, "new": 5}).json()
    verify_consistency(
        2,
        5,
        api.service.root_at(2),
        api.service.root_at(5),
        [b64d(h) for h in explicit["consistency_path"]],
    )


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"old": 5, "new": 3}, 400, "invalid_range"),
        ({"old": 10_000}, 400, "invalid_range"),
        ({"old": 1, "new": 10_000}, 400, "invalid_input"),
        ({"old": 0}, 422, "invalid_request"),
    ],
    ids=["old-above-new", "old-beyond-log", "new-beyond-log", "old-0"],
)
def test_consistency_proof_errors(
    memory_api: Api, query: dict[str, int], status: int, code: str
) -> None:
    response = memory_api.client.get("/v1/log/proof/consistency", params=query)
    assert response.status_code == status, response.text
    assert error_code(response) == code


# --- witnesses ------------------------------------------------------------------------------


def witness_verifier(key: PrivateKey = WITNESS_KEY, name: str = WITNESS) -> CosignatureVerifier:
    return CosignatureVerifier.from_public_key(name, key.public_key)


def post_note(api: Api, note: str | bytes):  # type: ignore[no-untyped-def]
    data = note.encode("utf-8") if isinstance(note, str) else note
    return api.client.post(
        "/v1/log/witness/cosignature", content=data, headers={"Content-Type": "text/plain"}
    )


def test_witness_cosignature_is_kept_and_served(api: Api) -> None:
    note = api.client.get("/v1/log/checkpoint").text
    size = api.service.open_checkpoint(note).checkpoint.tree_size
    cosigned = cosign_checkpoint(note, WITNESS, WITNESS_KEY, COSIGNED_AT)
    response = post_note(api, cosigned)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["tree_size"] == size
    assert body["cosignatures"] == [
        {"witness": WITNESS, "key_id": witness_verifier().key_id.hex(), "timestamp": COSIGNED_AT}
    ]
    served = api.client.get("/v1/log/checkpoint", params={"cosigned": 1}).text
    assert served == cosigned  # the operator's note with the witness line appended
    assert [c.timestamp for c in verify_cosignatures(served, [witness_verifier()])] == [COSIGNED_AT]
    assert api.client.get("/v1/log/checkpoint").text == note  # plain stays plain

    later = cosign_checkpoint(note, WITNESS, WITNESS_KEY, COSIGNED_AT + 60)
    assert post_note(api, later).status_code == 200
    assert api.client.get("/v1/log/checkpoint?cosigned=true").text == later  # newest kept

    # The log grows: cosigned=1 keeps serving the newest *witnessed* checkpoint.
    grow(api)
    fresh = api.client.get("/v1/log/checkpoint").text
    assert fresh != note
    assert api.client.get("/v1/log/checkpoint?cosigned=1").text == later
    fresh_cosigned = cosign_checkpoint(fresh, WITNESS, WITNESS_KEY, COSIGNED_AT + 120)
    assert post_note(api, fresh_cosigned).status_code == 200
    assert api.client.get("/v1/log/checkpoint?cosigned=1").text == fresh_cosigned


def test_cosigned_without_any_cosignature_is_the_plain_note(api: Api) -> None:
    plain = api.client.get("/v1/log/checkpoint").text
    assert api.client.get("/v1/log/checkpoint?cosigned=1").text == plain


def test_unknown_witness_is_refused(api: Api) -> None:
    note = api.client.get("/v1/log/checkpoint").text
    stranger = cosign_checkpoint(note, "stranger.test", OTHER_WITNESS_KEY, COSIGNED_AT)
    response = post_note(api, stranger)
    assert response.status_code == 403
    assert error_code(response) == "unknown_witness"
    assert post_note(api, note).status_code == 403  # no cosignature at all


def test_known_witness_with_a_bad_cosignature_is_refused(api: Api) -> None:
    note = api.client.get("/v1/log/checkpoint").text
    forged = cosign_checkpoint(note, WITNESS, OTHER_WITNESS_KEY, COSIGNED_AT)  # wrong key
    # Same name, other key: a different key id, so it is simply unknown...
    assert post_note(api, forged).status_code == 403
    # ...while a flipped bit in the real witness's line fails verification.
    good = cosign_checkpoint(note, WITNESS, WITNESS_KEY, COSIGNED_AT)
    head, line = good.rsplit("\n— ", 1)
    name, sig = line.rstrip("\n").split(" ")
    raw = bytearray(base64.b64decode(sig))
    raw[-1] ^= 1
    flipped = f"{head}\n— {name} {base64.b64encode(bytes(raw)).decode()}\n"
    response = post_note(api, flipped)
    assert response.status_code == 422
    assert error_code(response) == "signature_invalid"


def test_checkpoint_not_signed_by_the_operator_is_refused(api: Api) -> None:
    head = api.service.store.head()
    body = Checkpoint(ORIGIN, head.size, head.root())
    impostor = sign_checkpoint(body, NoteSigner(ORIGIN, PrivateKey.from_seed(b"\x09" * 32)))
    cosigned = cosign_checkpoint(impostor, WITNESS, WITNESS_KEY, COSIGNED_AT)
    response = post_note(api, cosigned)
    assert response.status_code == 422
    assert error_code(response) == "signature_invalid"


def test_operator_signed_fork_is_a_conflict(api: Api) -> None:
    head = api.service.store.head()
    signer = NoteSigner(ORIGIN, api.supply.operator)
    for size, root in ((head.size, b"\x01" * 32), (head.size + 10, head.root())):
        fork = sign_checkpoint(Checkpoint(ORIGIN, size, root), signer)
        response = post_note(api, cosign_checkpoint(fork, WITNESS, WITNESS_KEY, COSIGNED_AT))
        assert response.status_code == 409, response.text
        assert error_code(response) == "checkpoint_mismatch"
    assert api.client.get("/v1/log/checkpoint?cosigned=1").text.count("—") == 1


@pytest.mark.parametrize(
    "note",
    [b"", b"not a note\n", b"\xff\xfe", b"tracemark.test/log\n1\nAAAA\n\n"],
    ids=["empty", "no-signature", "not-utf8", "no-signature-lines"],
)
def test_malformed_cosigned_notes_are_400(memory_api: Api, note: bytes) -> None:
    response = post_note(memory_api, note)
    assert response.status_code == 400, response.text
    assert error_code(response) == "invalid_input"


def test_too_large_cosigned_note_is_413(memory_api: Api) -> None:
    response = post_note(memory_api, b"x" * 70_000)
    assert response.status_code == 413
    assert error_code(response) == "limit_exceeded"


@contextmanager
def second_instance(api: Api, tmp_path: Path) -> Iterator[TestClient]:
    """Another app over the same database, as a second worker or a restart sees it: a new
    store (its own connections) for SQL, the same store object for the in-memory fake."""
    store = api.service.store
    again = SqlStore(store.url) if isinstance(store, SqlStore) else store
    try:
        with TestClient(serve(LogService(again, log_key=api.service.log_key), tmp_path)) as client:
            yield client
    finally:
        if again is not store:
            again.close()


def test_cosignatures_persist_across_app_instances(api: Api, tmp_path: Path) -> None:
    note = api.client.get("/v1/log/checkpoint").text
    cosigned = cosign_checkpoint(note, WITNESS, WITNESS_KEY, COSIGNED_AT + 60)
    assert post_note(api, cosigned).status_code == 200
    with second_instance(api, tmp_path) as other:
        assert other.get("/v1/log/checkpoint?cosigned=1").text == cosigned
        # An older cosignature sent to the other worker does not replace the newer one...
        older = cosign_checkpoint(note, WITNESS, WITNESS_KEY, COSIGNED_AT)
        assert other.post("/v1/log/witness/cosignature", content=older.encode()).status_code == 200
        assert other.get("/v1/log/checkpoint?cosigned=1").text == cosigned
        # ...and what the other worker keeps, this one serves.
        grow(api)
        fresh = other.get("/v1/log/checkpoint").text
        fresh_cosigned = cosign_checkpoint(fresh, WITNESS, WITNESS_KEY, COSIGNED_AT + 120)
        response = other.post("/v1/log/witness/cosignature", content=fresh_cosigned.encode())
        assert response.status_code == 200, response.text
    assert api.client.get("/v1/log/checkpoint?cosigned=1").text == fresh_cosigned
    size = api.service.open_checkpoint(note).checkpoint.tree_size
    assert api.service.store.witnesses.cosigned(size) == cosigned  # older sizes stay kept


def test_two_witnesses_cosignatures_are_served_together(api: Api, tmp_path: Path) -> None:
    other_verifier = witness_verifier(OTHER_WITNESS_KEY, "other.test")
    settings_ = replace(api_settings(tmp_path), witnesses=(witness_verifier(), other_verifier))
    app = create_app(settings_, service=api.service)
    note = api.client.get("/v1/log/checkpoint").text
    first = cosign_checkpoint(note, WITNESS, WITNESS_KEY, COSIGNED_AT)
    second = cosign_checkpoint(note, "other.test", OTHER_WITNESS_KEY, COSIGNED_AT + 5)
    with TestClient(app) as client:
        for cosigned in (first, second):
            response = client.post("/v1/log/witness/cosignature", content=cosigned.encode())
            assert response.status_code == 200, response.text
        served = client.get("/v1/log/checkpoint?cosigned=1").text
    assert served.startswith(note)
    assert served.count("\n— ") == 3  # the operator's line and one line per witness
    found = verify_cosignatures(served, [witness_verifier(), other_verifier])
    assert sorted(c.timestamp for c in found) == [COSIGNED_AT, COSIGNED_AT + 5]


# --- trust bundle --------------------------------------------------------------------------------


def test_trust_bundle_opens_with_the_pinned_log_key(api: Api) -> None:
    grow(api)
    response = api.client.get("/v1/trust")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    vkey = api.service.info().verifier.to_vkey()
    bundle = TrustBundle.open(response.content, vkey, now=_now(), max_age_ms=60_000)
    assert bundle.checkpoint is not None
    assert bundle.checkpoint.checkpoint.tree_size == api.service.store.head().size
    assert bundle.producer_of(GTIN) == ("fishco", "Fishco")
    assert bundle.resolvers == ("https://vt.example.test",)
    # Cached while the log does not grow; a new bundle once it does.
    assert api.client.get("/v1/trust").content == response.content
    grow(api, 1, tag="again")
    again = TrustBundle.open(api.client.get("/v1/trust").content, vkey, now=_now(),
                             max_age_ms=60_000)  # fmt: skip
    assert again.checkpoint is not None
    assert again.checkpoint.checkpoint.tree_size == api.service.store.head().size


def test_trust_bundle_checkpoint_verifies(api: Api) -> None:
    data = api.client.get("/v1/trust").json()
    opened = open_checkpoint(data["bundle"]["checkpoint"], api.service.info().verifier)
    assert opened.checkpoint.origin == ORIGIN


def _now() -> int:
    from ledger.usecases.service import now_ms

    return now_ms()
