"""Is a stream session ready to go live? ``session_compliance`` answers at a time.

A session is compliant when its seller holds a valid identity attestation, and every
listing it declares is open, backed by stock (the seller holds enough sellable items of the
GTIN, or the very items listed, none recalled) and by the qualifications the policy asks
(``CompliancePolicy.kinds``: one valid qualification of each kind named; none named, at
least one valid qualification of any kind) of the GTIN or of the listed items' lots.

Each thing missing is a ``Problem`` with a machine code and a human reason:

    identity_missing, identity_<status>      no valid identity attestation (expired, ...)
    listing_missing, listing_closed          the listing is unknown or closed
    product_recalled, item_recalled          the GTIN, or a listed item (its lot), recalled
    insufficient_stock, not_custodian, item_unavailable   stock does not back the listing
    qualification_missing, qualification_<status>          no valid qualification (of a kind)

``next_change`` is the earliest time after ``now`` when a valid attestation the answer
relied on expires: a periodic check need not look again before then, unless the log moves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.provenance.events.attestations import QUALIFICATION_KINDS
from ledger.provenance.records import (
    ACTIVE,
    OPEN,
    Item,
    Listing,
    Recall,
    StreamSession,
    View,
)
from ledger.provenance.rules.common import is_recalled
from ledger.verdicts.attestations import (
    AttestationStatus,
    DocumentCheck,
    identity_of,
    qualifications_of,
)

__all__ = [
    "Compliance",
    "CompliancePolicy",
    "ListingCompliance",
    "Problem",
    "session_compliance",
]

_NEVER = 2**63 - 1


@dataclass(frozen=True, slots=True)
class CompliancePolicy:
    """What a session needs: the qualification kinds required per listed GTIN (empty: at
    least one valid qualification of any kind) and whether the seller's identity must be
    attested."""

    kinds: tuple[str, ...] = ()
    require_identity: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(QUALIFICATION_KINDS)
        if unknown:
            raise ValueError(f"unknown qualification kinds: {', '.join(sorted(unknown))}")


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    message: str
    listing_id: str = ""

    def to_obj(self) -> dict[str, Any]:
        data = {"code": self.code, "message": self.message}
        if self.listing_id:
            data["listing_id"] = self.listing_id
        return data


@dataclass(frozen=True, slots=True)
class ListingCompliance:
    listing_id: str
    gtin: str
    quantity: int
    stock: int
    qualifications: tuple[AttestationStatus, ...]
    problems: tuple[Problem, ...]

    def to_obj(self) -> dict[str, Any]:
        return {
            "listing_id": self.listing_id,
            "gtin": self.gtin,
            "quantity": self.quantity,
            "stock": self.stock,
            "compliant": not self.problems,
            "qualifications": [q.to_obj() for q in self.qualifications],
            "problems": [p.to_obj() for p in self.problems],
        }


@dataclass(frozen=True, slots=True)
class Compliance:
    platform: str
    session_id: str
    seller: str
    checked_at: int
    identity: tuple[AttestationStatus, ...]
    listings: tuple[ListingCompliance, ...]
    problems: tuple[Problem, ...]
    next_change: int = _NEVER
    policy: CompliancePolicy = field(default_factory=CompliancePolicy)

    @property
    def compliant(self) -> bool:
        return not self.problems

    def to_obj(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "session_id": self.session_id,
            "seller": self.seller,
            "compliant": self.compliant,
            "checked_at": self.checked_at,
            "identity": [i.to_obj() for i in self.identity],
            "listings": [item.to_obj() for item in self.listings],
            "problems": [p.to_obj() for p in self.problems],
            "policy": {
                "kinds": list(self.policy.kinds),
                "require_identity": self.policy.require_identity,
            },
        }


def _identity_problems(seller: str, found: Sequence[AttestationStatus]) -> list[Problem]:
    if any(s.valid for s in found):
        return []
    if not found:
        return [
            Problem("identity_missing", f"no identity verifier has attested {seller}'s identity")
        ]
    best = found[0]
    return [
        Problem(
            f"identity_{best.status}",
            f"{seller}'s identity attestation by {best.issuer_name} is "
            f"{best.status.replace('_', ' ')}",
        )
    ]


def _stock(view: View, seller: str, listing: Listing) -> tuple[int, list[Problem], list[str]]:
    """Items backing the listing, the problems, and the lots of the listed items."""
    problems: list[Problem] = []
    lid = listing.listing_id
    if view.get(Recall, (listing.gtin, "")) is not None:
        problems.append(Problem("product_recalled", f"GTIN {listing.gtin} is recalled", lid))
    if not listing.serials:
        stock = view.stock(seller, listing.gtin)
        if stock < listing.quantity:
            problems.append(
                Problem(
                    "insufficient_stock",
                    f"{seller} holds {stock} sellable items of GTIN {listing.gtin}; the "
                    f"listing offers {listing.quantity}",
                    lid,
                )
            )
        return stock, problems, []
    backed, lots = 0, list[str]()
    for ident in listing.serials:
        item = view.get(Item, (ident,))
        if item is not None and item.lot:
            lots.append(item.lot)
        if item is None or item.custodian != seller:
            problems.append(Problem("not_custodian", f"{seller} does not hold {ident}", lid))
        elif item.status != ACTIVE:
            problems.append(Problem("item_unavailable", f"{ident} is {item.status}", lid))
        elif is_recalled(view, item):
            problems.append(Problem("item_recalled", f"{ident} is recalled", lid))
        else:
            backed += 1
    return backed, problems, sorted(set(lots))


def _qualification_problems(
    gtin: str, found: Sequence[AttestationStatus], policy: CompliancePolicy, lid: str
) -> list[Problem]:
    wanted: Sequence[str] = policy.kinds or ("",)
    problems: list[Problem] = []
    for kind in wanted:
        of_kind = [s for s in found if not kind or s.attestation.kind == kind]
        if any(s.valid for s in of_kind):
            continue
        what = kind.replace("_", " ") if kind else "qualification"
        if not of_kind:
            problems.append(
                Problem("qualification_missing", f"GTIN {gtin} has no valid {what}", lid)
            )
            continue
        best = of_kind[0]
        problems.append(
            Problem(
                f"qualification_{best.status}",
                f"the {best.attestation.kind.replace('_', ' ')} of GTIN {gtin} by "
                f"{best.issuer_name} is {best.status.replace('_', ' ')}",
                lid,
            )
        )
    return problems


def session_compliance(
    view: View,
    session: StreamSession,
    now: int,
    *,
    policy: CompliancePolicy | None = None,
    documents: DocumentCheck | None = None,
) -> Compliance:
    """The compliance of ``session`` at ``now`` (pure: reads ``view``, checks documents
    through ``documents``)."""
    policy = policy or CompliancePolicy()
    seller = session.seller
    next_change = _NEVER
    identity = identity_of(view, seller, now)
    problems: list[Problem] = []
    if policy.require_identity:
        problems += _identity_problems(seller, identity)
        valid = [s.attestation.valid_until for s in identity if s.valid]
        if valid:
            next_change = min(next_change, max(valid))
    listings: list[ListingCompliance] = []
    for listing_id in session.listings:
        listing = view.get(Listing, (session.platform, listing_id))
        if listing is None:
            problems.append(Problem("listing_missing", f"no listing {listing_id}", listing_id))
            continue
        own: list[Problem] = []
        if listing.status != OPEN:
            own.append(Problem("listing_closed", f"listing {listing_id} is closed", listing_id))
        stock, stock_problems, lots = _stock(view, seller, listing)
        own += stock_problems
        found = qualifications_of(view, listing.gtin, "", now, documents)
        for lot in lots:
            found += [
                s
                for s in qualifications_of(view, listing.gtin, lot, now, documents)
                if s.attestation.lot
            ]
        own += _qualification_problems(listing.gtin, found, policy, listing_id)
        for s in found:
            if s.valid:
                next_change = min(next_change, s.attestation.valid_until)
        listings.append(
            ListingCompliance(
                listing_id, listing.gtin, listing.quantity, stock, tuple(found), tuple(own)
            )
        )
        problems += own
    return Compliance(
        session.platform,
        session.session_id,
        seller,
        now,
        tuple(identity),
        tuple(listings),
        tuple(problems),
        next_change,
        policy,
    )
