"""C2SP signed-note and tlog-checkpoint vectors (tests/vectors/signed-note-vectors.json)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import InvalidInput, LimitExceeded, SignatureError
from ledger.keys import PrivateKey
from ledger.log.checkpoint import Checkpoint, open_checkpoint
from ledger.log.note import NoteSigner, NoteVerifier, open_note, parse_note, sign_note

VECTORS = Path(__file__).parents[1] / "vectors"
DATA: dict[str, Any] = json.loads((VECTORS / "signed-note-vectors.json").read_text("utf-8"))
KEYS: dict[str, dict[str, str]] = DATA["keys"]
VALID = DATA["valid_notes"]
INVALID = DATA["invalid_notes"]
SUMDB_ORIGIN = "go.sum database tree"


def slug(text: str) -> str:
    """The leading plain words of a description, as a test id: 'wrong public key length'."""
    words = []
    for word in text.split():
        if not word.isalpha():
            break
        words.append(word.lower())
    return "-".join(words)


def verifiers(vector: dict[str, Any]) -> list[NoteVerifier]:
    return [NoteVerifier.from_vkey(vkey) for vkey in vector["verifier_keys"]]


def note_forms(vector: dict[str, Any]) -> list[str | bytes]:
    """The note as text (when given) and as the exact bytes of ``note_base64``."""
    forms: list[str | bytes] = []
    if "note" in vector:
        forms.append(vector["note"])
    if "note_base64" in vector:
        forms.append(base64.b64decode(vector["note_base64"]))
    return forms


@pytest.mark.parametrize("name", sorted(KEYS))
def test_vkey_parses_and_round_trips(name: str) -> None:
    key = KEYS[name]
    verifier = NoteVerifier.from_vkey(key["vkey"])
    assert verifier.name == key["name"]
    assert verifier.key_id.hex() == key["key_id"]
    assert verifier.public_key.raw.hex() == key["public_key_hex"]
    assert verifier.key_type == 0x01
    assert verifier.to_vkey() == key["vkey"]


@pytest.mark.parametrize("name", sorted(n for n in KEYS if "skey" in KEYS[n]))
def test_skey_derives_vkey(name: str) -> None:
    signer = NoteSigner.from_skey(KEYS[name]["skey"])
    assert signer.name == name
    assert signer.to_vkey() == KEYS[name]["vkey"]
    assert signer.to_skey() == KEYS[name]["skey"]


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v["id"])
def test_valid_note_opens(vector: dict[str, Any]) -> None:
    for form in (vector["note"], vector["note"].encode("utf-8")):
        opened = open_note(form, verifiers(vector))
        assert opened.text == vector["text"]
        assert [s.name for s in opened.verified] == vector["verified_signers"]
        assert [s.name for s in opened.unverified] == vector["unverified_signers"]


@pytest.mark.parametrize(
    "vector", [v for v in VALID if "sign_with_skey" in v], ids=lambda v: v["id"]
)
def test_signing_reproduces_note(vector: dict[str, Any]) -> None:
    signer = NoteSigner.from_skey(KEYS[vector["sign_with_skey"]]["skey"])
    if vector["id"] == "go-add-enoch":
        # Go's example: Peter's note, opened, then re-signed by Enoch keeps Peter's line.
        peter_note = next(v for v in VALID if v["id"] == "go-peter-single")["note"]
        peter = NoteVerifier.from_vkey(KEYS["PeterNeumann"]["vkey"])
        assert sign_note(open_note(peter_note, [peter]), [signer]) == vector["note"]
        assert sign_note(parse_note(peter_note), [signer]) == vector["note"]
    else:
        assert sign_note(vector["text"], [signer]) == vector["note"]


@pytest.mark.parametrize("vector", INVALID, ids=lambda v: v["id"])
def test_invalid_note_rejected(vector: dict[str, Any]) -> None:
    forms = note_forms(vector)
    assert forms
    for form in forms:
        with pytest.raises((InvalidInput, SignatureError)) as caught:
            open_note(form, verifiers(vector))
        assert caught.value.message
        if vector["go_error"] == "malformed note":
            assert isinstance(caught.value, InvalidInput)
        else:
            assert isinstance(caught.value, SignatureError)
        if vector["id"] == "too-many-signatures":
            assert isinstance(caught.value, LimitExceeded)


@pytest.mark.parametrize("vector", DATA["invalid_vkeys"], ids=lambda v: slug(v["why"]))
def test_invalid_vkey_rejected(vector: dict[str, str]) -> None:
    with pytest.raises(InvalidInput) as caught:
        NoteVerifier.from_vkey(vector["vkey"])
    assert caught.value.message


@pytest.mark.parametrize("vector", DATA["checkpoints"], ids=lambda v: v["id"])
def test_checkpoint_body_parses(vector: dict[str, Any]) -> None:
    # behind-the-sofa has no published key: parse only, never verify.
    body = vector["note_text"] if "note_text" in vector else parse_note(vector["note"]).text
    checkpoint = Checkpoint.from_text(body, origin=vector["origin"])
    assert checkpoint.origin == vector["origin"]
    assert checkpoint.tree_size == vector["tree_size"]
    assert checkpoint.root_hash.hex() == vector["root_hash_hex"]
    assert base64.b64encode(checkpoint.root_hash).decode() == vector["root_hash_b64"]
    assert list(checkpoint.extensions) == vector.get("extension_lines", [])
    assert checkpoint.to_text() == body


BAD_BODIES = [
    pytest.param(body, why, id=f"{vector['id']}-{slug(why)}")
    for vector in DATA["checkpoints"]
    for body, why in zip(
        vector.get("bad_bodies", []), vector.get("bad_bodies_why", []), strict=True
    )
]


@pytest.mark.parametrize(("body", "why"), BAD_BODIES)
def test_bad_checkpoint_body_rejected(body: str, why: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Checkpoint.from_text(body, origin=SUMDB_ORIGIN)
    assert caught.value.message
    # The same body correctly signed by a log is still refused when opened as a checkpoint.
    signer = NoteSigner("example.com/log", PrivateKey.from_seed(bytes(range(32))))
    note = sign_note(body, [signer])
    with pytest.raises(InvalidInput):
        open_checkpoint(note, signer.verifier, origin=SUMDB_ORIGIN)


@pytest.mark.parametrize("vector", [v for v in VALID if "checkpoint" in v], ids=lambda v: v["id"])
def test_sumdb_checkpoint_opens(vector: dict[str, Any]) -> None:
    log = NoteVerifier.from_vkey(KEYS["sum.golang.org"]["vkey"])
    signed = open_checkpoint(vector["note"], log, origin=SUMDB_ORIGIN)
    expected = vector["checkpoint"]
    assert signed.checkpoint.origin == expected["origin"]
    assert signed.checkpoint.tree_size == expected["tree_size"]
    assert signed.checkpoint.root_hash.hex() == expected["root_hash_hex"]
    assert signed.text == vector["text"]
    assert signed.note == vector["note"]
    assert signed.log_signature.name == "sum.golang.org"
    others = [n for n in vector["verified_signers"] if n != "sum.golang.org"]
    assert [s.name for s in signed.other_signatures] == others


def test_sumdb_cosigned_checkpoint_verifies_with_all_four_keys() -> None:
    vector = next(v for v in VALID if v["id"] == "sumdb-checkpoint-cosigned")
    names = ["sum.golang.org", "monkeys", "bananas", "witness"]
    opened = open_note(vector["note"], [NoteVerifier.from_vkey(KEYS[n]["vkey"]) for n in names])
    assert [s.name for s in opened.verified] == names
    assert opened.unverified == ()
    # Each key on its own also opens it; the other three lines are then unverified.
    for name in names:
        alone = open_note(vector["note"], [NoteVerifier.from_vkey(KEYS[name]["vkey"])])
        assert [s.name for s in alone.verified] == [name]
        assert [s.name for s in alone.unverified] == [n for n in names if n != name]
