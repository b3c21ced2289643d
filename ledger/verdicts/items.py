"""The item verdict: ``decide(evidence, thresholds) -> Verdict``. Pure: no I/O.

Evidence is what the service gathered for one scan: the offline code check, the item's state
in the ledger, the signing key's history, the scan's context and where it comes from, and the
vouched contexts that saw the same serial recently (ledger.verdicts.evidence). Each rule is
named; its reason code is what API clients and pages show. Status precedence: invalid >
counterfeit > recalled > suspect > genuine (``unverified`` only comes from the offline check,
when the ledger is not asked).

    invalid      malformed_code   the text cannot be read as a Tracemark code (length, check
                 unsigned_code    digit, syntax, a missing signature parameter): scan again
    counterfeit  code_*           the signature check failed (forged, unknown key, ...)
                 not_commissioned the serial was never commissioned in the ledger
                 key_not_valid_at_issue  the producer's key was revoked (or compromised)
                                  before the item was commissioned
                 item_destroyed   the item was destroyed or decommissioned
    recalled     recalled         the producer recalled the item, its lot or its GTIN
    suspect      the clone rules of ledger.verdicts.clones (own context: sold_item_offered,
                 unknown_seller, seller_not_custodian; vouched contexts elsewhere:
                 multiple_sellers, scan_velocity)
    genuine      custody_verified the producer's signature, the ledger and the context agree
"""

from __future__ import annotations

from collections.abc import Mapping

from ledger.verdicts.clones import context_reasons
from ledger.verdicts.evidence import Evidence, Thresholds
from ledger.verdicts.model import COUNTERFEIT, GENUINE, INVALID, RECALLED, SUSPECT, Reason, Verdict

__all__ = ["decide"]


def _reason(code: str, message: str, **evidence: object) -> Reason:
    return Reason(code, message, evidence)


def _counterfeit_reasons(evidence: Evidence) -> list[Reason]:
    if evidence.code.status == COUNTERFEIT:
        return list(evidence.code.reasons)
    item, key = evidence.item, evidence.key
    if item is None:
        return [_reason("not_commissioned", "this serial was never commissioned by its producer")]
    reasons: list[Reason] = []
    if key is not None:
        issued = item.commissioned_time
        if 0 <= key.compromised_since <= issued or 0 <= key.effective_time <= issued:
            reasons.append(
                _reason(
                    "key_not_valid_at_issue",
                    "the code was signed with a key that was revoked before the item was made",
                    key_id=key.key_id,
                    commissioned_time=issued,
                )
            )
    if item.status == "destroyed":
        reasons.append(_reason("item_destroyed", "this item was destroyed or decommissioned"))
    return reasons


_DEFAULT = Thresholds()


def decide(evidence: Evidence, limits: Thresholds = _DEFAULT) -> Verdict:
    """The verdict for one scan: every rule that fires is a reason; precedence picks the status."""
    item_info: Mapping[str, str] = dict(evidence.code.item)
    if evidence.code.status == INVALID:
        return Verdict(INVALID, evidence.code.reasons, item_info)
    counterfeit = _counterfeit_reasons(evidence)
    item = evidence.item
    if counterfeit or item is None:  # no item always gives a counterfeit reason
        return Verdict(COUNTERFEIT, tuple(counterfeit), item_info)
    clones = context_reasons(evidence, limits)
    if item.recalled:
        recalled = _reason("recalled", "the producer recalled this item: do not buy or use it")
        return Verdict(RECALLED, (recalled, *clones), item_info)
    if clones:
        return Verdict(SUSPECT, tuple(clones), item_info)
    where = "held by " + item.custodian if item.status != "sold" else "sold to a consumer"
    genuine = _reason(
        "custody_verified",
        f"signed by its producer and recorded in the ledger from {item.producer} to now ({where})",
        custodian=item.custodian,
        status=item.status,
    )
    return Verdict(GENUINE, (genuine,), item_info)
