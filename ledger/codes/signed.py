"""Signed item codes: a GS1 Digital Link URI that carries its producer's Ed25519 signature.

    https://vt.example.vn/01/08930001000018/10/L2611/21/FS000001?17=271231&8030=<DIGSIG>
    \\___ resolver ____/\\________ GS1 Digital Link: GTIN, lot, serial, expiry _______/

DIGSIG (GS1 AI 8030, at most 90 characters of base64url) is the unpadded base64url of 66
bytes, so always exactly 88 characters::

    version (1 byte, 0x01) || key hint (1 byte) || Ed25519 signature (64 bytes)

The key hint is the first byte of the signing key's id (``ledger.keys``): the verifier finds
the producer from the GTIN's GS1 company prefix and tries only that producer's keys whose id
starts with the hint (one, almost always). The signature covers domain-separated bytes over
the GS1 element string, never the resolver host, so the resolver can move without reprinting::

    "tracemark/code/v1" || 0x00 || "01" gtin GS "21" serial GS ["10" lot GS] ["17" expiry GS]

GS is 0x1D (the FNC1 separator of GS1 element strings) ends every element; it is not in
CSET 82, so the message is unambiguous. Entry signatures (``tracemark/entry/...``), trust
bundles (``tracemark/trust/v1``) and checkpoints (C2SP signed notes) use other contexts.

Checking a code is offline and pure: ``check_code(uri, directory)`` returns a ``Verdict``
(``unverified`` + ``signature_valid`` or ``counterfeit`` + the reason) and never raises for a
bad code. The directory is a trust bundle (``ledger.codes.trust``) or the ledger itself.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ledger.codes.gs1 import (
    DigitalLink,
    build_uri,
    check_digit,
    gtin14,
    uri_escape,
    uri_unescape,
    validate_expiry,
    validate_lot,
    validate_serial,
)
from ledger.codes.identifiers import item_id
from ledger.errors import InvalidInput, TracemarkError
from ledger.keys import PrivateKey, PublicKey, VerifiedSignatures
from ledger.verdicts.model import COUNTERFEIT, INVALID, UNVERIFIED, Reason, Verdict

__all__ = [
    "CODE_CONTEXT",
    "DIGSIG_AI",
    "DIGSIG_LENGTH",
    "MAX_CODE_LENGTH",
    "CodeCheck",
    "CodeIdentity",
    "DirectoryKey",
    "ItemCode",
    "KeyDirectory",
    "check_code",
    "check_code_detail",
    "code_message",
    "issue_uri",
    "sign_code",
]

CODE_CONTEXT = b"tracemark/code/v1\x00"
DIGSIG_AI = "8030"
DIGSIG_VERSION = 0x01
DIGSIG_LENGTH = 88
MAX_CODE_LENGTH = 1024  # far above any code we issue; longer input is refused unread
_GS = "\x1d"
_ALLOWED_AIS = frozenset({"01", "21", "10", "17", DIGSIG_AI})


@dataclass(frozen=True, slots=True)
class CodeIdentity:
    """What a code identifies and its signature covers: GTIN-14, serial, optional lot, expiry."""

    gtin: str
    serial: str
    lot: str = ""
    expiry: str = ""

    def __post_init__(self) -> None:
        if gtin14(self.gtin) != self.gtin:
            raise InvalidInput("a code's GTIN must be the 14-digit form", code="invalid_gtin")
        validate_serial(self.serial)
        if self.lot:
            validate_lot(self.lot)
        if self.expiry:
            validate_expiry(self.expiry)

    @classmethod
    def _checked_fast(cls, gtin: str, serial: str, lot: str, expiry: str) -> CodeIdentity:
        """Build from values the canonical-form fast path has already checked."""
        identity = object.__new__(cls)
        for name, value in (("gtin", gtin), ("serial", serial), ("lot", lot), ("expiry", expiry)):
            object.__setattr__(identity, name, value)
        return identity

    @property
    def item_id(self) -> str:
        return item_id(self.gtin, self.serial)

    def ais(self) -> list[tuple[str, str]]:
        pairs = [("01", self.gtin), ("21", self.serial)]
        if self.lot:
            pairs.append(("10", self.lot))
        if self.expiry:
            pairs.append(("17", self.expiry))
        return pairs


def code_message(identity: CodeIdentity) -> bytes:
    """The exact bytes a code signature covers."""
    elements = "".join(ai + value + _GS for ai, value in identity.ais())
    return CODE_CONTEXT + elements.encode("ascii")


def sign_code(identity: CodeIdentity, key: PrivateKey) -> str:
    """The DIGSIG value (88 base64url characters) of ``identity`` signed with ``key``."""
    hint = bytes.fromhex(key.key_id[:2])
    payload = bytes([DIGSIG_VERSION]) + hint + key.sign(code_message(identity))
    return base64.urlsafe_b64encode(payload).decode("ascii")


def issue_uri(identity: CodeIdentity, key: PrivateKey, resolver: str) -> str:
    """The signed Digital Link URI of an item on the resolver (``https://host[/path]``)."""
    return build_uri([*identity.ais(), (DIGSIG_AI, sign_code(identity, key))], stem=resolver)


@dataclass(frozen=True, slots=True)
class ItemCode:
    """A parsed item code. ``signature`` is None for an unsigned code (a counterfeit sign)."""

    identity: CodeIdentity
    resolver: str
    key_hint: int | None
    signature: bytes | None

    @classmethod
    def from_uri(cls, uri: str) -> ItemCode:
        """Parse; InvalidInput (code ``malformed_code``) for anything that is not our code."""
        if not isinstance(uri, str):
            raise InvalidInput("a code must be text", code="malformed_code")
        if len(uri) > MAX_CODE_LENGTH:
            raise InvalidInput(
                f"a code is at most {MAX_CODE_LENGTH} characters; this one has {len(uri)}",
                code="malformed_code",
            )
        fast = _canonical(uri)
        if fast is not None:
            return fast
        return cls._parse(_GTIN_SHORT.sub(_pad_gtin, uri, count=1))

    @classmethod
    def _parse(cls, uri: str) -> ItemCode:
        """The general path: any valid GS1 Digital Link form (order, escapes, case)."""
        try:
            link = DigitalLink.from_uri(uri.strip())
            extra = sorted({ai for ai, _ in link.ais} - _ALLOWED_AIS)
            if extra:
                raise InvalidInput(f"unexpected GS1 AI(s) {', '.join(extra)} in an item code")
            if link.gtin is None or link.serial is None:
                raise InvalidInput("an item code names a GTIN (01) and a serial (21)")
            identity = CodeIdentity(link.gtin, link.serial, link.lot or "", link.expiry or "")
        except TracemarkError as exc:
            raise InvalidInput(
                f"not a Tracemark item code: {exc.message}", code="malformed_code"
            ) from None
        digsig = link.get(DIGSIG_AI)
        if digsig is None:
            return cls(identity, link.stem, None, None)
        version, hint, signature = _decode_digsig(digsig)
        if version != DIGSIG_VERSION:
            raise InvalidInput(f"unknown code signature version {version}", code="malformed_code")
        return cls(identity, link.stem, hint, signature)

    @property
    def message(self) -> bytes:
        return code_message(self.identity)


# A GTIN-8, -12 or -13 in the path is the same GTIN as its 14-digit zero-padded form (GS1
# General Specifications 3.3.2; a phone or a person typing a code drops the leading zero).
_GTIN_SHORT = re.compile(r"/01/([0-9]{8}|[0-9]{12,13})(?=[/?#]|$)")


def _pad_gtin(match: re.Match[str]) -> str:
    return "/01/" + match.group(1).zfill(14)


# Codes as we issue them: lower-case scheme, plain host, canonical order and escaping. Such a
# code is parsed here in a few microseconds; anything else takes the general Digital Link
# path, which accepts exactly the same codes (tests/property/test_code_parsing.py).
_CANONICAL = re.compile(
    r"(https?://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~-]+)*)"
    r"/01/([0-9]{14})(?:/10/([A-Za-z0-9._~%-]{1,60}))?/21/([A-Za-z0-9._~%-]{1,60})"
    r"\?(?:17=([0-9]{6})&)?8030=([A-Za-z0-9_-]{88})"
)
_CSET82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)


def _value(raw: str | None) -> str | None:
    """A path value: unescaped, 1..20 characters of CSET 82; None when not (slow path)."""
    if raw is None:
        return ""
    try:
        text = uri_unescape(raw) if "%" in raw else raw
    except InvalidInput:  # %00: let the general path say why
        return None
    if not 0 < len(text) <= 20 or not _CSET82.issuperset(text):
        return None
    if "%" in raw and uri_escape(text) != raw:  # without '%' the regex allowed only unreserved
        return None
    return text


@functools.lru_cache(maxsize=4096)
def _gtin_ok(gtin: str) -> bool:
    """Check digit of a 14-digit GTIN (cached: a product's codes share their GTIN)."""
    return check_digit(gtin[:13]) == gtin[13]


def _canonical(uri: str) -> ItemCode | None:
    match = _CANONICAL.fullmatch(uri)
    if match is None:
        return None
    stem, gtin, raw_lot, raw_serial, expiry, digsig = match.groups()
    if not _gtin_ok(gtin):
        return None
    serial, lot = _value(raw_serial), _value(raw_lot)
    if serial is None or lot is None:
        return None
    if expiry is not None:
        try:
            validate_expiry(expiry)
        except InvalidInput:
            return None
    raw = base64.urlsafe_b64decode(digsig)
    if raw[0] != DIGSIG_VERSION:
        return None
    identity = CodeIdentity._checked_fast(gtin, serial, lot, expiry or "")
    return ItemCode(identity, stem, raw[1], raw[2:])


def _decode_digsig(text: str) -> tuple[int, int, bytes]:
    if len(text) != DIGSIG_LENGTH:
        raise InvalidInput(
            f"the code signature (AI 8030) must be {DIGSIG_LENGTH} characters, got {len(text)}",
            code="malformed_code",
        )
    try:
        raw = base64.urlsafe_b64decode(text)
    except (binascii.Error, ValueError):
        raise InvalidInput("the code signature is not base64url", code="malformed_code") from None
    if base64.urlsafe_b64encode(raw).decode("ascii") != text:
        raise InvalidInput("the code signature is not canonical base64url", code="malformed_code")
    return raw[0], raw[1], raw[2:]


@dataclass(frozen=True, slots=True)
class DirectoryKey:
    """A registered key as a verifier sees it."""

    key: PublicKey
    actor_id: str
    effective_time: int = -1  # revoked from this time (-1: not revoked)
    compromised_since: int = -1  # distrusted from this time (-1: never)


class KeyDirectory(Protocol):
    """Who produces a GTIN and which keys speak for whom (a trust bundle, or the ledger)."""

    def producer_of(self, gtin: str) -> tuple[str, str] | None:
        """(actor id, name) of the producer owning the GTIN's company prefix, or None."""
        ...

    def keys_with_hint(self, hint: int) -> Sequence[DirectoryKey]:
        """Every registered key whose id starts with the byte ``hint``."""
        ...

    def is_resolver(self, stem: str) -> bool:
        """Is this the operator's resolver (a code elsewhere is a copy on another site)?"""
        ...


def _counterfeit(code: str, message: str, item: dict[str, str], **evidence: object) -> Verdict:
    return Verdict(COUNTERFEIT, (Reason(code, message, evidence),), item)


def _signer(
    code: ItemCode,
    *,
    signature: bytes,
    hint: int,
    directory: KeyDirectory,
    producer: tuple[str, str],
    item: dict[str, str],
    verified: VerifiedSignatures | None,
) -> DirectoryKey | Verdict:
    """The producer key that signed the code, or the counterfeit verdict saying why not."""
    message = code.message
    candidates = directory.keys_with_hint(hint)
    if verified is None:
        signer = next((k for k in candidates if k.key.verify(signature, message)), None)
    else:
        signer = next((k for k in candidates if verified.verify(k.key, signature, message)), None)
    if signer is None:
        if any(k.actor_id == producer[0] for k in candidates):
            return _counterfeit(
                "signature_invalid",
                "the signature does not match this item: "
                "the code was altered or copied from another item",
                item,
            )
        return _counterfeit(
            "unknown_key", f"the code is not signed by any key of {producer[1]}", item
        )
    evidence = {"key_id": signer.key.key_id, "signer": signer.actor_id}
    if signer.actor_id != producer[0]:
        return _counterfeit(
            "not_producer_key",
            f"signed by {signer.actor_id}, not by the GTIN's producer {producer[0]}",
            item,
            **evidence,
        )
    if signer.compromised_since >= 0:
        return _counterfeit(
            "key_compromised",
            "the producer reported the signing key "
            "compromised; codes it signed cannot be trusted offline",
            item,
            compromised_since=signer.compromised_since,
            **evidence,
        )
    return signer


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """A code's check: the verdict and, when the signature verified, the key that made it."""

    verdict: Verdict
    signer: DirectoryKey | None = None


def _invalid(code: str, message: str, item: dict[str, str]) -> CodeCheck:
    return CodeCheck(Verdict(INVALID, (Reason(code, message, {}),), item))


def check_code(
    uri: str, directory: KeyDirectory, *, verified: VerifiedSignatures | None = None
) -> Verdict:
    """Check a code offline: parse, find the producer's key, verify. Never raises on input.
    ``verified``: a memo of signatures already verified (a server checking hot codes)."""
    return check_code_detail(uri, directory, verified=verified).verdict


def check_code_detail(
    uri: str, directory: KeyDirectory, *, verified: VerifiedSignatures | None = None
) -> CodeCheck:
    """``check_code`` with the signing key as typed evidence (None unless it verified).

    A text that cannot be read as our code (syntax, length, check digit) or carries no
    signature is ``invalid``: it may be a typo or a bad scan, never proof of a fake. A code
    that parses but whose signature fails is ``counterfeit``."""
    try:
        code = ItemCode.from_uri(uri)
    except InvalidInput as exc:
        return _invalid("malformed_code", exc.message, {})
    identity = code.identity
    item = {"gtin": identity.gtin, "serial": identity.serial, "item_id": identity.item_id}
    if identity.lot:
        item["lot"] = identity.lot
    if identity.expiry:
        item["expiry"] = identity.expiry
    producer = directory.producer_of(identity.gtin)
    if producer is None:
        return CodeCheck(
            _counterfeit(
                "unknown_producer", f"GTIN {identity.gtin} belongs to no registered producer", item
            )
        )
    item["producer"], item["producer_name"] = producer
    if code.signature is None or code.key_hint is None:
        return _invalid(
            "unsigned_code",
            "the code carries no producer signature (AI 8030): scan it again or type it in full",
            item,
        )
    signer = _signer(
        code,
        signature=code.signature,
        hint=code.key_hint,
        directory=directory,
        producer=producer,
        item=item,
        verified=verified,
    )
    if isinstance(signer, Verdict):
        return CodeCheck(signer)
    evidence = {"key_id": signer.key.key_id, "signer": signer.actor_id}
    reasons = [
        Reason(
            "signature_valid",
            f"signed by {producer[1]}; the item's state is not known offline",
            evidence,
        )
    ]
    if signer.effective_time >= 0:
        reasons.append(
            Reason(
                "key_retired",
                "the signing key has since been retired; codes issued before remain valid",
                {"effective_time": signer.effective_time},
            )
        )
    if not directory.is_resolver(code.resolver):
        reasons.append(
            Reason(
                "unknown_resolver",
                f"the code points to {code.resolver}, not the "
                "operator's resolver: it may be a copy on another site",
                {"resolver": code.resolver},
            )
        )
    return CodeCheck(Verdict(UNVERIFIED, tuple(reasons), item), signer)
