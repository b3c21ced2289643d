"""Unit tests for ledger.log.note: C2SP signed notes with Ed25519 keys."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

import pytest

from ledger.errors import InvalidInput, LimitExceeded, SignatureError
from ledger.keys import PrivateKey
from ledger.log.note import (
    MAX_NOTE_SIZE,
    MAX_SIGNATURES,
    Note,
    NoteSigner,
    NoteVerifier,
    OpenedNote,
    Signature,
    check_key_name,
    note_key_id,
    open_note,
    parse_note,
    sign_note,
)

TEXT = "If you think cryptography is the answer to your problem,\n"
ALICE = NoteSigner("example.com/alice", PrivateKey.from_seed(bytes(range(32))))
BOB = NoteSigner("example.com/bob", PrivateKey.from_seed(bytes(range(1, 33))))
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"


def signed(text: str = TEXT) -> str:
    return sign_note(text, [ALICE])


def replace_signature(note: str, raw: bytes) -> str:
    """The note with the base64 of its (single) signature line replaced by ``raw``."""
    head, _, line = note[:-1].rpartition("\n")
    prefix = line.rsplit(" ", 1)[0]
    return f"{head}\n{prefix} {base64.b64encode(raw).decode()}\n"


def signature_bytes(note: str) -> bytes:
    return base64.b64decode(note[:-1].rsplit(" ", 1)[1])


# --- key ids, names, vkeys, skeys ---


def test_key_id_is_sha256_of_name_newline_type_and_key() -> None:
    verifier = NoteVerifier.from_vkey(PETER_VKEY)
    raw = verifier.public_key.raw
    expected = hashlib.sha256(b"PeterNeumann\n\x01" + raw).digest()[:4]
    assert note_key_id("PeterNeumann", 0x01, raw) == expected == bytes.fromhex("c74f20a3")
    assert verifier.key_id == expected
    assert note_key_id("PeterNeumann", 0x04, raw) != expected


def test_signer_from_private_key_matches_its_verifier() -> None:
    verifier = ALICE.verifier
    assert verifier.name == "example.com/alice"
    assert verifier.key_id == ALICE.key_id
    assert NoteVerifier.from_vkey(ALICE.to_vkey()) == verifier
    assert NoteVerifier.from_public_key(ALICE.name, verifier.public_key) == verifier
    assert NoteSigner.from_skey(ALICE.to_skey()).to_vkey() == ALICE.to_vkey()


def test_skey_round_trip_and_secret_not_in_repr() -> None:
    signer = NoteSigner.from_skey(PETER_SKEY)
    assert signer.to_vkey() == PETER_VKEY
    assert signer.to_skey() == PETER_SKEY
    assert "AYEKFALV" not in repr(signer)
    assert "c74f20a3" in repr(signer)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        pytest.param("", "is empty", id="empty"),
        pytest.param("a b", "whitespace", id="space"),
        pytest.param("a\u00a0b", "whitespace", id="no-break-space"),
        pytest.param("a\u2028b", "whitespace", id="line-separator"),
        pytest.param("a\tb", "whitespace", id="tab"),
        pytest.param("a+b", "'+'", id="plus"),
        pytest.param("a\x01b", "control", id="control-char"),
        pytest.param("a\ud800b", "UTF-8", id="lone-surrogate"),
    ],
)
def test_bad_key_names_rejected(name: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(problem)):
        check_key_name(name)
    with pytest.raises(InvalidInput):
        NoteSigner(name, PrivateKey.from_seed(bytes(32)))


def test_unicode_key_name_accepted() -> None:
    signer = NoteSigner("ex\u00e1mple.com/\u2014log", PrivateKey.from_seed(bytes(32)))
    opened = open_note(sign_note(TEXT, [signer]), [signer.verifier])
    assert opened.verified[0].name == signer.name


BAD_VKEYS = [
    pytest.param("", "must look like", id="empty"),
    pytest.param("PeterNeumann", "must look like", id="name-only"),
    pytest.param("PeterNeumann+c74f20a3", "must look like", id="truncated"),
    pytest.param(PETER_VKEY.replace("c74f20a3", "C74F20A3"), "lowercase hex", id="uppercase-id"),
    pytest.param(PETER_VKEY.replace("c74f20a3", "c74f20a"), "8 lowercase hex", id="short-id"),
    pytest.param(PETER_VKEY.replace("c74f20a3", "c74f20ag"), "hex", id="non-hex-id"),
    pytest.param(PETER_VKEY.replace("c74f20a3", "c74f20a4"), "does not match", id="wrong-id"),
    pytest.param(PETER_VKEY[:-1] + "!", "not valid base64", id="bad-base64-char"),
    pytest.param(PETER_VKEY[:-4], "29 key bytes, expected 32", id="truncated-key"),
    pytest.param("Peter Neumann+c74f20a3+" + PETER_VKEY[22:], "whitespace", id="name-with-space"),
    pytest.param("+c74f20a3+" + PETER_VKEY[22:], "is empty", id="empty-name"),
    pytest.param(
        "PeterNeumann+c74f20a3+" + base64.b64encode(b"\x01" + bytes(31)).decode(),
        "31 key bytes",
        id="key-31-bytes",
    ),
    pytest.param(
        "PeterNeumann+c74f20a3+" + base64.b64encode(b"\x02" + bytes(32)).decode(),
        "type 0x02",
        id="unknown-type",
    ),
    pytest.param("PeterNeumann+c74f20a3+", "type none", id="no-key-material"),
]


@pytest.mark.parametrize(("vkey", "message"), BAD_VKEYS)
def test_bad_vkeys_rejected(vkey: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        NoteVerifier.from_vkey(vkey)


def test_every_proper_substring_of_a_vkey_is_rejected() -> None:
    for start in range(len(PETER_VKEY)):
        for end in range(start + 1, len(PETER_VKEY) + 1):
            if (start, end) == (0, len(PETER_VKEY)):
                continue
            with pytest.raises(InvalidInput):
                NoteVerifier.from_vkey(PETER_VKEY[start:end])


@pytest.mark.parametrize(
    ("skey", "message"),
    [
        pytest.param(PETER_SKEY[len("PRIVATE+KEY+") :], "must start with", id="no-prefix"),
        pytest.param(PETER_VKEY, "must start with", id="a-vkey"),
        pytest.param(PETER_SKEY.replace("c74f20a3", "c74f20a4"), "does not match", id="wrong-id"),
        pytest.param(PETER_SKEY.replace("+AYEK", "+AoEK"), "type 0x02", id="unknown-type"),
        pytest.param(PETER_SKEY[:-4], "29 key bytes", id="truncated-seed"),
        pytest.param("PRIVATE+KEY+PeterNeumann", "must look like", id="truncated"),
    ],
)
def test_bad_skeys_rejected(skey: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        NoteSigner.from_skey(skey)


# --- signing and opening ---


def test_sign_then_open_round_trip() -> None:
    note = signed()
    assert note.startswith(TEXT + "\n\u2014 example.com/alice ")
    opened = open_note(note, [ALICE.verifier])
    assert opened == OpenedNote(TEXT, opened.verified, ())
    assert opened.verified[0].key_id == ALICE.key_id
    assert len(opened.verified[0].signature) == 64
    assert open_note(note.encode(), [ALICE.verifier]) == opened


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("\n", id="only-newline"),
        pytest.param("a\n\nb\n", id="blank-line-inside"),
        pytest.param("a\n\n", id="ends-with-blank-line"),
        pytest.param("\u2014 looks like a signature AAAA\n", id="em-dash-line"),
        pytest.param("caf\u00e9 \u2603 \U0001f600\x7f\n", id="unicode-and-del"),
    ],
)
def test_unusual_texts_round_trip(text: str) -> None:
    assert open_note(sign_note(text, [ALICE]), [ALICE.verifier]).text == text


def test_two_signers_and_order() -> None:
    note = sign_note(TEXT, [ALICE, BOB])
    both = open_note(note, [BOB.verifier, ALICE.verifier])
    assert [s.name for s in both.verified] == [ALICE.name, BOB.name]
    only_bob = open_note(note, [BOB.verifier])
    assert [s.name for s in only_bob.verified] == [BOB.name]
    assert [s.name for s in only_bob.unverified] == [ALICE.name]


def test_adding_a_signature_keeps_existing_ones() -> None:
    note = signed()
    expected = sign_note(TEXT, [ALICE, BOB])
    assert sign_note(parse_note(note), [BOB]) == expected
    assert sign_note(open_note(note, [ALICE.verifier]), [BOB]) == expected
    # unknown signatures are kept too, after the verified ones
    assert sign_note(open_note(expected, [BOB.verifier]), [ALICE]) == sign_note(TEXT, [BOB, ALICE])


def test_resigning_with_the_same_key_replaces_its_line() -> None:
    note = sign_note(TEXT, [ALICE, BOB])
    again = sign_note(parse_note(note), [ALICE])
    assert again == sign_note(TEXT, [BOB, ALICE])
    assert again.count(ALICE.name) == 1


def test_a_str_is_always_text_even_if_it_looks_signed() -> None:
    note = signed()
    double = sign_note(note, [BOB])
    assert open_note(double, [BOB.verifier]).text == note


def test_duplicate_signature_lines_are_kept_once() -> None:
    note = signed()
    line = note.split("\n\n")[1]
    opened = open_note(note + line, [ALICE.verifier])
    assert len(opened.verified) == 1
    other = sign_note(TEXT, [BOB]).split("\n\n")[1]
    opened = open_note(note + other + other, [ALICE.verifier])
    assert [s.name for s in opened.unverified] == [BOB.name]


def test_failing_signature_of_a_known_key_rejects_even_with_a_valid_one() -> None:
    note = sign_note(TEXT, [ALICE, BOB])
    lines = note.split("\n")
    forged = bytearray(base64.b64decode(lines[-2].rsplit(" ", 1)[1]))
    forged[-1] ^= 1
    lines[-2] = f"\u2014 {BOB.name} {base64.b64encode(bytes(forged)).decode()}"
    with pytest.raises(
        SignatureError, match=re.escape("signature line 2: signature of example.com/bob")
    ):
        open_note("\n".join(lines), [ALICE.verifier, BOB.verifier])
    # With Bob's key unknown, his broken line is just an unverified signature.
    assert open_note("\n".join(lines), [ALICE.verifier]).unverified[0].name == BOB.name


def test_no_trusted_signature_is_a_signature_error() -> None:
    with pytest.raises(SignatureError, match="no valid signature from a trusted key"):
        open_note(signed(), [BOB.verifier])
    with pytest.raises(SignatureError):
        open_note(signed(), [])


def test_same_name_other_key_is_unknown_not_a_failure() -> None:
    impostor = NoteSigner(ALICE.name, PrivateKey.from_seed(bytes(32)))
    opened = open_note(sign_note(TEXT, [impostor, BOB]), [ALICE.verifier, BOB.verifier])
    assert [s.name for s in opened.unverified] == [ALICE.name]


def test_conflicting_verifiers_rejected() -> None:
    @dataclass(frozen=True)
    class Fake:
        name: str
        key_id: bytes
        answer: bool

        def verify(self, message: bytes, signature: bytes) -> bool:
            return self.answer

    with pytest.raises(InvalidInput, match="two verifiers share"):
        open_note(signed(), [Fake("a", b"1234", True), Fake("a", b"1234", False)])


def test_limits() -> None:
    lines = sign_note(TEXT, [ALICE]).split("\n\n")[1]
    others = [NoteSigner(f"k{i}", PrivateKey.from_seed(bytes([i]) * 32)) for i in range(15)]
    sixteen = sign_note(parse_note(signed()), others)
    assert len(open_note(sixteen, [ALICE.verifier]).unverified) == 15
    assert open_note(signed() + lines * (MAX_SIGNATURES - 1), [ALICE.verifier])
    with pytest.raises(LimitExceeded, match="more than 100 signature lines"):
        open_note(signed() + lines * MAX_SIGNATURES, [ALICE.verifier])
    with pytest.raises(LimitExceeded):
        open_note(("x" * MAX_NOTE_SIZE) + "\n\n" + lines, [ALICE.verifier])
    with pytest.raises(LimitExceeded):
        sign_note("x" * MAX_NOTE_SIZE + "\n", [ALICE])


def test_signature_value_checks() -> None:
    with pytest.raises(InvalidInput, match="4 bytes"):
        Signature("a", b"123", b"x")
    with pytest.raises(InvalidInput, match="must not be empty"):
        Signature("a", b"1234", b"")
    with pytest.raises(InvalidInput):
        Signature("a b", b"1234", b"x")
    assert Signature("a", b"\0\0\0\1", b"\2").line == "\u2014 a AAAAAQI=\n"
    assert parse_note("t\n\n\u2014 a AAAAAQI=\n") == Note(
        "t\n", (Signature("a", b"\0\0\0\1", b"\2"),)
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("no newline", "must end with a newline", id="missing-final-newline"),
        pytest.param("", "must end with a newline", id="empty"),
        pytest.param("a\rb\n", "U+000D", id="carriage-return"),
        pytest.param("a\x00\n", "U+0000", id="nul"),
        pytest.param("a\tb\n", "U+0009", id="tab"),
        pytest.param("\ud800\n", "UTF-8", id="lone-surrogate"),
    ],
)
def test_sign_rejects_bad_text(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        sign_note(text, [ALICE])


def test_sign_rejects_bad_signer_lists() -> None:
    with pytest.raises(InvalidInput, match="at least one signer"):
        sign_note(TEXT, [])
    with pytest.raises(InvalidInput, match="two signers share"):
        sign_note(TEXT, [ALICE, ALICE])


# --- malformed notes: one named mutation each ---

SIGNED = signed()
SIG = signature_bytes(SIGNED)
SIG_LINE = SIGNED.split("\n\n")[1]
B64 = SIG_LINE[:-1].rsplit(" ", 1)[1]

MUTATIONS = [
    (
        "flipped-bit-in-signature",
        replace_signature(SIGNED, SIG[:-1] + bytes([SIG[-1] ^ 1])),
        SignatureError,
        "does not verify",
    ),
    (
        "flipped-bit-in-text",
        SIGNED.replace("cryptography", "cryptographY"),
        SignatureError,
        "does not verify",
    ),
    (
        "flipped-bit-in-key-id",
        replace_signature(SIGNED, bytes([SIG[0] ^ 1]) + SIG[1:]),
        SignatureError,
        "no valid signature",
    ),
    ("truncated-signature", replace_signature(SIGNED, SIG[:-1]), SignatureError, "does not verify"),
    ("extended-signature", replace_signature(SIGNED, SIG + b"\0"), SignatureError, "verify"),
    ("signature-only-key-id", replace_signature(SIGNED, SIG[:4]), InvalidInput, "too short"),
    ("missing-final-newline", SIGNED[:-1], InvalidInput, "must end with a newline"),
    ("missing-blank-line", SIGNED.replace("\n\n", "\n"), InvalidInput, "no blank line"),
    ("no-signature-lines", TEXT + "\n", InvalidInput, "no signature lines"),
    ("only-blank-lines", TEXT + "\n\n", InvalidInput, "no signature lines"),
    ("control-char-in-text", "\x01" + SIGNED, InvalidInput, "U+0001"),
    ("carriage-return-line-ends", SIGNED.replace("\n", "\r\n"), InvalidInput, "U+000D"),
    ("hyphen-instead-of-em-dash", SIGNED.replace("\u2014", "-"), InvalidInput, "em dash"),
    ("en-dash-instead-of-em-dash", SIGNED.replace("\u2014", "\u2013"), InvalidInput, "em dash"),
    ("no-space-after-em-dash", SIGNED.replace("\u2014 ", "\u2014"), InvalidInput, "em dash"),
    (
        "name-with-space",
        SIGNED.replace("example.com/alice", "example.com alice"),
        InvalidInput,
        "base64",
    ),
    (
        "name-with-plus",
        SIGNED.replace("example.com/alice", "example.com+alice"),
        InvalidInput,
        "'+'",
    ),
    (
        "empty-name",
        SIGNED.replace("\u2014 example.com/alice ", "\u2014  "),
        InvalidInput,
        "is empty",
    ),
    ("no-signature", SIGNED.replace(" " + B64, ""), InvalidInput, "has no signature"),
    ("empty-signature", SIGNED.replace(" " + B64, " "), InvalidInput, "has no signature"),
    ("bad-base64", SIGNED.replace(B64, B64[:-2] + "!="), InvalidInput, "not valid base64"),
    ("unpadded-base64", SIGNED.replace(B64, B64.rstrip("=")), InvalidInput, "base64"),
    (
        "non-canonical-base64",
        SIGNED.replace(B64, B64[:-2] + chr(ord(B64[-2]) + 1) + "="),
        InvalidInput,
        "not canonical",
    ),
    ("trailing-line", SIGNED + "Unexpected line.\n", InvalidInput, "signature line 2"),
    ("trailing-blank-line", SIGNED + "\n", InvalidInput, "no signature lines"),
    ("too-many-signatures", SIGNED + SIG_LINE * MAX_SIGNATURES, LimitExceeded, "more than 100"),
]


@pytest.mark.parametrize(
    ("note", "error", "message"),
    [pytest.param(note, error, message, id=name) for name, note, error, message in MUTATIONS],
)
def test_malformed_or_tampered_notes_rejected(
    note: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)) as caught:
        open_note(note, [ALICE.verifier])
    assert type(caught.value) in (InvalidInput, SignatureError, LimitExceeded)


@pytest.mark.parametrize(
    ("note", "message"),
    [
        pytest.param(b"\xff" + SIGNED.encode(), "not valid UTF-8", id="invalid-utf8"),
        pytest.param(
            SIGNED.encode().replace(b"\xe2\x80\x94", b"\xe2\x80"), "UTF-8", id="cut-em-dash"
        ),
        pytest.param(b"\xed\xa0\x80\n\n" + SIG_LINE.encode(), "UTF-8", id="encoded-surrogate"),
        pytest.param(b"\xc0\xaf\n\n" + SIG_LINE.encode(), "UTF-8", id="overlong-slash"),
        pytest.param("\ud800" + SIGNED, "UTF-8", id="lone-surrogate-str"),
        pytest.param(12, "text or bytes", id="not-text"),
    ],
)
def test_undecodable_notes_rejected(note: str | bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        open_note(note, [ALICE.verifier])
