"""Entry envelopes: canonical form, domain separation, parsing of malformed input."""

from __future__ import annotations

import base64
import json

import pytest

from ledger.errors import InvalidInput, LimitExceeded, TracemarkError
from ledger.keys import PrivateKey
from ledger.log.canonical import canonical_json
from ledger.log.entries import (
    GENESIS,
    NOTICE,
    Envelope,
    LogEntry,
    entry_type,
    register_entry_type,
    sign_entry,
    signing_message,
)
from ledger.log.hashing import leaf_hash
from ledger.log.note import NoteVerifier, open_note

KEY = PrivateKey.from_seed(b"\x07" * 32)  # TEST ONLY


def test_envelope_round_trip_and_canonical_bytes() -> None:
    env = sign_entry(NOTICE, {"title": "Chào", "text": "a\nb"}, KEY)
    again = Envelope.from_json(env.to_json())
    assert again == env
    assert env.to_json() == canonical_json(env.to_obj())
    assert env.verify(KEY.public_key)


def test_leaf_is_canonical_json_with_integrated_time() -> None:
    env = sign_entry(NOTICE, {"title": "x"}, KEY)
    leaf = env.leaf_bytes(1_700_000_000_123)
    obj = json.loads(leaf)
    assert obj["time"] == 1_700_000_000_123
    assert canonical_json(obj) == leaf
    parsed = LogEntry.from_leaf(5, leaf)
    assert parsed.envelope == env and parsed.integrated_time == 1_700_000_000_123


def test_signature_is_domain_separated_by_type_and_purpose() -> None:
    register_entry_type("test.other", lambda body: None)
    env = sign_entry(NOTICE, {"title": "x"}, KEY)
    # Same body and signature under another entry type: rejected.
    forged = Envelope.from_obj({**env.to_obj(), "type": "test.other"})
    assert not forged.verify(KEY.public_key)
    # The signed bytes are never a valid signed-note text (they contain NUL).
    message = env.message()
    assert message.startswith(b"tracemark/entry/log.notice/v1\x00")
    assert KEY.public_key.verify(env.signature, message)
    note = (
        message.decode("utf-8", "replace")
        + "\n\n— x "
        + base64.b64encode(b"\x00" * 4 + env.signature).decode()
        + "\n"
    )
    with pytest.raises(TracemarkError):
        open_note(note, [NoteVerifier.from_public_key("x", KEY.public_key)])
    assert signing_message(entry_type(NOTICE), env.body_bytes) == message


def test_statement_hash_ignores_signature_bytes_but_not_signer() -> None:
    env = sign_entry(NOTICE, {"title": "x"}, KEY)
    other = sign_entry(NOTICE, {"title": "x"}, PrivateKey.from_seed(b"\x08" * 32))
    assert env.statement_hash != other.statement_hash
    resigned = Envelope(env.kind, env.body, env.body_bytes, env.signer, b"\x01" * 64)
    assert resigned.statement_hash == env.statement_hash


GOOD = sign_entry(NOTICE, {"title": "x"}, KEY).to_obj()

MALFORMED = {
    "not-an-object": [],
    "missing-signature": {k: v for k, v in GOOD.items() if k != "signature"},
    "extra-field": {**GOOD, "extra": 1},
    "unknown-type": {**GOOD, "type": "no.such"},
    "signer-not-hex": {**GOOD, "signer": "XYZ"},
    "signature-not-base64": {**GOOD, "signature": "***"},
    "signature-short": {**GOOD, "signature": base64.b64encode(b"x" * 63).decode()},
    "body-not-object": {**GOOD, "body": "x"},
    "body-invalid-for-type": {**GOOD, "body": {"nope": 1}},
    "body-float-nan-like": {**GOOD, "body": {"title": "x", "text": 1.5}},
}


@pytest.mark.parametrize("case", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_envelopes_raise_invalid_input(case: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        Envelope.from_obj(case)
    assert caught.value.message


@pytest.mark.parametrize(
    "text",
    [b"", b"{", b'{"a":1,"a":2}', b"\xff\xfe", b"[" * 100 + b"]" * 100, b'{"x":NaN}'],
    ids=["empty", "truncated", "duplicate-key", "not-utf8", "too-deep", "nan"],
)
def test_malformed_json_text_raises_invalid_input(text: bytes) -> None:
    with pytest.raises(InvalidInput):
        Envelope.from_json(text)


def test_oversized_entry_is_refused() -> None:
    with pytest.raises(LimitExceeded):
        Envelope.from_json(b'{"body":"' + b"x" * 400_000 + b'"}')


@pytest.mark.parametrize(
    "leaf",
    [
        b'{"body":{"title":"x"}}',
        GOOD and canonical_json({**GOOD, "time": "soon"}),
        canonical_json({**GOOD, "time": 1})[:-1] + b" }",
    ],
    ids=["missing-fields", "time-not-int", "not-canonical"],
)
def test_malformed_stored_leaves_raise_invalid_input(leaf: bytes) -> None:
    with pytest.raises(InvalidInput):
        LogEntry.from_leaf(3, leaf)


def test_genesis_body_is_validated() -> None:
    with pytest.raises(InvalidInput):
        sign_entry(GENESIS, {"origin": "has space", "operator": {}, "key": "x"}, KEY)
    with pytest.raises(InvalidInput):
        sign_entry(
            GENESIS,
            {"origin": "o", "operator": {"id": "op", "name": "n"}, "key": "ed25519:AAAA"},
            KEY,
        )


def shown(index: int = 4, time: int = 1_700_000_000_123) -> dict[str, object]:
    """An entry as ``tracemark log show --json`` prints it."""
    env = sign_entry(NOTICE, {"title": "shown"}, KEY)
    leaf = env.leaf_bytes(time)
    return {
        "index": index,
        "type": env.type,
        "signer": env.signer,
        "integrated_time": time,
        "leaf_hash": base64.b64encode(leaf_hash(leaf)).decode(),
        "chain_hash": base64.b64encode(b"\x11" * 32).decode(),
        "body": dict(env.body),
        "signature": base64.b64encode(env.signature).decode(),
    }


def test_an_entry_as_log_show_prints_it_parses() -> None:
    entry = LogEntry.from_shown(shown())
    assert entry.index == 4 and entry.integrated_time == 1_700_000_000_123
    assert entry.envelope.body == {"title": "shown"} and entry.envelope.verify(KEY.public_key)
    assert LogEntry.from_leaf(4, entry.leaf) == entry


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        pytest.param({"body": {"title": "edited"}}, "leaf_hash is not the hash", id="edited-body"),
        pytest.param({"integrated_time": 5}, "leaf_hash is not the hash", id="edited-time"),
        pytest.param(
            {"leaf_hash": base64.b64encode(b"\x00" * 32).decode()},
            "leaf_hash is not the hash",
            id="edited-leaf-hash",
        ),
        pytest.param({"chain_hash": "AAAA"}, "chain_hash must be 32 bytes", id="short-chain-hash"),
        pytest.param({"index": -1}, "index must be a non-negative", id="negative-index"),
        pytest.param({"integrated_time": True}, "integrated_time must be", id="boolean-time"),
        pytest.param({"extra": 1}, "unexpected extra", id="unknown-field"),
    ],
)
def test_a_shown_entry_whose_log_fields_disagree_is_refused(
    edit: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        LogEntry.from_shown({**shown(), **edit})


def test_a_shown_entry_needs_every_log_field() -> None:
    obj = shown()
    del obj["leaf_hash"]
    with pytest.raises(InvalidInput, match="missing leaf_hash"):
        LogEntry.from_shown(obj)
