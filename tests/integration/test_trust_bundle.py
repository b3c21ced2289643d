"""Trust bundles: exported from the ledger, signed by the operator, checked offline.

A verifier pins the log's C2SP verifier key; it refuses a bundle that is unsigned,
tampered with, signed by another operator, from another log, or too old; a good bundle
verifies codes offline with the same verdicts as the ledger itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.codes.signed import CodeIdentity, check_code, issue_uri
from ledger.codes.trust import TrustBundle
from ledger.errors import InvalidInput, SignatureError, VerificationError
from ledger.keys import PrivateKey
from ledger.provenance.events.names import KEY_REVOKE
from ledger.usecases.queries import LedgerDirectory, trust_bundle
from tests.conftest import SQL_BACKENDS, initialized, make_store
from tests.supply import GTIN, T0, Supply, standard

RESOLVER = "https://vt.example.vn"
HOUR = 3_600_000


@pytest.fixture(params=SQL_BACKENDS)
def supply(
    request: pytest.FixtureRequest, tmp_path: Path, operator_key: PrivateKey
) -> Iterator[Supply]:
    store = make_store(request.param, request, tmp_path)
    service = initialized(store, operator_key, now=T0 - 10_000)
    service.log_key = operator_key
    yield standard(service, operator_key)
    store.close()


def export(s: Supply, created: int) -> tuple[bytes, str]:
    checkpoint = s.service.checkpoint(now=created)
    info = s.service.info()
    body = trust_bundle(s.service.store, origin=info.origin, checkpoint=checkpoint.note,
                        resolvers=[RESOLVER], created=created)  # fmt: skip
    return TrustBundle.sign(body, s.operator), info.verifier.to_vkey()


def test_bundle_verifies_codes_like_the_ledger(supply: Supply) -> None:
    s = supply
    s.commission("fishco", GTIN, {"list": ["A1", "A2"]}, lot="L1")
    good = issue_uri(CodeIdentity(GTIN, "A1", "L1"), s.keys["fishco"], RESOLVER)
    forged = issue_uri(CodeIdentity(GTIN, "A1", "L1"), s.keys["distri"], RESOLVER)
    data, vkey = export(s, s.now)
    bundle = TrustBundle.open(data, vkey, now=s.now + HOUR, max_age_ms=24 * HOUR)
    with s.service.store.reader() as view:
        ledger = LedgerDirectory(view, [RESOLVER])
        for uri in (good, forged, good.replace("A1", "A2")):
            assert check_code(uri, bundle) == check_code(uri, ledger)
    assert check_code(good, bundle).codes == ("signature_valid",)
    assert check_code(forged, bundle).codes == ("not_producer_key",)
    # A compromised key turns its codes counterfeit in the next bundle.
    s.ok(KEY_REVOKE, {"actor": "fishco", "key_id": s.keys["fishco"].key_id,
                      "effective_time": s.now, "compromised_since": T0, "event_time": s.now},
         s.operator)  # fmt: skip
    data, vkey = export(s, s.now)
    bundle = TrustBundle.open(data, vkey, now=s.now, max_age_ms=HOUR)
    assert check_code(good, bundle).codes == ("key_compromised",)


def test_bad_bundles_are_refused(supply: Supply) -> None:
    s = supply
    data, vkey = export(s, s.now)
    obj = json.loads(data)
    with pytest.raises(VerificationError, match="older"):
        TrustBundle.open(data, vkey, now=s.now + 200 * HOUR, max_age_ms=168 * HOUR)
    tampered = dict(obj, bundle=dict(obj["bundle"], resolvers=["https://evil.example"]))
    with pytest.raises(SignatureError):
        TrustBundle.open(json.dumps(tampered), vkey, now=s.now, max_age_ms=HOUR)
    with pytest.raises(InvalidInput):
        TrustBundle.open(json.dumps({"bundle": obj["bundle"]}), vkey, now=s.now, max_age_ms=HOUR)
    other = PrivateKey.from_seed(b"o" * 32)  # TEST ONLY: another operator
    with pytest.raises(SignatureError):
        TrustBundle.open(TrustBundle.sign(obj["bundle"], other), vkey, now=s.now, max_age_ms=HOUR)
    with pytest.raises(InvalidInput):
        TrustBundle.open(b"not json", vkey, now=s.now, max_age_ms=HOUR)
    with pytest.raises(InvalidInput):
        TrustBundle.open(data, "not a vkey", now=s.now, max_age_ms=HOUR)


def test_future_bundles_are_refused_and_the_checkpoint_is_kept(supply: Supply) -> None:
    s = supply
    data, vkey = export(s, s.now)
    bundle = TrustBundle.open(data, vkey, now=s.now, max_age_ms=HOUR)
    assert bundle.checkpoint is not None
    assert bundle.checkpoint.checkpoint.tree_size == s.service.latest_checkpoint().tree_size
    with pytest.raises(VerificationError, match="future"):
        TrustBundle.open(data, vkey, now=s.now - HOUR, max_age_ms=HOUR)
