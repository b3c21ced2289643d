"""A supply-chain story for offline proof bundles, and the keys a verifier pins.

``bundle_story()`` runs, on a memory store: fishco commissions lot L7 (A1-A3) and a stray
item B9, packs A1 and A2 into a case and the case onto a pallet, ships the pallet to the
distributor, who unpacks it and ships the case to shop-a; shop-a sells A1; fishco then
recalls lot L7. Two witnesses cosign the last checkpoint. The bundles of A1 (with its code)
and B9 are built at ``BUNDLE_NOW``.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger.codes.identifiers import item_id
from ledger.keys import PrivateKey
from ledger.log.checkpoint import CosignatureVerifier, cosign_checkpoint
from ledger.log.note import NoteVerifier, parse_note
from ledger.ports.log import LogStore
from ledger.ports.witnesses import Cosignature
from ledger.provenance.events.names import RECALL, SELL, UNPACK
from ledger.storage.memory.log import MemoryStore
from ledger.usecases.bundles import build_item_bundle
from ledger.usecases.service import LogService
from ledger.verdicts.bundles import sign_statement
from tests.supply import GTIN, T0, VERIFY_RESOLVER, Supply, signed_code, sscc_for, standard

ORIGIN = "tracemark.test/log"
OPERATOR = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
WITNESS_KEYS = {name: PrivateKey.from_seed(name.encode().ljust(32, b".")) for name in ("w1", "w2")}
WITNESSES = tuple(
    CosignatureVerifier.from_public_key(f"{name}.example", key.public_key)
    for name, key in WITNESS_KEYS.items()
)
LOG_VKEY = NoteVerifier.from_public_key(ORIGIN, OPERATOR.public_key).to_vkey()
A1, B9 = item_id(GTIN, "A1"), item_id(GTIN, "B9")


@dataclass
class Story:
    supply: Supply
    service: LogService
    code: str
    now: int


def bundle_story(*, witnessed: bool = True, store: LogStore | None = None) -> Story:
    service = LogService(MemoryStore() if store is None else store)
    service.initialize(origin=ORIGIN, operator_name="Test Operator", key=OPERATOR, now=T0 - 10_000)
    service.log_key = OPERATOR
    s = standard(service, OPERATOR)
    s.commission("fishco", GTIN, {"list": ["A1", "A2", "A3"]}, lot="L7")
    s.commission("fishco", GTIN, {"list": ["B9"]}, lot="L8")
    case, pallet = f"00/{sscc_for(1)}", f"00/{sscc_for(2)}"
    s.pack("fishco", case, [A1, item_id(GTIN, "A2")])
    s.pack("fishco", pallet, [case])
    s.ship("fishco", "distri", [pallet], "S-1")
    s.receive("distri", "fishco", "S-1")
    s.ok(UNPACK, s.event("distri", parent=pallet), s.keys["distri"])
    s.ship("distri", "shop-a", [case], "D-1")
    s.receive("shop-a", "distri", "D-1")
    s.ok(UNPACK, s.event("shop-a", parent=case), s.keys["shop-a"])
    s.ok(SELL, s.event("shop-a", items=[A1]), s.keys["shop-a"])
    s.ok(
        RECALL,
        s.event("fishco", gtin=GTIN, scope="lot", lot="L7", reason="histamine"),
        s.keys["fishco"],
    )
    checkpoint = service.checkpoint(now=s.tick())
    if witnessed:
        for name, key in WITNESS_KEYS.items():
            note = cosign_checkpoint(checkpoint.note, f"{name}.example", key, 1_700_000_000)
            line = parse_note(note).signatures[-1]
            stamp = int.from_bytes(line.signature[:8], "big")
            service.store.witnesses.add(
                checkpoint.tree_size,
                checkpoint.note,
                [Cosignature(line.name, line.key_id, stamp, line.line)],
                keep=10,
            )
    return Story(s, service, signed_code(s, "A1", lot="L7"), s.tick())


def bundle_of(story: Story, item: str, code: str | None = None) -> dict[str, Any]:
    return build_item_bundle(
        story.service.prover,
        item,
        log_key=OPERATOR,
        resolvers=[VERIFY_RESOLVER],
        code=code,
        now=story.now,
    )


# --- tamperings: each names the checks it must make fail (Python and TypeScript alike) -----


def _flip_proof(b: dict[str, Any]) -> None:
    entry = b["entries"][3]
    raw = bytearray(base64.b64decode(entry["inclusion_proof"][0]))
    raw[0] ^= 1
    entry["inclusion_proof"][0] = base64.b64encode(bytes(raw)).decode()


def _drop(index: int) -> Callable[[dict[str, Any]], None]:
    def mutate(b: dict[str, Any]) -> None:
        b["entries"] = [e for e in b["entries"] if e["index"] != index]

    return mutate


def _edit_leaf(b: dict[str, Any]) -> None:
    entry = b["entries"][-1]
    leaf = base64.b64decode(entry["leaf"]).replace(b"histamine", b"histamin!")
    entry["leaf"] = base64.b64encode(leaf).decode()


def _resign(b: dict[str, Any]) -> None:
    """What a dishonest operator could do: sign a statement of its own choosing."""
    b["statement"]["indices"] = [e["index"] for e in b["entries"]]
    b["signature"] = sign_statement(b["statement"], OPERATOR)


def _swap_in(other: dict[str, Any], index: int) -> Callable[[dict[str, Any]], None]:
    def mutate(b: dict[str, Any]) -> None:
        swapped = next(e for e in other["entries"] if e["index"] == index)
        b["entries"] = sorted([*b["entries"], swapped], key=lambda e: e["index"])
        _resign(b)

    return mutate


def _summary_resigned(b: dict[str, Any]) -> None:
    b["statement"]["summary"].update(custodian="shop-b", recalled=False)
    _resign(b)


Mutation = Callable[[dict[str, Any]], None]


def tamperings(other: dict[str, Any]) -> dict[str, tuple[Mutation, set[str]]]:
    """Mutations of A1's bundle (``other``: B9's, for swaps) and the checks each breaks."""
    return {
        "flipped-proof-hash": (_flip_proof, {"inclusion"}),
        "dropped-recall": (_drop(18), {"statement", "verdict"}),
        "dropped-commission": (_drop(9), {"statement", "entries", "verdict"}),
        "dropped-key-registration": (_drop(1), {"statement", "signatures"}),
        "edited-summary": (
            lambda b: b["statement"]["summary"].update(recalled=False),
            {"statement", "verdict"},
        ),
        "edited-leaf": (_edit_leaf, {"inclusion", "signatures"}),
        "edited-item": (
            lambda b: b.update(item=B9),
            {"statement", "entries", "code", "verdict"},
        ),
        "edited-signature": (
            lambda b: b.update(signature=base64.b64encode(bytes(64)).decode()),
            {"statement"},
        ),
        "edited-checkpoint": (
            lambda b: b.update(checkpoint=b["checkpoint"].replace("\n19\n", "\n20\n")),
            {"checkpoint", "inclusion", "statement"},
        ),
        "edited-trust": (
            lambda b: b["trust"]["bundle"]["actors"][0].update(name="Evil"),
            {"trust", "code"},
        ),
        "swapped-in-entry-of-another-item-resigned": (_swap_in(other, 8), {"entries"}),
        "summary-contradicting-entries-resigned": (_summary_resigned, {"verdict"}),
    }


def tampered(good: dict[str, Any], other: dict[str, Any], name: str) -> dict[str, Any]:
    bundle = copy.deepcopy(good)
    tamperings(other)[name][0](bundle)
    return bundle
