"""The shapes of the HTTP API: response models of every route, and the request models more
than one route reads (the scan context of ``/v1/verify``, ``/v1/verify/batch``, ``/v1/scan``
and the resolver). They name the OpenAPI components (``/openapi.json``), so a class name here
is part of the published schema. Routes build plain dicts of these shapes. Other requests,
particular to one route, stay with it; the verify requests are here because they share their
examples with the verdict.

Sections follow the routes: verify, scan, log, ledger, platform, webhooks.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.http.errors import ErrorBody

__all__ = [
    "MAX_BATCH",
    "AcceptedResult",
    "ActorOut",
    "AttemptOut",
    "BatchRequest",
    "BatchResponse",
    "ConsistencyProofOut",
    "Context",
    "CosignatureOut",
    "CosignatureResponse",
    "DeliveryList",
    "DeliveryOut",
    "EntryProof",
    "InclusionProofOut",
    "ItemOut",
    "KeyOut",
    "ListingOut",
    "ListingResult",
    "ListingsResponse",
    "LogEntriesResponse",
    "LogEntryOut",
    "Proof",
    "Reason",
    "ReasonOut",
    "RegulatorReportOut",
    "RejectedResult",
    "ReportIn",
    "ReportOut",
    "ScanResponse",
    "ScannedCode",
    "SessionProofIn",
    "Status",
    "Step",
    "SubmitEntriesResponse",
    "TimelineStepOut",
    "VerifyRequest",
    "VerifyResponse",
    "WebhookCreated",
    "WebhookList",
    "WebhookOut",
    "Witnessed",
]

#: Codes a batch verify takes at most.
MAX_BATCH = 1_000

# --- verify -----------------------------------------------------------------------

_PRINTABLE = r"^[\x21-\x7e]{0,128}$"


#: The examples of the OpenAPI schema (/docs, generated clients): one item of the samples.
_CODE = (
    "https://vt.example.vn/01/08930001000018/10/L7/21/A1?8030=AQptbkfGxx-VqE3gw2o4O-G3X_Obd3DRrQ"
    "SKtn1POCjyjEB4Y1jWaV9HvP4SpmibWThgpvf4fwebqZUDwVb5GDYD"
)


_CONTEXT = {"platform": "tiktok", "listing_id": "1234567890", "seller": "tiktok:@shopa"}


_VERDICT: dict[str, Any] = {
    "status": "genuine",
    "source": "platform",
    "reasons": [
        {
            "code": "custody_verified",
            "message": "signed by its producer and recorded in the ledger from fishco to now "
            "(held by shop-a)",
            "evidence": {"custodian": "shop-a", "status": "active"},
        }
    ],
    "item": {
        "gtin": "08930001000018",
        "serial": "A1",
        "item_id": "01/08930001000018/21/A1",
        "lot": "L7",
        "producer": "fishco",
        "producer_name": "Fishco",
        "status": "active",
        "custodian": "shop-a",
    },
    "provenance": [
        {
            "index": 7,
            "type": "event.commission",
            "actor": "fishco",
            "time": "2026-10-09T08:53:26.001+00:00",
            "summary": "commissioned by fishco",
        }
    ],
    "proof": {
        "index": 7,
        "tree_size": 12,
        "leaf_hash": "dneeIrYT3nyoHYYD9lOtTN0QZVrWDCysIrkF2zzn3kA=",
        "inclusion_path": ["rjEhsGxBB8m6tS3P1S4gSgAc2lWnYCZtJ6cYZG7ZbcQ="],
        "checkpoint": "vt.example.vn/log\n12\n<base64 root hash>\n\n— vt.example.vn/log ...\n",
    },
}


class SessionProofIn(BaseModel):
    """A seller's signature over this scan in its declared stream session (docs/format.md)."""

    session_id: str = Field(..., pattern=r"^[\x21-\x7e]{1,128}$")
    key_id: str = Field(..., pattern=r"^[0-9a-f]{16}$")
    time: int = Field(..., ge=0, le=2**53, description="ms since the Unix epoch")
    signature: str = Field(..., pattern=r"^[A-Za-z0-9_-]{86}={0,2}$")


class Context(BaseModel):
    """Where the code was seen. All optional; a listing or stream makes it an offer.

    Naming a platform, seller or stream vouches for nothing: the verdict answers about
    this context, and only a platform API key (``X-API-Key``), a valid overlay ``nonce``
    or the seller's ``session_proof`` make it evidence that others' verdicts may use."""

    platform: str = Field(
        "",
        pattern=r"^[a-z0-9_.-]{0,32}$",
        examples=["tiktok"],
        description="the platform the code was seen on",
    )
    stream_id: str = Field(
        "", pattern=_PRINTABLE, examples=["live-2026-11-23"], description="the live stream's id"
    )
    listing_id: str = Field(
        "", pattern=_PRINTABLE, examples=["1234567890"], description="the listing's id"
    )
    seller: str = Field(
        "",
        pattern=r"^[\x21-\x7e]{0,140}$",
        examples=["tiktok:@shopname"],
        description="the seller's handle (platform:handle)",
    )
    place: str = Field("", pattern=r"^[A-Za-z0-9-]{0,16}$", description="coarse place code")
    nonce: str = Field(
        "",
        pattern=r"^([A-Za-z0-9_-]{96})?$",
        description="the overlay nonce of the listing QR the viewer came from",
    )
    session_proof: SessionProofIn | None = None


class VerifyRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": _CODE, "context": _CONTEXT}]}
    )

    code: str = Field(..., min_length=1, max_length=1024, description="the scanned URI")
    context: Context = Field(default_factory=Context)  # type: ignore[arg-type]


class BatchRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"codes": [_CODE], "context": _CONTEXT}]}
    )

    codes: list[str] = Field(..., min_length=1, max_length=MAX_BATCH)
    context: Context = Field(default_factory=Context)  # type: ignore[arg-type]


class Reason(BaseModel):
    code: str
    message: str
    evidence: dict[str, Any]


class Step(BaseModel):
    index: int
    type: str
    actor: str
    time: str
    summary: str


class Witnessed(BaseModel):
    cosigned_by: list[str] = Field(
        ..., description="Configured witnesses (key names) that cosigned this checkpoint"
    )
    quorum: int = Field(..., description="How many must cosign (TRACEMARK_WITNESS_QUORUM)")
    of: int = Field(..., description="How many witnesses are configured")
    witnessed: bool = Field(..., description="At least quorum of them cosigned")


class Proof(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str
    inclusion_path: list[str]
    checkpoint: str
    witnesses: Witnessed | None = Field(
        None, description="Which witnesses cosigned the checkpoint; absent without witnesses"
    )


class AttestationOut(BaseModel):
    """An attestation with its status at the time asked (ledger/verdicts/attestations.py)."""

    issuer: str
    issuer_name: str
    attestation_id: str
    kind: str = Field(
        ...,
        description="identity, or a document kind: certificate_of_origin, ocop_rating, "
        "food_safety_test, import_declaration, other",
    )
    status: str = Field(
        ...,
        examples=["valid"],
        description="valid | expired | revoked | not_yet_valid | issuer_suspended | "
        "document_missing | document_tampered",
    )
    valid_from: str
    valid_until: str
    index: int = Field(..., description="the attesting entry's index in the log")
    level: str | None = Field(None, description="identity: low | substantial | high")
    gtin: str | None = None
    lot: str | None = None
    document: str | None = Field(None, description="the document's SHA-256 (/v1/documents/...)")
    title: str | None = None
    revoked_at: str | None = None
    revoke_reason: str | None = None


class VerifyResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_VERDICT]})

    status: Literal["genuine", "suspect", "counterfeit", "recalled", "invalid", "unverified"] = (
        Field(
            ...,
            examples=["genuine"],
            description="invalid: the code cannot be read (scan again or type it carefully), "
            "never a sign of a fake",
        )
    )
    source: Literal["platform", "session", "overlay", "anonymous"] = Field(
        "anonymous",
        description="who vouched for the context: only vouched contexts are evidence for "
        "others' verdicts (docs/threat-model.md)",
    )
    reasons: list[Reason]
    qualifications: list[AttestationOut] | None = Field(
        None,
        description="the item's qualifications (by GTIN and its lot) with their status now, "
        "valid first; only status valid counts",
    )
    seller_identity: list[AttestationOut] | None = Field(
        None,
        description="identity attestations of the seller the context names, status now",
    )
    item: dict[str, Any]
    provenance: list[Step] = Field(default_factory=list)
    proof: Proof | None = None


class BatchResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {k: v for k, v in _VERDICT.items() if k not in ("provenance", "proof")}
                    ]
                }
            ]
        }
    )

    results: list[VerifyResponse]


# --- scan -------------------------------------------------------------------------

Status = Literal[
    "genuine", "suspect", "counterfeit", "recalled", "invalid", "unverified", "unrecognised"
]


class ScannedCode(BaseModel):
    text: str = Field(..., description="the decoded QR text")
    corners: list[tuple[int, int]] = Field(
        ..., min_length=4, max_length=4, description="pixels (x, y): TL, TR, BR, BL"
    )
    engine: str = Field(..., examples=["zxing"], description="the decoder that found it")
    status: Status = Field(..., description="the verdict's status, or unrecognised")
    verdict: VerifyResponse | None = Field(
        None, description="as POST /v1/verify answers; null for a QR code that is not ours"
    )


class ScanResponse(BaseModel):
    codes: list[ScannedCode] = Field(..., description="every code found, in reading order")


# --- log --------------------------------------------------------------------------


class LogEntryOut(BaseModel):
    index: int
    leaf: str = Field(..., description="base64 of the stored leaf bytes (canonical JSON)")
    leaf_hash: str = Field(..., description="base64 SHA-256(0x00 || leaf)")
    type: str = Field(..., examples=["event.commission"])
    integrated_time: int = Field(..., description="milliseconds since the epoch")


class LogEntriesResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "entries": [
                        {
                            "index": 0,
                            "leaf": "<base64 of the canonical JSON leaf>",
                            "leaf_hash": "dneeIrYT3nyoHYYD9lOtTN0QZVrWDCysIrkF2zzn3kA=",
                            "type": "log.genesis",
                            "integrated_time": 1759999990000,
                        }
                    ]
                }
            ]
        }
    )

    entries: list[LogEntryOut]


class InclusionProofOut(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str
    root_hash: str
    inclusion_path: list[str] = Field(..., description="base64 hashes, RFC 9162 order")
    checkpoint: str | None = Field(None, description="signed note of tree_size, when at hand")


class ConsistencyProofOut(BaseModel):
    old_size: int
    new_size: int
    old_root: str
    new_root: str
    consistency_path: list[str] = Field(..., description="base64 hashes, RFC 9162 order")
    checkpoint: str | None = Field(None, description="signed note of new_size, when at hand")


class CosignatureOut(BaseModel):
    witness: str
    key_id: str = Field(..., description="4-byte note key id, hex")
    timestamp: int = Field(..., description="seconds since the epoch, as the witness signed")


class CosignatureResponse(BaseModel):
    tree_size: int
    cosignatures: list[CosignatureOut]


# --- ledger -----------------------------------------------------------------------


class EntryProof(BaseModel):
    tree_size: int
    inclusion_path: list[str] = Field(..., description="base64 hashes, RFC 9162 order")


class AcceptedResult(BaseModel):
    index: int
    leaf_hash: str = Field(..., description="base64 SHA-256(0x00 || leaf)")
    integrated_time: int
    proof: EntryProof | None = Field(None, description="against the returned checkpoint")


class RejectedResult(BaseModel):
    error: ErrorBody


class SubmitEntriesResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {
                            "index": 12,
                            "leaf_hash": "dneeIrYT3nyoHYYD9lOtTN0QZVrWDCysIrkF2zzn3kA=",
                            "integrated_time": 1796600000000,
                            "proof": {"tree_size": 13, "inclusion_path": ["<base64 hash>"]},
                        },
                        {"error": {"code": "signature_invalid", "message": "..."}},
                    ],
                    "checkpoint": "vt.example.vn/log\n13\n<base64 root hash>\n\n— ...\n",
                }
            ]
        }
    )

    results: list[AcceptedResult | RejectedResult]
    checkpoint: str | None = Field(None, description="signed note the proofs are against")


class KeyOut(BaseModel):
    key_id: str
    actor_id: str
    public_key: str = Field(..., examples=["ed25519:<base64 32 bytes>"])
    added_index: int
    added_time: int
    revoked: bool
    revoked_index: int | None
    effective_time: int | None = Field(..., description="entries from then on are refused")
    compromised_since: int | None = Field(..., description="distrusted from then on")
    reason: str


class TimelineStepOut(BaseModel):
    index: int
    type: str
    actor: str
    event_time: int
    integrated_time: int
    tz: str
    summary: str


class ItemOut(BaseModel):
    item_id: str
    gtin: str
    serial: str
    lot: str
    expiry: str
    status: str = Field(..., examples=["active"])
    custody_status: str
    recalled: bool
    custodian: str
    pending_to: str
    parent: str
    producer: str
    claimed: bool
    product: dict[str, Any] | None
    timeline: list[TimelineStepOut]


class ActorOut(BaseModel):
    actor_id: str
    role: str
    name: str
    country: str
    verified: bool
    status: str
    prefixes: list[str]
    handles: list[str]
    registered_index: int
    keys: list[KeyOut]


class ListingOut(BaseModel):
    platform: str
    listing_id: str
    seller: str
    gtin: str
    quantity: int
    serials: list[str]
    stream_id: str
    status: str
    stock: int = Field(..., description="sellable items of the GTIN the seller holds now")
    backed: bool
    recalled: bool = Field(
        ..., description="the GTIN, a listed item or a held item of the GTIN is recalled"
    )
    reasons: list[str]


# --- platform ---------------------------------------------------------------------

_RESULTS_EXAMPLE = {
    "results": [
        {
            "platform": "tiktok",
            "listing_id": "1234567890",
            "status": "genuine",
            "reasons": [
                {
                    "code": "stock_verified",
                    "message": "the verified seller shop-a holds 40 sellable items of GTIN "
                    "08930001000018 from fishco",
                    "evidence": {"held": 40, "producer": "fishco"},
                }
            ],
            "seller": {
                "handle": "tiktok:@shopa",
                "actor_id": "shop-a",
                "registered": True,
                "verified": True,
                "active": True,
            },
            "stock": {
                "gtin": "08930001000018",
                "producer": "fishco",
                "held": 40,
                "quantity": 5,
                "declared": True,
                "listing_status": "open",
            },
            "recalls": [],
            "codes": [],
        }
    ]
}


class ReasonOut(BaseModel):
    code: str
    message: str
    evidence: dict[str, Any]


class ListingResult(BaseModel):
    platform: str
    listing_id: str
    status: str = Field(..., examples=["genuine"])
    reasons: list[ReasonOut]
    seller: dict[str, Any] = Field(
        ...,
        description="handle, actor_id, registered, verified, active, and identity: the "
        "seller's identity attestations with their status now (valid first)",
    )
    stock: dict[str, Any]
    recalls: list[dict[str, Any]]
    codes: list[dict[str, Any]]
    qualifications: list[AttestationOut] = Field(
        default_factory=list,
        description="the listed GTIN's qualifications with their status now, valid first",
    )


class ListingsResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_RESULTS_EXAMPLE]})

    results: list[ListingResult]


# --- reports ----------------------------------------------------------------------


class ReportIn(BaseModel):
    """A shopper's report about a scanned code (or an item id)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": _CODE,
                    "reason": "seller_mismatch",
                    "text": "The streamer showed a different box",
                    "context": {"platform": "tiktok", "listing_id": "L-100"},
                }
            ]
        },
    )

    code: str = Field("", max_length=1024, description="the scanned URI (or give item)")
    item: str = Field("", max_length=120, description="an item id, 01/<gtin14>/21/<serial>")
    reason: Literal["counterfeit", "seller_mismatch", "recalled_on_sale", "damaged", "other"]
    text: str = Field("", max_length=500, description="what happened, in the reporter's words")
    contact: str = Field(
        "", max_length=200, description="a phone or email for an answer (the producer only)"
    )
    context: Context = Field(default_factory=Context)  # type: ignore[arg-type]


class ReportOut(BaseModel):
    id: str
    time: int
    item_id: str
    status: str = Field(..., description="the verdict the reporter was shown")
    source: Literal["platform", "session", "overlay", "anonymous"]
    weak: bool = Field(
        ..., description="an anonymous report: a weak signal, never changes any verdict"
    )


# --- webhooks ---------------------------------------------------------------------


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    created: int


class WebhookCreated(WebhookOut):
    secret: str = Field(
        ...,
        description="The Standard Webhooks signing secret (whsec_ + base64 of 32 random "
        "bytes) of the webhook-signature header; shown only once",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwJ8cX9rTAUHY="],
    )


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class AttemptOut(BaseModel):
    attempt: int
    time: int
    ok: bool
    status_code: int
    error: str
    duration_ms: int


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    event: str
    status: str
    attempts: int
    next_attempt: int | None
    created: int
    last_status_code: int
    history: list[AttemptOut]


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


class RegulatorReportOut(BaseModel):
    """A regulator report's files (docs/format.md, "Regulator report"): write each value,
    as UTF-8, to a file of its name; ``tracemark report verify`` checks the folder."""

    files: dict[str, str] = Field(
        ...,
        description="lines.csv, events.epcis.json and report.json, by name",
        examples=[{"lines.csv": "line,kind,...", "report.json": "{...}"}],
    )
