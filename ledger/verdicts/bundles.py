"""Offline proof bundles: one item's verdict, checkable with no network. Pure: no I/O.

A bundle (JSON, ``"format": "tracemark-item-bundle/v1"``, docs/format.md) carries what an
offline verifier needs to re-derive an item's status from the log itself::

    {"format": "tracemark-item-bundle/v1",
     "item": "01/<gtin>/21/<serial>",
     "code": "<signed GS1 Digital Link URI>" | null,
     "trust": {<the signed trust bundle file, as GET /v1/trust serves it>},
     "checkpoint": "<C2SP signed note, with any witness cosignature lines>",
     "entries": [{"index": n, "leaf": "<base64 leaf bytes>", "inclusion_proof": [...]}],
     "statement": {"created", "indices", "item", "summary", "tree_size"},
     "signature": "<base64 Ed25519 of the statement by the operator's log key>"}

The entries are the item's timeline (commission, pack and unpack of its containers, ship,
receive, sell, claim, recalls of the item, its lot or its GTIN, decommission, repack) and
the registrations of the keys that signed them back to the genesis (entry 0, which names the
pinned log key). Each comes with its RFC 9162 inclusion proof to the checkpoint's size.

The statement is the operator's signed claim "as of tree size N, these are the entries that
decide the item, and this is its summary" (context ``tracemark/item-bundle/v1 || 0x00``,
domain-separated from entries, codes, trust bundles and notes). Its signature binds the
entry list to the operator: a third party who drops an entry (a recall, say) or edits the
summary is caught, even if it edits both consistently.

``verify_bundle`` checks every part and recomputes the summary from the entries alone
(``replay``); it returns a ``BundleResult`` with one ``Check`` per part and never raises for
a tampered bundle (only ``InvalidInput`` for what is not a bundle at all).

What a bundle cannot prove: inclusion proves presence, not absence. An entry logged after
the checkpoint (a later recall) is beyond what the bundle can know, and the verifier cannot
tell whether the operator itself left an entry out before the checkpoint: the statement
only makes the operator accountable for the list it signed (an auditor replaying the log
finds the omission; docs/decisions.md 37).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.codes.identifiers import SerialSet, parse_item_id
from ledger.codes.signed import check_code_detail
from ledger.codes.trust import TrustBundle
from ledger.errors import InvalidInput, TracemarkError
from ledger.keys import PrivateKey, PublicKey
from ledger.log.canonical import canonical_json, parse_json
from ledger.log.checkpoint import CosignatureVerifier, open_checkpoint, verify_cosignatures
from ledger.log.entries import GENESIS, LogEntry
from ledger.log.hashing import leaf_hash
from ledger.log.note import NoteVerifier
from ledger.log.verify import verify_inclusion
from ledger.provenance.events.names import (
    ACTOR_REGISTER,
    CANCEL,
    CLAIM,
    COMMISSION,
    DECOMMISSION,
    KEY_ADD,
    KEY_REVOKE,
    PACK,
    RECALL,
    RECEIVE,
    REPACK,
    SELL,
    SHIP,
    UNPACK,
)
from ledger.verdicts.model import UNVERIFIED

__all__ = [
    "BUNDLE_CONTEXT",
    "BUNDLE_FORMAT",
    "MAX_ITEM_BUNDLE_SIZE",
    "REGISTRATION_TYPES",
    "BundleResult",
    "Check",
    "ItemSummary",
    "replay",
    "sign_statement",
    "verify_bundle",
]

BUNDLE_FORMAT = "tracemark-item-bundle/v1"
BUNDLE_CONTEXT = b"tracemark/item-bundle/v1\x00"
MAX_ITEM_BUNDLE_SIZE = 16 * 1024 * 1024
#: Entries that introduce or revoke keys (the chain of trust of the signers).
REGISTRATION_TYPES = frozenset({GENESIS, ACTOR_REGISTER, KEY_ADD, KEY_REVOKE})
_TOP_KEYS = frozenset(
    {"format", "item", "code", "trust", "checkpoint", "entries", "statement", "signature"}
)
_STATEMENT_KEYS = frozenset({"created", "indices", "item", "summary", "tree_size"})
_DEFAULT_TRUST_AGE_MS = 7 * 24 * 3_600_000


@dataclass(frozen=True, slots=True)
class Check:
    """One part of a bundle's verification: passed, failed or skipped (None), and why."""

    name: str
    passed: bool | None
    reason: str

    def to_obj(self) -> dict[str, Any]:
        state = "skipped" if self.passed is None else "passed" if self.passed else "failed"
        return {"name": self.name, "result": state, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ItemSummary:
    """What the entries say about an item: the verdict summary a bundle states."""

    status: str  # custody status, or "recalled" on top of active / in transit
    custody_status: str  # active | in_transit | sold | destroyed
    recalled: bool
    producer: str
    custodian: str
    pending_to: str
    custody: tuple[str, ...]  # the producer, then each actor who received it
    claimed: bool

    def to_obj(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "custodian": self.custodian,
            "custody": list(self.custody),
            "custody_status": self.custody_status,
            "pending_to": self.pending_to,
            "producer": self.producer,
            "recalled": self.recalled,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class BundleResult:
    """The explained outcome of ``verify_bundle``; ``ok`` only if no check failed."""

    item: str
    tree_size: int
    checks: tuple[Check, ...]
    summary: ItemSummary | None  # recomputed from the entries (None if they do not replay)
    witnesses: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(c.passed is not False for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.passed is False)

    @property
    def scope(self) -> str:
        return (
            f"as of checkpoint {self.tree_size}: the bundle proves that these entries are in "
            "the log; it cannot prove that no other entry exists (one the server left out, "
            "or one logged after the checkpoint, such as a later recall)"
        )

    def to_obj(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "item": self.item,
            "tree_size": self.tree_size,
            "scope": self.scope,
            "summary": None if self.summary is None else self.summary.to_obj(),
            "witnesses": list(self.witnesses),
            "checks": [c.to_obj() for c in self.checks],
        }


def sign_statement(statement: Mapping[str, Any], key: PrivateKey) -> str:
    """The operator's signature (base64) over a bundle statement."""
    return base64.b64encode(key.sign(BUNDLE_CONTEXT + canonical_json(dict(statement)))).decode()


# --- replay: what the entries say -----------------------------------------------------------


class _Unrelated(Exception):
    """An entry that does not concern the item, or contradicts its custody."""


@dataclass(slots=True)
class _State:
    item: str
    gtin: str
    serial: str
    chain: list[str]  # the item, then the containers holding it, nearest first
    lot: str = ""
    producer: str = ""
    custodian: str = ""
    custody_status: str = ""  # "" until commissioned
    pending_to: str = ""
    shipment: tuple[str, str] | None = None
    recalled: bool = False
    claimed: bool = False
    custody: list[str] = field(default_factory=list)

    def begin(self, actor: str, lot: str, *, trade_item: bool) -> None:
        if self.custody_status:
            raise _Unrelated(f"{self.item} is commissioned a second time")
        self.producer = actor if trade_item else ""
        self.custodian, self.custody_status, self.lot = actor, "active", lot
        self.custody = [actor]

    def held_by(self, actor: str, what: str) -> None:
        if not self.custody_status:
            raise _Unrelated(f"{what} before {self.item} was commissioned")
        if actor != self.custodian:
            raise _Unrelated(f"{what} by {actor}, but {self.custodian} holds {self.item}")

    def summary(self) -> ItemSummary:
        status = self.custody_status
        if self.recalled and status in ("active", "in_transit"):
            status = "recalled"
        return ItemSummary(
            status=status,
            custody_status=self.custody_status,
            recalled=self.recalled,
            producer=self.producer,
            custodian=self.custodian,
            pending_to=self.pending_to,
            custody=tuple(self.custody),
            claimed=self.claimed,
        )


def _in_chain(state: _State, names: Iterable[object]) -> bool:
    return any(n in state.chain for n in names)


def _apply(state: _State, kind: str, body: Mapping[str, Any]) -> None:  # noqa: PLR0912, PLR0915  (one branch per event type)
    """Apply one event to the item's state; ``_Unrelated`` if it does not concern it."""
    actor = str(body.get("actor", ""))
    if kind == COMMISSION:
        if body["gtin"] != state.gtin or state.serial not in SerialSet.from_obj(body["serials"]):
            raise _Unrelated(f"commissions other items than {state.item}")
        state.begin(actor, str(body.get("lot", "")), trade_item=True)
    elif kind == REPACK:
        outputs = body["outputs"]
        if outputs["gtin"] == state.gtin and state.serial in SerialSet.from_obj(outputs["serials"]):
            state.begin(actor, str(outputs.get("lot", "")), trade_item=True)
        elif _in_chain(state, body["inputs"]):
            state.held_by(actor, "repackaged")
            state.custody_status = "destroyed"
        else:
            raise _Unrelated(f"repackages other items than {state.item}")
    elif kind == PACK:
        parent, children = body["parent"], list(body["children"])
        if parent == state.item and not state.gtin and not state.custody_status:
            state.begin(actor, "", trade_item=False)  # a new logistic unit
        elif parent == state.item:
            state.held_by(actor, "packed into")
        elif _in_chain(state, children):
            state.held_by(actor, "packed")
            at = min(state.chain.index(c) for c in children if c in state.chain)
            state.chain = [*state.chain[: at + 1], parent]
        else:
            raise _Unrelated(f"packs neither {state.item} nor a container holding it")
    elif kind == UNPACK:
        parent = body["parent"]
        if parent == state.item:
            state.held_by(actor, "unpacked")
        elif parent in state.chain[1:]:
            at = state.chain.index(parent)
            if "children" in body and state.chain[at - 1] not in body["children"]:
                raise _Unrelated(f"unpacks from {parent} what does not hold {state.item}")
            state.held_by(actor, "unpacked")
            state.chain = state.chain[:at]
        else:
            raise _Unrelated(f"unpacks a container that does not hold {state.item}")
    elif kind == SHIP:
        if not _in_chain(state, body["items"]):
            raise _Unrelated(f"ships neither {state.item} nor a container holding it")
        state.held_by(actor, "shipped")
        state.custody_status, state.pending_to = "in_transit", str(body["to"])
        state.shipment = (actor, str(body["shipment"]))
    elif kind == RECEIVE:
        if state.shipment != (body["from"], body["shipment"]):
            raise _Unrelated(f"receives a shipment that does not carry {state.item}")
        if actor != state.pending_to:
            raise _Unrelated(f"received by {actor}, but it was shipped to {state.pending_to}")
        state.custodian, state.custody_status = actor, "active"
        state.pending_to, state.shipment = "", None
        state.custody.append(actor)
    elif kind == CANCEL:
        if state.shipment != (actor, body["shipment"]):
            raise _Unrelated(f"cancels a shipment that does not carry {state.item}")
        state.custody_status, state.pending_to, state.shipment = "active", "", None
    elif kind == SELL:
        if not _in_chain(state, body["items"]):
            raise _Unrelated(f"sells neither {state.item} nor a container holding it")
        state.held_by(actor, "sold")
        state.custody_status = "sold"
    elif kind == CLAIM:
        if body["item"] != state.item:
            raise _Unrelated(f"claims another item than {state.item}")
        state.claimed = True
    elif kind == RECALL:
        scope = body["scope"]
        hit = body["gtin"] == state.gtin and (
            scope == "gtin"
            or (scope == "lot" and state.lot != "" and body.get("lot") == state.lot)
            or (scope == "items" and state.serial in list(body.get("serials", ())))
        )
        if not hit:
            raise _Unrelated(f"recalls neither {state.item}, its lot nor its GTIN")
        if actor != state.producer:
            raise _Unrelated(f"recalled by {actor}, but {state.producer} produced {state.item}")
        state.recalled = True
    elif kind == DECOMMISSION:
        if not _in_chain(state, body["items"]):
            raise _Unrelated(f"decommissions neither {state.item} nor a container holding it")
        state.held_by(actor, "decommissioned")
        state.custody_status = "destroyed"
    else:
        raise _Unrelated(f"a {kind} entry does not decide an item's status")


def replay(item: str, entries: Sequence[LogEntry]) -> tuple[ItemSummary | None, list[str]]:
    """Recompute an item's summary from its events (registrations are skipped), in index
    order; returns the summary (None if it was never commissioned) and one problem per
    entry that does not concern the item or contradicts its custody."""
    ref = parse_item_id(item)
    state = _State(item=ref.item_id, gtin=ref.gtin, serial=ref.serial, chain=[ref.item_id])
    problems: list[str] = []
    for entry in sorted(entries, key=lambda e: e.index):
        if entry.envelope.type in REGISTRATION_TYPES:
            continue
        try:
            _apply(state, entry.envelope.type, entry.envelope.body)
        except _Unrelated as exc:
            problems.append(f"entry {entry.index} ({entry.envelope.type}): {exc}")
        except (KeyError, TypeError, ValueError, TracemarkError):
            problems.append(f"entry {entry.index} ({entry.envelope.type}): malformed body")
    if not state.custody_status:
        problems.append(f"no entry commissions {state.item}")
        return None, problems
    return state.summary(), problems


# --- signers: who signed each entry, from the registrations in the bundle ------------------


@dataclass(slots=True)
class _Key:
    actor: str
    public_key: PublicKey
    revoked_at: int | None = None  # entries integrated from then on are refused
    compromised_since: int | None = None


def _signers(entries: Sequence[LogEntry], log_key: PublicKey) -> list[str]:  # noqa: PLR0912, PLR0915
    """Check every entry's signature against a key the bundle's earlier entries registered
    (the genesis registers the pinned log key); return the problems."""
    keys: dict[str, _Key] = {}
    used: set[str] = set()
    problems: list[str] = []
    introduced: dict[int, set[str]] = {}  # registration entry -> key ids it introduces/revokes
    for entry in sorted(entries, key=lambda e: e.index):
        env, body, where = entry.envelope, entry.envelope.body, f"entry {entry.index}"
        if env.type == GENESIS:
            key = PublicKey.from_text(str(body["key"]))
            if entry.index != 0 or key.raw != log_key.raw:
                problems.append(f"{where}: a genesis that does not name the pinned log key")
                continue
            keys[key.key_id] = _Key("operator", key)
            introduced[entry.index] = {key.key_id}
        if env.type == CLAIM:  # signed by the buyer's own key, which the body carries
            if not env.verify(PublicKey.from_text(str(body["key"]))):
                problems.append(f"{where}: the claim's signature does not verify")
            continue
        signer = keys.get(env.signer)
        if signer is None:
            problems.append(f"{where}: signed by key {env.signer}, not registered in the bundle")
            continue
        used.add(env.signer)
        if not env.verify(signer.public_key):
            problems.append(f"{where}: the signature of key {env.signer} does not verify")
            continue
        t = entry.integrated_time
        if (signer.revoked_at is not None and signer.revoked_at <= t) or (
            signer.compromised_since is not None and signer.compromised_since <= t
        ):
            problems.append(f"{where}: key {env.signer} was revoked before this entry")
        if env.type == ACTOR_REGISTER:
            if signer.actor != "operator":
                problems.append(f"{where}: an actor registered by {signer.actor}, not the operator")
                continue
            new = {PublicKey.from_text(str(k)).key_id: str(k) for k in body["keys"]}
            for key_id, text in new.items():
                keys[key_id] = _Key(str(body["actor"]["id"]), PublicKey.from_text(text))
            introduced[entry.index] = set(new)
        elif env.type in (KEY_ADD, KEY_REVOKE):
            if signer.actor not in (body["actor"], "operator"):
                problems.append(f"{where}: a key of {body['actor']} changed by {signer.actor}")
                continue
            if env.type == KEY_ADD:
                key = PublicKey.from_text(str(body["key"]))
                keys[key.key_id] = _Key(str(body["actor"]), key)
                introduced[entry.index] = {key.key_id}
            elif body["key_id"] in keys:
                revoked = keys[body["key_id"]]
                revoked.revoked_at = int(body["effective_time"])
                if "compromised_since" in body:
                    revoked.compromised_since = int(body["compromised_since"])
                introduced[entry.index] = {str(body["key_id"])}
        elif env.type != GENESIS and "actor" in body and body["actor"] != signer.actor:
            problems.append(
                f"{where}: names actor {body['actor']} but is signed by a key of {signer.actor}"
            )
    for index, key_ids in sorted(introduced.items()):
        if index and not key_ids & used:
            problems.append(f"entry {index}: a registration no entry of the bundle needs")
    return problems


# --- verify_bundle ---------------------------------------------------------------------------


def _b64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be base64 text", code="invalid_bundle")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not valid base64", code="invalid_bundle") from None


@dataclass(frozen=True, slots=True)
class _Proved:
    index: int
    leaf: bytes
    proof: tuple[bytes, ...]


def _parse(bundle: Mapping[str, Any] | bytes | str) -> tuple[dict[str, Any], list[_Proved]]:
    """The bundle's shape; InvalidInput (``invalid_bundle``) for what is not a bundle."""
    obj = (
        parse_json(bundle, max_size=MAX_ITEM_BUNDLE_SIZE)
        if isinstance(bundle, bytes | str)
        else dict(bundle)
    )
    if not isinstance(obj, dict) or obj.get("format") != BUNDLE_FORMAT:
        raise InvalidInput(f"not a {BUNDLE_FORMAT} bundle", code="invalid_bundle")
    if set(obj) != _TOP_KEYS:
        missing = ", ".join(sorted(_TOP_KEYS - set(obj))) or "none"
        extra = ", ".join(sorted(set(obj) - _TOP_KEYS)) or "none"
        raise InvalidInput(
            f"bundle fields wrong: missing {missing}; unexpected {extra}", code="invalid_bundle"
        )
    for name in ("item", "checkpoint"):
        if not isinstance(obj[name], str):
            raise InvalidInput(f"bundle {name} must be text", code="invalid_bundle")
    parse_item_id(obj["item"])
    if obj["code"] is not None and not isinstance(obj["code"], str):
        raise InvalidInput("bundle code must be text or null", code="invalid_bundle")
    if not isinstance(obj["trust"], dict) or not isinstance(obj["statement"], dict):
        raise InvalidInput("bundle trust and statement must be objects", code="invalid_bundle")
    if not isinstance(obj["entries"], list) or not obj["entries"]:
        raise InvalidInput("bundle entries must be a non-empty list", code="invalid_bundle")
    proved: list[_Proved] = []
    for raw in obj["entries"]:
        if not isinstance(raw, dict) or set(raw) != {"index", "leaf", "inclusion_proof"}:
            raise InvalidInput(
                "each bundle entry needs exactly index, leaf and inclusion_proof",
                code="invalid_bundle",
            )
        index, hashes = raw["index"], raw["inclusion_proof"]
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise InvalidInput(
                "an entry index must be a non-negative integer", code="invalid_bundle"
            )
        if not isinstance(hashes, list) or len(hashes) > 64:
            raise InvalidInput("an inclusion proof must be a list of hashes", code="invalid_bundle")
        proof = tuple(_b64(h, f"entry {index} proof hash") for h in hashes)
        proved.append(_Proved(index, _b64(raw["leaf"], f"entry {index} leaf"), proof))
    return obj, proved


def verify_bundle(  # noqa: PLR0912, PLR0915
    bundle: Mapping[str, Any] | bytes | str,
    *,
    log_key: str | NoteVerifier,
    witnesses: Sequence[CosignatureVerifier] = (),
    quorum: int = 0,
    now: int,
    max_trust_age_ms: int = _DEFAULT_TRUST_AGE_MS,
) -> BundleResult:
    """Check a bundle offline against the pinned log key (and ``quorum`` of ``witnesses``).

    ``now`` (milliseconds) dates the trust bundle's age check. Raises ``InvalidInput`` only
    for input that is not a bundle (or a bad key or quorum); any other problem is a failed
    ``Check`` in the result, with its reason."""
    verifier = log_key if isinstance(log_key, NoteVerifier) else NoteVerifier.from_vkey(log_key)
    if not isinstance(quorum, int) or not 0 <= quorum <= max(len(witnesses), 0):
        raise InvalidInput(
            f"the quorum must be from 0 to the number of witnesses ({len(witnesses)})"
        )
    obj, proved = _parse(bundle)
    item = parse_item_id(obj["item"]).item_id
    checks: list[Check] = []
    add = checks.append

    # 1. The checkpoint: signed by the pinned log key, cosigned by enough witnesses.
    size, root = 0, b""
    cosigners: tuple[str, ...] = ()
    try:
        signed = open_checkpoint(obj["checkpoint"], verifier, origin=verifier.name)
        size, root = signed.checkpoint.tree_size, signed.checkpoint.root_hash
        add(Check("checkpoint", True, f"signed by the pinned key of {verifier.name}, size {size}"))
    except TracemarkError as exc:
        add(Check("checkpoint", False, f"the checkpoint is not the pinned log's: {exc.message}"))
    if quorum:
        try:
            found = verify_cosignatures(obj["checkpoint"], witnesses, quorum=quorum)
            cosigners = tuple(sorted(c.name for c in found))
            add(Check("witnesses", True, f"cosigned by {', '.join(cosigners)} ({quorum} needed)"))
        except TracemarkError as exc:
            add(Check("witnesses", False, exc.message))
    else:
        add(Check("witnesses", None, "no witness quorum asked for"))

    # 2. Inclusion: every leaf is in the tree of that checkpoint.
    entries: list[LogEntry] = []
    bad: list[str] = []
    indices = [p.index for p in proved]
    if indices != sorted(set(indices)):
        bad.append("entries are not in increasing index order, or repeat")
    for p in proved:
        try:
            if not size:
                raise InvalidInput("no verified checkpoint to prove against")
            verify_inclusion(p.index, size, leaf_hash(p.leaf), p.proof, root)
        except TracemarkError as exc:
            bad.append(f"entry {p.index}: {exc.message}")
        try:
            entries.append(LogEntry.from_leaf(p.index, p.leaf))
        except TracemarkError as exc:
            bad.append(f"entry {p.index}: the leaf is not a log entry: {exc.message}")
    add(
        Check("inclusion", False, "; ".join(bad))
        if bad
        else Check("inclusion", True, f"{len(proved)} entries are in the tree of size {size}")
    )

    # 3. Signatures: each entry signed by a key the bundle's registrations introduce.
    try:
        problems = _signers(entries, verifier.public_key) if entries else ["no entries"]
    except (KeyError, TypeError, ValueError, TracemarkError):
        problems = ["a registration entry is malformed"]
    add(
        Check("signatures", False, "; ".join(problems))
        if problems
        else Check("signatures", True, "every entry is signed by a key registered before it")
    )

    # 4. The trust bundle, and the code against it.
    trust: TrustBundle | None = None
    try:
        trust = TrustBundle.open(
            canonical_json(obj["trust"]), verifier.to_vkey(), now=now, max_age_ms=max_trust_age_ms
        )
        add(Check("trust", True, f"signed by the pinned log key, created at {trust.created}"))
    except TracemarkError as exc:
        add(Check("trust", False, exc.message))
    code = obj["code"]
    if code is None:
        add(Check("code", None, "the bundle carries no code"))
    elif trust is None:
        add(Check("code", False, "no valid trust bundle to check the code against"))
    else:
        verdict = check_code_detail(code, trust).verdict
        named = dict(verdict.item)
        code_item = named.get("item_id", "")
        if verdict.status != UNVERIFIED:
            why = "; ".join(r.message for r in verdict.reasons) or verdict.status
            add(Check("code", False, f"the code is {verdict.status}: {why}"))
        elif code_item != item:
            add(Check("code", False, f"the code is for {code_item}, not {item}"))
        else:
            add(Check("code", True, "signed by its producer's key in the trust bundle"))

    # 5. The operator's statement: signed, about this item, this size, these entries.
    statement = obj["statement"]
    message = BUNDLE_CONTEXT + canonical_json(statement)
    signature = obj["signature"]
    try:
        sig = _b64(signature, "statement signature")
        signed_ok = verifier.public_key.verify(sig, message)
    except InvalidInput:
        signed_ok = False
    stated_summary = statement.get("summary")
    if set(statement) != _STATEMENT_KEYS:
        add(Check("statement", False, "the statement's fields are wrong"))
    elif not signed_ok:
        add(Check("statement", False, "not signed by the pinned log key (edited?)"))
    elif statement["item"] != item or statement["tree_size"] != size:
        add(Check("statement", False, "the statement is about another item or tree size"))
    elif statement["indices"] != indices:
        add(Check("statement", False, "the entries are not the ones the operator listed"))
    else:
        add(Check("statement", True, f"the operator lists these {len(indices)} entries"))

    # 6. Recompute: the entries concern this item and say what the summary says.
    summary, problems = replay(item, entries)
    add(
        Check("entries", False, "; ".join(problems))
        if problems
        else Check("entries", True, "every event concerns this item and its custody")
    )
    if summary is None:
        add(Check("verdict", False, "the entries do not commission the item"))
    elif stated_summary != summary.to_obj():
        stated = stated_summary if isinstance(stated_summary, dict) else {}
        differ = [k for k, v in summary.to_obj().items() if stated.get(k) != v]
        add(
            Check(
                "verdict",
                False,
                "the stated summary differs from what the entries say: " + ", ".join(differ),
            )
        )
    else:
        add(
            Check(
                "verdict",
                True,
                f"{summary.status}: commissioned by {summary.producer}, custody "
                f"{' -> '.join(summary.custody)}, {'recalled' if summary.recalled else 'no recall'}"
                f" as of checkpoint {size}",
            )
        )
    return BundleResult(item, size, tuple(checks), summary, cosigners)
