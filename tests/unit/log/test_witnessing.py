"""C2SP tlog-witness ``add-checkpoint`` (ledger/log/witnessing.py): the request format, every
status the spec names, and the log's side that keeps only verified cosignature lines."""

from __future__ import annotations

import base64

import pytest

from ledger.errors import InvalidInput, LimitExceeded, SignatureError
from ledger.keys import PrivateKey
from ledger.log.checkpoint import CosignatureVerifier, verify_cosignatures
from ledger.log.entries import NOTICE, Envelope, sign_entry
from ledger.log.note import NoteSigner, Verifier, sign_note
from ledger.log.witnessing import (
    MAX_PROOF_LINES,
    SIZE_CONTENT_TYPE,
    AddCheckpoint,
    WitnessRecord,
    accept_cosignatures,
    format_add_checkpoint,
    judge,
    parse_add_checkpoint,
)
from ledger.storage.memory.log import MemoryStore
from ledger.usecases.service import LogService

ORIGIN = "tracemark.test/witnessed"
WITNESS = "witness.test/w1"
NOW_S = 1_790_000_000
SPEC_EXAMPLE = (
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5"
    "/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)


class Log:
    """A real log grown on demand, and its checkpoint notes by size."""

    def __init__(self) -> None:
        self.key = PrivateKey.generate()
        self.service = LogService(MemoryStore(), log_key=self.key)
        self.service.initialize(origin=ORIGIN, operator_name="Op", key=self.key, now=NOW_S * 1000)
        self.notes: dict[int, str] = {}
        self.n = 0

    def grow_to(self, size: int) -> str:
        envelopes: list[Envelope] = []
        while self.service.store.head().size + len(envelopes) < size:
            envelopes.append(
                sign_entry(NOTICE, {"title": f"t{self.n}", "ref": f"r{self.n}"}, self.key)
            )
            self.n += 1
        if envelopes:
            self.service.append(envelopes, now=NOW_S * 1000)
        note = self.service.checkpoint(now=NOW_S * 1000).note
        self.notes[self.service.store.head().size] = note
        return note

    def proof(self, old: int, new: int) -> tuple[bytes, ...]:
        if old in (0, new):
            return ()
        return tuple(self.service.consistency_proof(old, new).hashes)

    @property
    def verifiers(self) -> dict[str, list[Verifier]]:
        return {ORIGIN: [self.service.info().verifier]}


@pytest.fixture
def log() -> Log:
    return Log()


WITNESS_KEY = PrivateKey.generate()
WITNESS_VERIFIER = CosignatureVerifier.from_public_key(WITNESS, WITNESS_KEY.public_key)


def _judge(log: Log, request: AddCheckpoint, record: WitnessRecord | None):  # type: ignore[no-untyped-def]
    return judge(
        request, logs=log.verifiers, record=record, name=WITNESS, key=WITNESS_KEY, now_s=NOW_S
    )


def test_the_spec_example_parses_and_formats_back() -> None:
    request = parse_add_checkpoint(SPEC_EXAMPLE.encode())
    assert request.old_size == 20852014 and len(request.proof) == 4
    assert request.note.startswith("example.com/behind-the-sofa\n20852163\n")
    assert (
        format_add_checkpoint(request.old_size, request.proof, request.note)
        == SPEC_EXAMPLE.encode()
    )


@pytest.mark.parametrize(
    "body",
    [
        SPEC_EXAMPLE.replace("old 20852014", "old 020852014"),
        SPEC_EXAMPLE.replace("old 20852014", "old -1"),
        SPEC_EXAMPLE.replace("old 20852014", "old  1"),
        SPEC_EXAMPLE.replace("old 20852014", "olds 1"),
        SPEC_EXAMPLE.replace("old 20852014", "old \u0661"),  # an Arabic-Indic digit
        SPEC_EXAMPLE.replace("\n\nexample.com", "\nexample.com", 1),  # no empty line
        SPEC_EXAMPLE.replace("PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=", "PlRNCrwHpqhG"),
        SPEC_EXAMPLE.replace(
            "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=",
            "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw",
        ),
        SPEC_EXAMPLE.replace(
            "old 20852014\n", "old 1\n" + "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n" * 60
        ),
        SPEC_EXAMPLE.split("\n\u2014", maxsplit=1)[0] + "\n",  # a checkpoint without signatures
    ],
)
def test_malformed_requests_are_refused(body: str) -> None:
    with pytest.raises(InvalidInput):
        parse_add_checkpoint(body.encode())


def test_limits_and_encoding() -> None:
    with pytest.raises(LimitExceeded):
        parse_add_checkpoint(b"old 0\n\n" + b"x" * (2 << 20))
    with pytest.raises(InvalidInput):
        parse_add_checkpoint(b"old 0\n\n\xff\xfe")
    with pytest.raises(InvalidInput):
        format_add_checkpoint(1, [b"\x00" * 32] * (MAX_PROOF_LINES + 1), "x")


def test_a_log_is_followed_from_its_first_checkpoint(log: Log) -> None:
    note = log.grow_to(5)
    first = _judge(log, parse_add_checkpoint(format_add_checkpoint(0, (), note)), None)
    assert first.status == 200 and first.record == WitnessRecord(5, log.service.root_at(5))
    line, cosignature = accept_cosignatures(note, first.body, WITNESS_VERIFIER) or ("", None)
    assert (
        cosignature is not None and cosignature.timestamp == NOW_S and cosignature.name == WITNESS
    )
    (checked,) = verify_cosignatures(note + line + "\n", [WITNESS_VERIFIER])
    assert checked.timestamp == NOW_S
    # then each new checkpoint with a proof from the last cosigned size
    record = first.record
    for size in (6, 9, 300):
        old = record.tree_size
        note = log.grow_to(size)
        body = format_add_checkpoint(old, log.proof(old, size), note)
        answer = _judge(log, parse_add_checkpoint(body), record)
        assert answer.status == 200, answer.reason
        assert accept_cosignatures(note, answer.body, WITNESS_VERIFIER) is not None
        record = answer.record
    # the same checkpoint again: equal sizes, equal roots, empty proof
    again = _judge(log, AddCheckpoint(300, (), log.notes[300]), record)
    assert again.status == 200


def test_every_refusal_the_spec_names(log: Log) -> None:
    n5 = log.grow_to(5)
    n9 = log.grow_to(9)
    record = WitnessRecord(5, log.service.root_at(5))
    good_proof = log.proof(5, 9)

    unknown = judge(
        AddCheckpoint(5, good_proof, n9),
        logs={},
        record=record,
        name=WITNESS,
        key=WITNESS_KEY,
        now_s=NOW_S,
    )
    assert unknown.status == 404

    stranger = PrivateKey.generate()
    forged = sign_note(n9.split("\n\n")[0] + "\n", [NoteSigner(ORIGIN, stranger)])
    assert _judge(log, AddCheckpoint(5, good_proof, forged), record).status == 403
    # a line with the trusted key's name and id whose signature fails is also 403
    broken = n9[:-10] + ("A" if n9[-10] != "A" else "B") + n9[-9:]
    assert _judge(log, AddCheckpoint(5, good_proof, broken), record).status == 403

    assert _judge(log, AddCheckpoint(10, (), n9), record).status == 400

    stale = _judge(log, AddCheckpoint(3, (), n9), record)
    assert (stale.status, stale.body, stale.content_type) == (409, "5\n", SIZE_CONTENT_TYPE)
    never = _judge(log, AddCheckpoint(5, good_proof, n9), None)
    assert (never.status, never.body) == (409, "0\n")

    wrong = (bytes(32), *good_proof[1:])
    assert _judge(log, AddCheckpoint(5, wrong, n9), record).status == 422
    assert _judge(log, AddCheckpoint(0, good_proof, n5), None).status == 422
    # the witness's record says another root at size 5: a fork, never cosigned
    fork = WitnessRecord(5, bytes(32))
    assert _judge(log, AddCheckpoint(5, good_proof, n9), fork).status == 422
    assert _judge(log, AddCheckpoint(5, (), n5), fork).status == 422
    for refused in (unknown, stale, never):
        assert refused.record is None


def test_the_log_keeps_only_verified_lines_of_the_witness_it_asked(log: Log) -> None:
    note = log.grow_to(4)
    answer = _judge(log, AddCheckpoint(0, (), note), None)
    other_key = PrivateKey.generate()
    other = judge(
        AddCheckpoint(0, (), note),
        logs=log.verifiers,
        record=None,
        name="witness.test/w2",
        key=other_key,
        now_s=NOW_S,
    )
    both = other.body + answer.body
    line, _ = accept_cosignatures(note, both, WITNESS_VERIFIER) or ("", None)
    assert line + "\n" == answer.body
    assert accept_cosignatures(note, other.body, WITNESS_VERIFIER) is None
    raw = bytearray(base64.b64decode(answer.body.split(" ")[-1]))
    raw[-1] ^= 1
    tampered = answer.body.rsplit(" ", 1)[0] + " " + base64.b64encode(bytes(raw)).decode() + "\n"
    with pytest.raises(SignatureError):
        accept_cosignatures(note, tampered, WITNESS_VERIFIER)
    with pytest.raises(InvalidInput):
        accept_cosignatures(note, "hello\n", WITNESS_VERIFIER)
    with pytest.raises(InvalidInput):
        accept_cosignatures(note, answer.body.rstrip("\n"), WITNESS_VERIFIER)
