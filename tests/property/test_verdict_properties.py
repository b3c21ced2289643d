"""Properties of the verdict rules (issue 13, "Done means").

1. No sequence of anonymous observations, with any contexts, changes the verdict that the
   custodian's vouched context or a context-free verify gets: checked on the pure rules
   (``decide``) and through a real ``Verifier`` over a store, where the observations are
   recorded and read back as they are in service.
2. Vouched clone evidence always flags the non-custodian context, and never the custodian's.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keys import PrivateKey
from ledger.storage.memory.log import MemoryStore
from ledger.usecases.verify import Verifier
from ledger.verdicts import (
    ANONYMOUS,
    GENUINE,
    SOURCES,
    SUSPECT,
    UNVERIFIED,
    VOUCHED,
    Evidence,
    ItemFacts,
    Reason,
    ScanContext,
    ScanRecord,
    Verdict,
    decide,
)
from tests.conftest import initialized
from tests.supply import GTIN, T0, ids, standard

SIGNED = Verdict(UNVERIFIED, (Reason("signature_valid", "ok", {"key_id": "k"}),), {"gtin": GTIN})
ITEM = ItemFacts("01/g/21/s", "active", "shop-a", "", False, False, "fishco", 1_000, 1_000)
HOLDER = ScanContext("tiktok", "live-1", "L-1", "shop-a", source="platform")

_text = st.sampled_from(["", "x1", "live-1", "live-2", "SB-2", "L-1", "@@", "tiktok:@shopa"])
_sellers = st.sampled_from(
    [
        *("", "shop-a", "shop-b", "shop-x", "tiktok:@shopa", "shopee:12345"),
        *("tiktok:@nobody123", "@ShopA", "TikTok:@ShopA", "shopee:@haisancholon", "fishco"),
    ]
)
_platforms = st.sampled_from(["", "tiktok", "shopee", "lazada"])


def contexts(source: st.SearchStrategy[str]) -> st.SearchStrategy[ScanContext]:
    return st.builds(
        ScanContext,
        platform=_platforms,
        stream_id=_text,
        listing_id=_text,
        seller=_sellers,
        device=st.sampled_from(["", "d1", "d2", "d3"]),
        place=st.sampled_from(["", "VN-SG", "VN-HN", "CN-SH", "TH"]),
        source=source,
        session=st.sampled_from(["", "S-1", "S-9"]),
    )


anonymous = st.lists(
    st.tuples(st.integers(0, 3_600_000), contexts(st.just(ANONYMOUS))), max_size=40
)
vouched_source = st.sampled_from(sorted(VOUCHED))


def _decide(context: ScanContext, recent: list[ScanRecord], known: bool = True) -> Verdict:
    return decide(Evidence(SIGNED, ITEM, None, context, recent, seller_known=known))


@given(anonymous, st.lists(st.tuples(st.integers(0, 3_600_000), contexts(vouched_source))))
def test_anonymous_observations_change_no_one_elses_verdict(
    noise: list[tuple[int, ScanContext]], vouched: list[tuple[int, ScanContext]]
) -> None:
    """Whatever vouched evidence there is, adding anonymous observations changes nothing."""
    base = [ScanRecord("i", 2_000 + t, c) for t, c in vouched]
    noisy = base + [ScanRecord("i", 2_000 + t, c) for t, c in noise]
    for context in (HOLDER, ScanContext(), ScanContext(place="VN-SG", device="d9")):
        assert _decide(context, noisy) == _decide(context, base)


@given(st.lists(st.tuples(st.integers(0, 3_600_000), contexts(st.sampled_from(SOURCES)))))
def test_the_custodians_context_stays_genuine(recent: list[tuple[int, ScanContext]]) -> None:
    records = [ScanRecord("i", 2_000 + t, c) for t, c in recent]
    assert _decide(HOLDER, records).status == GENUINE
    assert _decide(replace(HOLDER, source=ANONYMOUS), records).status == GENUINE


@given(contexts(vouched_source), anonymous)
def test_vouched_clone_evidence_flags_the_non_custodian_context(
    clone: ScanContext, noise: list[tuple[int, ScanContext]]
) -> None:
    other = replace(clone, seller="shop-b")
    records = [ScanRecord("i", 2_000 + t, c) for t, c in noise]
    verdict = _decide(other, records)
    assert verdict.status == SUSPECT and "seller_not_custodian" in verdict.codes
    seen = [*records, ScanRecord("i", 5_000, other)]
    assert _decide(HOLDER, seen).status == GENUINE
    plain = _decide(ScanContext(), seen)
    assert plain.status == SUSPECT and "multiple_sellers" in plain.codes


# --- the same through a Verifier over a store ---------------------------------------------------

_VOUCHED_PARAMS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _world() -> tuple[Verifier, str]:
    operator = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
    service = initialized(MemoryStore(), operator, now=T0 - 10_000)
    s = standard(service, operator)
    s.commission("fishco", GTIN, {"list": ["P1"]}, lot="L7")
    s.ship("fishco", "shop-a", ids(GTIN, "P1"), "S1")
    s.receive("shop-a", "fishco", "S1")
    code = issue_uri(CodeIdentity(GTIN, "P1", "L7"), s.keys["fishco"], "https://vt.example.vn")
    return Verifier(service, resolvers=["https://vt.example.vn"]), code


@_VOUCHED_PARAMS
@given(anonymous)
def test_through_a_verifier_anonymous_scans_change_nothing(
    noise: list[tuple[int, ScanContext]],
) -> None:
    verifier, code = _world()
    now = T0 + 100_000
    holder = ScanContext("tiktok", "live-1", "", "tiktok:@shopa", source="platform")

    def seen() -> list[tuple[str, tuple[str, ...]]]:
        out = []
        for context in (holder, ScanContext()):
            verdict = verifier.verify(code, context, now=now, record=False).verdict
            out.append((verdict.status, verdict.codes))
        return out

    before = seen()
    for offset, context in noise:
        verifier.verify(code, context, now=now - offset)  # recorded, as in service
    verifier.flush(now)
    assert seen() == before
    assert before[0][0] == GENUINE


# --- the holder's own offers, and sellers nobody registered (adversarial review, r13) ----------

_holder_offers = st.builds(
    ScanContext,
    platform=_platforms,
    stream_id=_text,
    listing_id=_text,
    seller=st.just("shop-a"),
    device=st.sampled_from(["", "d1", "d2"]),
    place=st.sampled_from(["", "VN-SG", "TH"]),
    source=vouched_source,
    session=st.sampled_from(["", "S-1", "S-9"]),
)


@given(st.lists(st.tuples(st.integers(0, 3_600_000), _holder_offers), min_size=1))
def test_the_holders_own_offers_are_one_offer(recent: list[tuple[int, ScanContext]]) -> None:
    """However many sessions, segments, streams and listings the custodian offers the item
    in, a plain verify sees one seller and one offer: genuine."""
    records = [ScanRecord("i", 2_000 + t, c) for t, c in recent if c.offered]
    assert _decide(ScanContext(), records).status == GENUINE


@given(
    st.lists(
        st.tuples(
            st.integers(0, 3_600_000),
            st.sampled_from(["tiktok:nobody123", "shopee:haisancholon", "tiktok:shop-b"]),
        ),
        min_size=1,
    )
)
def test_an_unknown_seller_is_never_a_second_seller(recent: list[tuple[int, str]]) -> None:
    records = [
        ScanRecord("i", 2_000 + t, ScanContext("tiktok", seller=s, source="platform"))
        for t, s in recent
    ]
    unknown = frozenset(s for _, s in recent)
    evidence = Evidence(SIGNED, ITEM, None, ScanContext(), records, unknown_sellers=unknown)
    assert "multiple_sellers" not in decide(evidence).codes
    assert _decide(HOLDER, records).status == GENUINE
