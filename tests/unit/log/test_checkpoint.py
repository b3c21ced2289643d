"""Unit tests for ledger.log.checkpoint: C2SP tlog checkpoints and tlog cosignatures."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.errors import InvalidInput, SignatureError
from ledger.keys import PrivateKey
from ledger.log.checkpoint import (
    MAX_TIMESTAMP,
    Checkpoint,
    Cosignature,
    CosignatureVerifier,
    SignedCheckpoint,
    cosign_checkpoint,
    cosignature_message,
    open_checkpoint,
    sign_checkpoint,
    verify_cosignatures,
)
from ledger.log.note import NoteSigner, NoteVerifier, Signature, open_note, sign_note

ORIGIN = "example.com/behind-the-sofa"
ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
BODY = f"{ORIGIN}\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
CHECKPOINT = Checkpoint(ORIGIN, 20852163, ROOT)
LOG = NoteSigner(ORIGIN, PrivateKey.from_seed(bytes(range(32))))
WITNESS_KEY = PrivateKey.from_seed(bytes(range(100, 132)))
WITNESS = "witness.example.com/w1"
WITNESS_VERIFIER = CosignatureVerifier.from_public_key(WITNESS, WITNESS_KEY.public_key)
OTHER_KEY = PrivateKey.from_seed(bytes(range(200, 232)))
OTHER = "witness.example.org/w2"
OTHER_VERIFIER = CosignatureVerifier.from_public_key(OTHER, OTHER_KEY.public_key)
TIME = 1679315147


def last_line_bytes(note: str) -> bytes:
    return base64.b64decode(note[:-1].rsplit(" ", 1)[1])


def with_last_line(note: str, name: str, raw: bytes) -> str:
    head = note[:-1].rsplit("\n", 1)[0]
    return f"{head}\n\u2014 {name} {base64.b64encode(raw).decode()}\n"


# --- checkpoint bodies ---


def test_spec_example_body_parses_and_renders() -> None:
    assert Checkpoint.from_text(BODY) == CHECKPOINT
    assert CHECKPOINT.to_text() == BODY


@pytest.mark.parametrize(
    "checkpoint",
    [
        pytest.param(Checkpoint("o", 0, bytes(32)), id="empty-tree"),
        pytest.param(Checkpoint("o", (1 << 64) - 1, bytes(32)), id="max-size"),
        pytest.param(Checkpoint(ORIGIN, 7, ROOT, ("ext one", "\u2014 two")), id="extensions"),
        pytest.param(Checkpoint("caf\u00e9 log with spaces+plus", 1, ROOT), id="odd-origin"),
    ],
)
def test_round_trip(checkpoint: Checkpoint) -> None:
    assert Checkpoint.from_text(checkpoint.to_text()) == checkpoint


def test_extensions_become_a_tuple() -> None:
    assert Checkpoint("o", 1, ROOT, ["x"]).extensions == ("x",)  # type: ignore[arg-type]


def root_b64(n: int) -> str:
    return base64.b64encode(bytes(n)).decode()


BAD_BODIES = [
    ("size-with-leading-zero", f"{ORIGIN}\n020852163\n{root_b64(32)}\n", "without leading zeros"),
    ("zero-with-leading-zero", f"{ORIGIN}\n00\n{root_b64(32)}\n", "without leading zeros"),
    ("negative-size", f"{ORIGIN}\n-1\n{root_b64(32)}\n", "decimal number"),
    ("plus-sign-size", f"{ORIGIN}\n+1\n{root_b64(32)}\n", "decimal number"),
    ("hex-size", f"{ORIGIN}\n0xabcdef\n{root_b64(32)}\n", "decimal number"),
    ("size-with-space", f"{ORIGIN}\n 1\n{root_b64(32)}\n", "decimal number"),
    ("size-with-underscore", f"{ORIGIN}\n1_000\n{root_b64(32)}\n", "decimal number"),
    ("arabic-indic-digits", f"{ORIGIN}\n\u0661\u0662\n{root_b64(32)}\n", "decimal number"),
    ("empty-size", f"{ORIGIN}\n\n{root_b64(32)}\n", "decimal number"),
    ("size-2-to-the-64", f"{ORIGIN}\n{1 << 64}\n{root_b64(32)}\n", "below 2^64"),
    ("size-21-digits", f"{ORIGIN}\n{10**20}\n{root_b64(32)}\n", "decimal number"),
    ("root-31-bytes", f"{ORIGIN}\n1\n{root_b64(31)}\n", "32 bytes, got 31"),
    ("root-33-bytes", f"{ORIGIN}\n1\n{root_b64(33)}\n", "32 bytes, got 33"),
    ("root-not-base64", f"{ORIGIN}\n1\n{'!' * 44}\n", "not valid base64"),
    ("root-unpadded", f"{ORIGIN}\n1\n{root_b64(32).rstrip('=')}\n", "base64"),
    ("root-non-canonical", f"{ORIGIN}\n1\n{root_b64(32)[:-2]}B=\n", "not canonical"),
    ("root-hex", f"{ORIGIN}\n1\n{bytes(32).hex()}\n", "32 bytes, got 48"),
    ("empty-origin", f"\n1\n{root_b64(32)}\n", "origin must not be empty"),
    ("control-char-in-origin", f"a\tb\n1\n{root_b64(32)}\n", "U+0009"),
    ("missing-final-newline", BODY[:-1], "must end with a newline"),
    ("two-lines", f"{ORIGIN}\n1\n", "at least 3 lines"),
    ("empty-text", "", "must end with a newline"),
    ("empty-extension-line", BODY + "\next\n", "line 4: extension lines must not be empty"),
    ("trailing-blank-line", BODY + "\n", "line 4: extension lines must not be empty"),
    ("carriage-return-line-ends", BODY.replace("\n", "\r\n"), "decimal number"),
]


@pytest.mark.parametrize(
    ("text", "message"), [pytest.param(t, m, id=name) for name, t, m in BAD_BODIES]
)
def test_bad_bodies_rejected(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        Checkpoint.from_text(text)


def test_expected_origin() -> None:
    assert Checkpoint.from_text(BODY, origin=ORIGIN) == CHECKPOINT
    with pytest.raises(InvalidInput, match=re.escape("expected 'example.com/other'")):
        Checkpoint.from_text(BODY, origin="example.com/other")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("", 1, ROOT), "origin must not be empty", id="empty-origin"),
        pytest.param(("a\nb", 1, ROOT), "U+000A", id="newline-in-origin"),
        pytest.param(("o", -1, ROOT), "0 to 2^64-1", id="negative-size"),
        pytest.param(("o", 1 << 64, ROOT), "0 to 2^64-1", id="size-2-to-the-64"),
        pytest.param(("o", True, ROOT), "integer", id="bool-size"),
        pytest.param(("o", 1, ROOT[:31]), "32 bytes", id="root-31-bytes"),
        pytest.param(("o", 1, ROOT.hex()), "32 bytes", id="root-as-hex-text"),
        pytest.param(("o", 1, ROOT, ("",)), "line 4", id="empty-extension"),
        pytest.param(("o", 1, ROOT, ("a", "b\x01")), "line 5", id="control-in-extension"),
    ],
)
def test_bad_checkpoint_values_rejected(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        Checkpoint(*args)  # type: ignore[arg-type]


# --- the log's signature ---


def test_sign_then_open_checkpoint() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG)
    assert note.startswith(BODY + "\n\u2014 example.com/behind-the-sofa ")
    signed = open_checkpoint(note, LOG.verifier, origin=ORIGIN)
    assert signed == SignedCheckpoint(CHECKPOINT, note, signed.log_signature, ())
    assert signed.text == BODY
    assert signed.log_signature.name == ORIGIN
    assert open_checkpoint(note.encode(), LOG.verifier) == signed


def test_open_checkpoint_rejects() -> None:
    note = sign_checkpoint(CHECKPOINT, LOG)
    with pytest.raises(InvalidInput, match=re.escape("expected 'example.com/elsewhere'")):
        open_checkpoint(note, LOG.verifier, origin="example.com/elsewhere")
    stranger = NoteSigner(ORIGIN, PrivateKey.from_seed(bytes(32)))
    with pytest.raises(SignatureError, match="no valid signature"):
        open_checkpoint(note, stranger.verifier)
    with pytest.raises(SignatureError, match="does not verify"):
        open_checkpoint(note.replace("20852163", "20852164"), LOG.verifier)
    with pytest.raises(InvalidInput, match="at least 3 lines"):
        open_checkpoint(sign_note("just text\n", [LOG]), LOG.verifier)


def test_other_signatures_are_returned_unverified() -> None:
    note = cosign_checkpoint(sign_checkpoint(CHECKPOINT, LOG), WITNESS, WITNESS_KEY, TIME)
    signed = open_checkpoint(note, LOG.verifier)
    assert [s.name for s in signed.other_signatures] == [WITNESS]
    assert signed.other_signatures[0].key_id == WITNESS_VERIFIER.key_id


# --- cosignatures ---


def test_cosignature_key_id_uses_type_4() -> None:
    raw = WITNESS_KEY.public_key.raw
    expected = hashlib.sha256(WITNESS.encode() + b"\n\x04" + raw).digest()[:4]
    assert WITNESS_VERIFIER.key_id == expected
    assert WITNESS_VERIFIER.key_type == 0x04
    assert NoteVerifier.from_public_key(WITNESS, WITNESS_KEY.public_key).key_id != expected


def test_cosignature_vkey_round_trip_and_type_checks() -> None:
    vkey = WITNESS_VERIFIER.to_vkey()
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x04
    assert CosignatureVerifier.from_vkey(vkey) == WITNESS_VERIFIER
    with pytest.raises(InvalidInput, match="type 0x04, expected 0x01"):
        NoteVerifier.from_vkey(vkey)
    with pytest.raises(InvalidInput, match="type 0x01, expected 0x04"):
        CosignatureVerifier.from_vkey(LOG.to_vkey())
    with pytest.raises(InvalidInput, match="key id does not match"):
        CosignatureVerifier(WITNESS, LOG.key_id, WITNESS_KEY.public_key)


def test_cosignature_message_is_the_spec_layout() -> None:
    expected = f"cosignature/v1\ntime {TIME}\n{BODY}".encode()
    assert cosignature_message(BODY.encode(), TIME) == expected
    assert cosignature_message(b"x\n", 0) == b"cosignature/v1\ntime 0\nx\n"


def test_cosign_then_verify_round_trip() -> None:
    logged = sign_checkpoint(CHECKPOINT, LOG)
    note = cosign_checkpoint(logged, WITNESS, WITNESS_KEY, TIME)
    assert note.startswith(logged)
    raw = last_line_bytes(note)
    assert raw[:4] == WITNESS_VERIFIER.key_id
    assert int.from_bytes(raw[4:12], "big") == TIME
    assert len(raw) == 4 + 8 + 64
    # An independent check of the Ed25519 signature over the spec's message.
    Ed25519PublicKey.from_public_bytes(WITNESS_KEY.public_key.raw).verify(
        raw[12:], f"cosignature/v1\ntime {TIME}\n{BODY}".encode()
    )
    expected = (Cosignature(WITNESS, WITNESS_VERIFIER.key_id, TIME),)
    assert verify_cosignatures(note, [WITNESS_VERIFIER]) == expected
    assert verify_cosignatures(open_checkpoint(note, LOG.verifier), [WITNESS_VERIFIER]) == expected
    both = open_note(note, [LOG.verifier, WITNESS_VERIFIER])
    assert [s.name for s in both.verified] == [ORIGIN, WITNESS]


def test_two_witnesses_quorum_and_recosigning() -> None:
    note = cosign_checkpoint(sign_checkpoint(CHECKPOINT, LOG), WITNESS, WITNESS_KEY, TIME)
    note = cosign_checkpoint(note, OTHER, OTHER_KEY, TIME + 5)
    found = verify_cosignatures(note, [WITNESS_VERIFIER, OTHER_VERIFIER], quorum=2)
    assert [(c.name, c.timestamp) for c in found] == [(WITNESS, TIME), (OTHER, TIME + 5)]
    with pytest.raises(SignatureError, match="1 witness cosignature"):
        verify_cosignatures(note, [WITNESS_VERIFIER], quorum=2)
    with pytest.raises(InvalidInput, match="at least 1"):
        verify_cosignatures(note, [WITNESS_VERIFIER], quorum=0)
    again = cosign_checkpoint(note, WITNESS, WITNESS_KEY, TIME + 60)
    assert again.count(WITNESS) == 1
    found = verify_cosignatures(again, [WITNESS_VERIFIER, OTHER_VERIFIER])
    assert {c.name: c.timestamp for c in found} == {WITNESS: TIME + 60, OTHER: TIME + 5}
    assert open_checkpoint(again, LOG.verifier).log_signature.name == ORIGIN


def test_cosignature_on_another_checkpoint_fails() -> None:
    cosigned = cosign_checkpoint(sign_checkpoint(CHECKPOINT, LOG), WITNESS, WITNESS_KEY, TIME)
    other = sign_checkpoint(Checkpoint(ORIGIN, 20852164, ROOT), LOG)
    moved = other + cosigned.split("\n")[-2] + "\n"
    assert open_checkpoint(moved, LOG.verifier).checkpoint.tree_size == 20852164
    with pytest.raises(SignatureError, match="signature line 2"):
        verify_cosignatures(moved, [WITNESS_VERIFIER])


def test_changed_timestamp_fails() -> None:
    note = cosign_checkpoint(sign_checkpoint(CHECKPOINT, LOG), WITNESS, WITNESS_KEY, TIME)
    raw = last_line_bytes(note)
    for stamp in (TIME + 1, MAX_TIMESTAMP + 1):
        forged = raw[:4] + stamp.to_bytes(8, "big") + raw[12:]
        with pytest.raises(SignatureError, match="does not verify"):
            verify_cosignatures(with_last_line(note, WITNESS, forged), [WITNESS_VERIFIER])


def test_note_signature_is_not_a_cosignature() -> None:
    """Domain separation: a type 0x01 signature by the witness key never counts as 0x04."""
    as_note = sign_note(BODY, [LOG, NoteSigner(WITNESS, WITNESS_KEY)])
    with pytest.raises(SignatureError, match="no valid signature"):
        verify_cosignatures(as_note, [WITNESS_VERIFIER])
    plain = last_line_bytes(as_note)[4:]
    relabelled = with_last_line(as_note, WITNESS, WITNESS_VERIFIER.key_id + plain)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_cosignatures(relabelled, [WITNESS_VERIFIER])
    stamped = WITNESS_VERIFIER.key_id + TIME.to_bytes(8, "big") + plain
    with pytest.raises(SignatureError, match="does not verify"):
        verify_cosignatures(with_last_line(as_note, WITNESS, stamped), [WITNESS_VERIFIER])


def test_cosignature_is_not_a_note_signature() -> None:
    """Domain separation: a type 0x04 cosignature never counts as a type 0x01 signature."""
    note = cosign_checkpoint(sign_checkpoint(CHECKPOINT, LOG), WITNESS, WITNESS_KEY, TIME)
    as_log = NoteVerifier.from_public_key(WITNESS, WITNESS_KEY.public_key)
    with pytest.raises(SignatureError, match="no valid signature"):
        open_note(note, [as_log])
    raw = last_line_bytes(note)
    for forged in (as_log.key_id + raw[4:], as_log.key_id + raw[12:]):
        with pytest.raises(SignatureError, match="does not verify"):
            open_note(with_last_line(note, WITNESS, forged), [as_log])
        with pytest.raises(SignatureError, match="does not verify"):
            open_checkpoint(with_last_line(note, WITNESS, forged), as_log)


def test_cosign_checks_its_inputs() -> None:
    logged = sign_checkpoint(CHECKPOINT, LOG)
    with pytest.raises(InvalidInput, match="at least 3 lines"):
        cosign_checkpoint(sign_note("not a checkpoint\n", [LOG]), WITNESS, WITNESS_KEY, TIME)
    with pytest.raises(InvalidInput, match="no blank line"):
        cosign_checkpoint(BODY, WITNESS, WITNESS_KEY, TIME)
    with pytest.raises(InvalidInput, match="whitespace"):
        cosign_checkpoint(logged, "bad name", WITNESS_KEY, TIME)
    for stamp in (-1, MAX_TIMESTAMP + 1):
        with pytest.raises(InvalidInput, match=re.escape("0 to 2^63-1")):
            cosign_checkpoint(logged, WITNESS, WITNESS_KEY, stamp)
    with pytest.raises(InvalidInput, match="integer"):
        cosign_checkpoint(logged, WITNESS, WITNESS_KEY, True)
    top = cosign_checkpoint(logged, WITNESS, WITNESS_KEY, MAX_TIMESTAMP)
    assert verify_cosignatures(top, [WITNESS_VERIFIER])[0].timestamp == MAX_TIMESTAMP


def test_verify_cosignatures_needs_a_checkpoint_body() -> None:
    text = "not a checkpoint\n"
    raw = TIME.to_bytes(8, "big") + WITNESS_KEY.sign(cosignature_message(text.encode(), TIME))
    note = sign_note(text, [LOG]) + Signature(WITNESS, WITNESS_VERIFIER.key_id, raw).line
    assert open_note(note, [WITNESS_VERIFIER]).verified[0].name == WITNESS
    with pytest.raises(InvalidInput, match="at least 3 lines"):
        verify_cosignatures(note, [WITNESS_VERIFIER])
