"""What a scan found, shared by ``tracemark scan`` and ``POST /v1/scan``: each decoded QR text
with where it is and what the ledger says about it.

A camera frame or a screenshot shows every QR code in view, not only ours: a Wi-Fi code, a
shop's web page, a brand's own GS1 link without a serial. Calling those counterfeit would be
a verdict this ledger cannot give, so they are reported as ``unrecognised`` and never fail a
scan. A decoded text is unrecognised when it carries no code signature (no GS1 AI 8030
parameter) and the code check found it is not an item code (``malformed_code``) or names a
GTIN of no registered producer (``unknown_producer``). A text that carries a signature, or
names an item of a registered producer, claims to be a Tracemark code and gets the full
verdict: one that cannot be read, or lacks its signature, is ``invalid`` (``unsigned_code``:
"scan it again"), which does not fail a scan either; a signature that fails is counterfeit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.codes.signed import ItemCode
from ledger.errors import InvalidInput
from ledger.verdicts.model import COUNTERFEIT, INVALID, RECALLED, SUSPECT, Reason, Verdict

__all__ = [
    "FAILING",
    "UNRECOGNISED",
    "code_entry",
    "fails",
    "malformed",
    "status_of",
]

UNRECOGNISED = "unrecognised"
#: Statuses that fail a scan (CLI exit code 3): the item must not be trusted.
FAILING = frozenset({COUNTERFEIT, SUSPECT, RECALLED})
_FOREIGN_REASONS = frozenset({"malformed_code", "unknown_producer"})
_DIGSIG = re.compile(r"[?&]8030=")


def malformed(text: str) -> Verdict | None:
    """The verdict of a text that is no item code at all (no ledger needed), else None.

    Parsing is deterministic, so a client can settle such texts without asking a server
    (``/v1/verify`` would refuse texts beyond 1,024 characters outright).
    """
    try:
        ItemCode.from_uri(text)
    except InvalidInput as exc:
        return Verdict(INVALID, (Reason("malformed_code", exc.message),))
    return None


def status_of(text: str, verdict: Mapping[str, Any]) -> str:
    """The verdict's status, or ``unrecognised`` for a QR code that is not ours (see above)."""
    if verdict.get("status") not in (COUNTERFEIT, INVALID) or _DIGSIG.search(text):
        return str(verdict.get("status"))
    reasons: Sequence[Mapping[str, Any]] = verdict.get("reasons") or ()
    first = reasons[0].get("code") if reasons else None
    return UNRECOGNISED if first in _FOREIGN_REASONS else str(verdict.get("status"))


def fails(status: str) -> bool:
    return status in FAILING


def code_entry(found: Mapping[str, Any], verdict: Mapping[str, Any]) -> dict[str, Any]:
    """A found code (a detection's or a video sighting's ``to_obj()``: text, corners, ...)
    with its ``status`` and ``verdict``.

    The verdict is None for an unrecognised code: the check's counterfeit verdict would only
    say that the text is not ours.
    """
    status = status_of(str(found["text"]), verdict)
    return {
        **found,
        "status": status,
        "verdict": None if status == UNRECOGNISED else dict(verdict),
    }
