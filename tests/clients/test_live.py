"""``tracemark_client`` (clients/python) against a live server, sync and async.

genuine            a stocked item's code: genuine, its proof and provenance typed
invalid / forged   a code that is no code is ``invalid``; one signed by an unknown key is
                   ``counterfeit``: verdicts, not exceptions
vouched            with the platform's API key and its context the verdict's source is platform
errors             RFC 9457 problems become typed exceptions with code, message and status
rate-limited       a real 429 with Retry-After, not retried past the policy
lookups            items, listings, keys, actors; entries submitted and refused by a rule
webhooks           created, listed and deleted through the client
"""

from __future__ import annotations

import asyncio

import pytest
import tracemark_client as tm

from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.log.entries import sign_entry
from ledger.ports.platform import new_api_key
from ledger.provenance.events.names import COMMISSION
from ledger.usecases.service import now_ms
from tests.api.test_platform import RESOLVER, listing
from tests.clients.conftest import Live
from tests.supply import GTIN, ids, key_for

NO_RETRY = tm.Retry(attempts=1)


def test_verify_a_genuine_code(live: Live) -> None:
    with tm.Client(live.url) as client:
        verdict = client.verify(live.code("F0003"))
    assert isinstance(verdict, tm.Verdict)
    assert verdict.status == "genuine" and verdict.genuine and not verdict.failing
    assert verdict.source == "anonymous"
    assert verdict.item["item_id"] == ids(GTIN, "F0003")[0]
    assert verdict.item["custodian"] == "shop-a"
    assert verdict.proof is not None and verdict.proof.tree_size > verdict.proof.index
    assert verdict.proof.checkpoint.startswith(live.service.info().origin)
    assert [s.type for s in verdict.provenance][:1] == ["event.commission"]
    assert verdict.raw["status"] == "genuine"  # the answer as sent, for fields yet unknown


def test_verify_invalid_and_forged_codes_are_verdicts(live: Live) -> None:
    forged = issue_uri(CodeIdentity(GTIN, "F0003", "L7"), key_for("forger"), RESOLVER)
    with tm.Client(live.url) as client:
        invalid = client.verify("not a code at all")
        counterfeit = client.verify(forged)
        batch = client.verify_batch([live.code("F0001"), "junk", forged])
    assert invalid.status == "invalid" and invalid.reasons and not invalid.failing
    assert counterfeit.status == "counterfeit" and counterfeit.failing
    assert [v.status for v in batch] == ["genuine", "invalid", "counterfeit"]


def test_a_platform_key_vouches_for_the_context(live: Live) -> None:
    context: tm.Context = {"platform": "tiktok", "listing_id": "L-1", "seller": "tiktok:@shopa"}
    with tm.Client(live.url, api_key=live.api_key) as client:
        verdict = client.verify(live.code("F0004"), context=context)
        [result] = client.verify_listings([listing(codes=[live.code("F0001")])])
    assert verdict.status == "genuine" and verdict.source == "platform"
    assert isinstance(result, tm.ListingVerdict)
    assert result.status == "genuine" and [r.code for r in result.reasons] == ["stock_verified"]
    assert result.stock["held"] == 10 and result.seller["actor_id"] == "shop-a"
    wrong_key = tm.Client(live.url, api_key="tmk_0123456789abcdef_wrong", retry=NO_RETRY)
    with wrong_key as client, pytest.raises(tm.Unauthorized) as wrong:
        client.verify_listings([listing()])
    assert (wrong.value.status, wrong.value.code) == (401, "api_key_invalid")
    with tm.Client(live.url) as client, pytest.raises(tm.Unauthorized) as missing:
        client.verify_listings([listing()])
    assert missing.value.code == "api_key_required"


def test_problems_are_typed_errors(live: Live) -> None:
    with tm.Client(live.url) as client:
        with pytest.raises(tm.NotFound) as unknown:
            client.get_item(GTIN, "NO-SUCH-SERIAL")
        with pytest.raises(tm.BadRequest) as malformed:
            client.get_key("not-a-key-id")
        with pytest.raises(tm.BadRequest) as too_long:
            client.verify("x" * 2_000)
    assert unknown.value.status == 404 and unknown.value.code == "unknown_item"
    assert "NO-SUCH-SERIAL" in unknown.value.message
    assert unknown.value.problem["status"] == 404  # the RFC 9457 problem as sent
    assert malformed.value.status == 422 and malformed.value.code == "invalid_request"
    assert too_long.value.status == 422
    assert isinstance(unknown.value, tm.ApiError) and isinstance(
        unknown.value, tm.TracemarkClientError
    )


def test_a_real_429_carries_retry_after(live: Live) -> None:
    record, token = new_api_key("slowtok", "", secret=b"\x09" * 32, now=now_ms(), rate_limit=1)
    live.platform.store.add_key(record)
    slept: list[float] = []
    retry = tm.Retry(attempts=2, max_wait_s=0.5)  # the server asks for more: not waited for
    with tm.Client(live.url, api_key=token, retry=retry, sleep=slept.append) as client:
        assert client.list_webhooks() == []
        with pytest.raises(tm.RateLimited) as limited:
            client.list_webhooks()
    assert limited.value.status == 429 and limited.value.code == "rate_limited"
    assert limited.value.retry_after is not None and limited.value.retry_after >= 1
    assert slept == []


def test_lookups_and_submissions(live: Live) -> None:
    s = live.supply
    fishco = s.keys["fishco"]
    entry = sign_entry(COMMISSION, s.event("fishco", gtin=GTIN, serials={"list": ["C1"]}), fishco)
    forged = sign_entry(
        COMMISSION, s.event("fishco", gtin=GTIN, serials={"list": ["C2"]}), key_for("nobody")
    )
    with tm.Client(live.url) as client:
        item = client.get_item(GTIN, "F0002")
        listed = client.get_listing("tiktok", "L-1")
        key = client.get_key(fishco.key_id)
        actor = client.get_actor("fishco")
        submitted = client.submit_entries([entry.to_obj(), forged.to_obj()])
        again = client.submit_entries([entry.to_obj()])
        new = client.get_item(GTIN, "C1")
    assert (item.serial, item.custodian, item.recalled) == ("F0002", "shop-a", False)
    assert item.timeline and item.timeline[0].type == "event.commission"
    assert (listed.seller, listed.backed, listed.quantity) == ("shop-a", True, 5)
    assert (key.actor_id, key.revoked) == ("fishco", False)
    assert actor.actor_id == "fishco" and fishco.key_id in [k.key_id for k in actor.keys]
    ok, refused = submitted.results
    assert ok.accepted and ok.index is not None and ok.leaf_hash
    assert not refused.accepted and refused.error_code == "unknown_key"
    assert again.results[0].error_code == "duplicate_entry"
    assert new.producer == "fishco"


def test_webhooks_through_the_client(live: Live) -> None:
    with tm.Client(live.url, api_key=live.api_key) as client:
        made = client.create_webhook("http://127.0.0.1:9/hook", ["recall"])
        assert made.secret.startswith("whsec_") and "secret" not in repr(made)
        assert client.list_webhooks() == [made.webhook]
        client.delete_webhook(made.webhook.id)
        assert client.list_webhooks() == []
        with pytest.raises(tm.NotFound) as gone:
            client.delete_webhook(made.webhook.id)
        with pytest.raises(tm.BadRequest) as refused:
            client.create_webhook("ftp://example.test/x", ["recall"])
    assert gone.value.code == "unknown_webhook" and refused.value.code == "webhook_url_refused"


def test_the_async_client(live: Live) -> None:
    async def run() -> None:
        async with tm.AsyncClient(live.url, api_key=live.api_key) as client:
            genuine, invalid = await asyncio.gather(
                client.verify(live.code("F0005"), context={"platform": "tiktok"}),
                client.verify("junk"),
            )
            assert (genuine.status, genuine.source) == ("genuine", "platform")
            assert invalid.status == "invalid"
            [result] = await client.verify_listings([listing()])
            assert result.status == "genuine"
            item = await client.get_item(GTIN, "F0005")
            assert item.custodian == "shop-a"
            with pytest.raises(tm.NotFound) as unknown:
                await client.get_item(GTIN, "NOPE")
            assert unknown.value.code == "unknown_item"

    asyncio.run(run())


def test_an_unreachable_server_is_a_transport_error(live: Live) -> None:
    url = "http://127.0.0.1:9"  # the discard port: nothing listens
    nothing = tm.Client(url, retry=NO_RETRY, timeout=2)
    with nothing as client, pytest.raises(tm.TransportError, match="unreachable"):
        client.verify(live.code("F0001"))
    with pytest.raises(ValueError, match="http"):
        tm.Client("ftp://example.test")
