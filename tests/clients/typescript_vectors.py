"""Cross-implementation vectors for the TypeScript offline verifier (clients/typescript).

The Python core makes a trust bundle and item codes with TEST ONLY keys (fixed seeds), checks
each code with ``ledger.codes.signed.check_code`` against the opened bundle, and writes what it
found: the TypeScript tests must reach the same verdict (status, reason codes, item) for every
case, and refuse the same bad bundles. Deterministic (Ed25519 signatures are), so the file
committed as clients/typescript/test/vectors.json is exactly what ``build()`` returns;
tests/clients/test_typescript.py checks that.

    PYTHONPATH=. .venv/bin/python -m tests.clients.typescript_vectors > \\
        clients/typescript/test/vectors.json
"""

from __future__ import annotations

import base64
import json
from typing import Any

from ledger.codes.gs1 import check_digit
from ledger.codes.signed import CodeIdentity, check_code, issue_uri, sign_code
from ledger.codes.trust import TrustBundle
from ledger.errors import TracemarkError
from ledger.keys import PrivateKey
from ledger.log.checkpoint import Checkpoint, CosignatureVerifier, sign_checkpoint
from ledger.log.note import NoteSigner, NoteVerifier

__all__ = ["build"]

ORIGIN = "vt.example.test/log"
RESOLVER = "https://vt.example.test"
NOW = 1_796_600_000_000  # ms; the bundle is made a minute before
CREATED = NOW - 60_000
MAX_AGE_MS = 7 * 24 * 3_600_000
GTIN = "08930001000018"  # fishco's prefix 8930001
GTIN_NOBODY = "0893999900001" + check_digit("0893999900001")  # no registered producer


def _key(n: int) -> PrivateKey:
    return PrivateKey.from_seed(bytes([n]) * 32)  # TEST ONLY


LOG = _key(1)
FISH = _key(2)
FISH_RETIRED = _key(3)
FISH_COMPROMISED = _key(4)
RICE = _key(5)
STRANGER = _key(6)  # in no bundle


def _body(*, origin: str = ORIGIN, created: int = CREATED, log: PrivateKey = LOG) -> dict[str, Any]:
    checkpoint = Checkpoint(origin, 2, bytes(range(32)))
    note = sign_checkpoint(checkpoint, NoteSigner(origin, log))

    def keys(*entries: tuple[PrivateKey, int, int]) -> list[dict[str, Any]]:
        listed = [
            {"compromised_since": c, "effective_time": e, "key": k.public_key.to_text()}
            for k, e, c in entries
        ]
        return sorted(listed, key=lambda k: str(k["key"]))

    return {
        "actors": [
            {
                "actor_id": "fishco",
                "keys": keys(
                    (FISH, -1, -1),
                    (FISH_RETIRED, CREATED - 3_600_000, -1),
                    (FISH_COMPROMISED, -1, CREATED - 7_200_000),
                ),
                "name": "Fishco Phú Quốc",
                "prefixes": ["8930001"],
                "role": "producer",
            },
            {
                "actor_id": "riceco",
                "keys": keys((RICE, -1, -1)),
                "name": "Riceco",
                "prefixes": ["8930002"],
                "role": "producer",
            },
        ],
        "checkpoint": note,
        "created": created,
        "origin": origin,
        "resolvers": [RESOLVER],
        "version": 1,
    }


def _bundle_cases(log_vkey: str) -> list[dict[str, Any]]:
    good = json.loads(TrustBundle.sign(_body(), LOG))
    tampered = json.loads(json.dumps(good))
    tampered["bundle"]["actors"][1]["prefixes"] = ["8930001"]
    other_checkpoint = _body()
    other_checkpoint["checkpoint"] = sign_checkpoint(
        Checkpoint(ORIGIN, 2, bytes(32)), NoteSigner(ORIGIN, STRANGER)
    )
    unsigned = {k: v for k, v in good.items() if k != "signature"}
    cases = {
        "tampered-actor-prefix": json.dumps(tampered),
        "signed-by-another-key": TrustBundle.sign(_body(), STRANGER).decode(),
        "other-origin": TrustBundle.sign(_body(origin="other.example/log"), LOG).decode(),
        "too-old": TrustBundle.sign(_body(created=NOW - MAX_AGE_MS - 1), LOG).decode(),
        "from-the-future": TrustBundle.sign(_body(created=NOW + 6 * 60_000), LOG).decode(),
        "checkpoint-by-another-key": TrustBundle.sign(other_checkpoint, LOG).decode(),
        "unsigned": json.dumps(unsigned),
        "not-json": "{bundle",
        "version-2": TrustBundle.sign({**_body(), "version": 2}, LOG).decode(),
    }
    out = []
    for name, text in cases.items():
        try:
            TrustBundle.open(text, log_vkey, now=NOW, max_age_ms=MAX_AGE_MS)
        except TracemarkError as exc:
            code = {"signature_invalid": "bundle_checkpoint", "invalid_input": "invalid_bundle"}
            out.append({"name": name, "bundle": text, "error": code.get(exc.code, exc.code)})
        else:  # pragma: no cover - a vector that Python accepts is a broken vector
            raise AssertionError(f"Python accepted the bad bundle {name}")
    return out


def _code_cases() -> dict[str, str]:
    full = CodeIdentity(GTIN, "FS000001", "L2611", "271231")
    plain = CodeIdentity(GTIN, "A1")
    good = issue_uri(full, FISH, RESOLVER)
    plain_uri = issue_uri(plain, FISH, RESOLVER)
    digsig = good.rsplit("8030=", 1)[1]
    plain_sig = plain_uri.rsplit("8030=", 1)[1]
    special = CodeIdentity(GTIN, "A/B%C*'!", "(1)", "270200")
    flipped = bytearray(base64.urlsafe_b64decode(digsig))
    flipped[10] ^= 0x01
    flipped_text = base64.urlsafe_b64encode(bytes(flipped)).decode()
    version2 = bytearray(base64.urlsafe_b64decode(plain_sig))
    version2[0] = 2
    version2_text = base64.urlsafe_b64encode(bytes(version2)).decode()
    last_changed = plain_sig[:-1] + {"A": "B"}.get(plain_sig[-1], "A")
    return {
        "genuine-lot-expiry": good,
        "genuine-plain": plain_uri,
        "genuine-special-characters": issue_uri(special, FISH, RESOLVER),
        "genuine-gtin13-short-form": plain_uri.replace("/01/08930001000018", "/01/8930001000018"),
        "genuine-upper-case-scheme": plain_uri.replace("https://", "HTTPS://"),
        "genuine-other-parameters": plain_uri + "&utm_source=qr&linkType=gs1:pip#top",
        "genuine-escaped-serial": plain_uri.replace("/21/A1", "/21/%41%31"),
        "path-before-key-unknown-resolver": plain_uri.replace(RESOLVER, RESOLVER + "/dl"),
        "genuine-expiry-day-00": issue_uri(CodeIdentity(GTIN, "D0", "", "270200"), FISH, RESOLVER),
        "unknown-resolver": issue_uri(plain, FISH, "https://copy.example.com"),
        "retired-key": issue_uri(plain, FISH_RETIRED, RESOLVER),
        "compromised-key": issue_uri(plain, FISH_COMPROMISED, RESOLVER),
        "flipped-signature-byte": good.replace(digsig, flipped_text),
        "changed-serial": plain_uri.replace("/21/A1", "/21/A2"),
        "changed-lot": good.replace("/10/L2611", "/10/L2612"),
        "changed-expiry": good.replace("17=271231", "17=281231"),
        "other-producers-key": issue_uri(plain, RICE, RESOLVER),
        "key-not-in-bundle": issue_uri(plain, STRANGER, RESOLVER),
        "unknown-producer": issue_uri(CodeIdentity(GTIN_NOBODY, "A1"), FISH, RESOLVER),
        "unsigned": f"{RESOLVER}/01/{GTIN}/21/A1",
        "malformed-check-digit": plain_uri.replace(GTIN, GTIN[:-1] + "9"),
        "malformed-no-serial": f"{RESOLVER}/01/{GTIN}?8030={plain_sig}",
        "malformed-short-signature": plain_uri[:-1],
        "malformed-signature-version-2": plain_uri.replace(plain_sig, version2_text),
        "changed-signature-last-character": plain_uri.replace(plain_sig, last_changed),
        "malformed-extra-ai-22": plain_uri.replace("/21/A1", "/22/X/21/A1"),
        "malformed-serial-in-query": f"{RESOLVER}/01/{GTIN}?21=A1&8030={plain_sig}",
        "malformed-duplicate-expiry": good.replace("17=271231", "17=271231&17=271231"),
        "malformed-unknown-ai-in-query": plain_uri + "&99=X",
        "malformed-trailing-slash": plain_uri.replace("?8030", "/?8030"),
        "malformed-ftp-scheme": plain_uri.replace("https://", "ftp://"),
        "malformed-mixed-case-scheme": plain_uri.replace("https://", "Https://"),
        "malformed-percent-nul": plain_uri.replace("/21/A1", "/21/A%001"),
        "malformed-too-long": plain_uri + "&x=" + "y" * 1024,
        "malformed-empty": "",
        "malformed-not-a-uri": "hello world",
        "malformed-bad-month": good.replace("17=271231", "17=271331"),
        "malformed-feb-30": good.replace("17=271231", "17=270230"),
        "malformed-serial-too-long": plain_uri.replace("/21/A1", "/21/" + "A" * 21),
        "malformed-space-in-serial": plain_uri.replace("/21/A1", "/21/A%201"),
        "malformed-no-domain": plain_uri.replace(RESOLVER, "https://"),
        "malformed-sscc": f"{RESOLVER}/00/089300010000000017?8030={plain_sig}",
        "malformed-digsig-as-signature-of-other-code": f"{RESOLVER}/01/{GTIN}/21/A1?8030={digsig}",
    }


def _item_bundles() -> dict[str, Any]:
    """Item bundles of the story of tests/bundles.py: the good ones, every tampering, and
    the verifier options that must refuse them, with what Python's ``verify_bundle`` says."""
    from ledger.verdicts.bundles import verify_bundle
    from tests.bundles import (
        A1,
        B9,
        LOG_VKEY,
        WITNESSES,
        bundle_of,
        bundle_story,
        tampered,
        tamperings,
    )

    story = bundle_story()
    good, other = bundle_of(story, A1, story.code), bundle_of(story, B9)
    witnesses = [w.to_vkey() for w in WITNESSES]
    stranger = CosignatureVerifier.from_public_key("w3.example", _key(7).public_key).to_vkey()
    other_log = NoteVerifier.from_public_key(story.service.info().origin, _key(8).public_key)
    cases: list[dict[str, Any]] = [
        {"name": "good-witnessed", "bundle": good, "witnesses": witnesses, "quorum": 2},
        {"name": "good-without-code", "bundle": other},
        *({"name": name, "bundle": tampered(good, other, name)} for name in tamperings(other)),
        {"name": "checkpoint-of-another-key", "bundle": good, "log_key": other_log.to_vkey()},
        {"name": "stale-trust-bundle", "bundle": good, "now": story.now + 8 * 24 * 3_600_000},
        {
            "name": "too-few-witnesses",
            "bundle": good,
            "witnesses": [witnesses[0], stranger],
            "quorum": 2,
        },
    ]
    for case in cases:
        case.setdefault("log_key", LOG_VKEY)
        case.setdefault("witnesses", [])
        case.setdefault("quorum", 0)
        case.setdefault("now", story.now)
        result = verify_bundle(
            case["bundle"],
            log_key=case["log_key"],
            witnesses=[CosignatureVerifier.from_vkey(w) for w in case["witnesses"]],
            quorum=case["quorum"],
            now=case["now"],
        )
        case["ok"] = result.ok
        case["failed"] = sorted(c.name for c in result.failures)
        case["summary"] = None if result.summary is None else result.summary.to_obj()
    return {"cases": cases, "not_bundles": ["[]", "{}", '{"format": "x"}', "not json"]}


def build() -> dict[str, Any]:
    """The vectors as a JSON-ready object."""
    log_vkey = NoteSigner(ORIGIN, LOG).to_vkey()
    text = TrustBundle.sign(_body(), LOG).decode()
    bundle = TrustBundle.open(text, log_vkey, now=NOW, max_age_ms=MAX_AGE_MS)
    cases = []
    for name, uri in _code_cases().items():
        verdict = check_code(uri, bundle)
        cases.append(
            {
                "name": name,
                "code": uri,
                "status": verdict.status,
                "reasons": list(verdict.codes),
                "item": dict(verdict.item),
            }
        )
    return {
        "comment": "TEST ONLY keys. Made by tests/clients/typescript_vectors.py; do not edit.",
        "log_key": log_vkey,
        "now": NOW,
        "max_age_ms": MAX_AGE_MS,
        "bundle": text,
        "codes": cases,
        "bad_bundles": _bundle_cases(log_vkey),
        "item_bundles": _item_bundles(),
        "golden": {
            "seed_hex": bytes(range(1, 33)).hex(),
            "identity": {"gtin": GTIN, "serial": "FS0000000001"},
            "digsig": sign_code(
                CodeIdentity(GTIN, "FS0000000001"), PrivateKey.from_seed(bytes(range(1, 33)))
            ),
        },
    }


def render() -> str:
    return json.dumps(build(), indent=1, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
