"""``tracemark_client.webhooks``: the Standard Webhooks check a platform runs.

spec-vector        the reference libraries' published vector verifies (and signs alike)
real-delivery      a recall delivered by the server over HTTP verifies with the secret the
                   client got at registration; a retry has the same webhook-id
replay             the same delivery later than the window (or ahead of it) is refused
tampered-*         a changed body, id, timestamp or signature is refused
legacy             a secret of the old form verifies, and converts to the standard form
"""

from __future__ import annotations

import base64
import json

import pytest
import tracemark_client as tm
from tracemark_client import webhooks

from api.webhooks import delivery_headers
from ledger.provenance.events.names import RECALL
from ledger.usecases.service import now_ms
from tests.api.test_webhook_signatures import (
    VECTOR_BODY,
    VECTOR_ID,
    VECTOR_SECRET,
    VECTOR_SIGNATURE,
    VECTOR_TIMESTAMP,
)
from tests.clients.conftest import Live
from tests.integration.test_webhooks import Receiver, receiver
from tests.supply import GTIN

__all__ = ["receiver"]  # the fixture, imported for these tests

VECTOR_HEADERS = {
    "webhook-id": VECTOR_ID,
    "webhook-timestamp": str(VECTOR_TIMESTAMP),
    "webhook-signature": VECTOR_SIGNATURE,
}
EVENT = {"test": 2432232314}


def test_spec_vector() -> None:
    assert (
        webhooks.sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE
    )
    assert (
        webhooks.verify(VECTOR_SECRET, VECTOR_HEADERS, VECTOR_BODY, now=VECTOR_TIMESTAMP) == EVENT
    )
    text = VECTOR_BODY.decode()  # a str body, and the secret without its prefix, work too
    assert webhooks.verify(VECTOR_SECRET[6:], VECTOR_HEADERS, text, now=VECTOR_TIMESTAMP) == EVENT


@pytest.mark.parametrize(
    ("mutation", "change"),
    [
        ("replay-301s-later", {}),
        ("ahead-301s", {}),
        ("tampered-body", {}),
        ("tampered-id", {"webhook-id": "msg_other"}),
        ("tampered-timestamp", {"webhook-timestamp": str(VECTOR_TIMESTAMP + 1)}),
        ("tampered-signature", {"webhook-signature": VECTOR_SIGNATURE[:-2] + "A="}),
        ("only-asymmetric", {"webhook-signature": "v1a" + VECTOR_SIGNATURE[2:]}),
        ("no-signature", {"webhook-signature": ""}),
        ("no-id", {"webhook-id": ""}),
        ("timestamp-not-seconds", {"webhook-timestamp": "2021-02-25T15:02:10Z"}),
    ],
)
def test_refused(mutation: str, change: dict[str, str]) -> None:
    headers = {**VECTOR_HEADERS, **change}
    body = VECTOR_BODY + b" " if mutation == "tampered-body" else VECTOR_BODY
    now = VECTOR_TIMESTAMP + {"replay-301s-later": 301, "ahead-301s": -301}.get(mutation, 0)
    with pytest.raises(tm.WebhookVerificationError):
        webhooks.verify(VECTOR_SECRET, headers, body, now=now)


def test_window_edges_and_rotation() -> None:
    for offset in (-300, 300):
        webhooks.verify(VECTOR_SECRET, VECTOR_HEADERS, VECTOR_BODY, now=VECTOR_TIMESTAMP + offset)
    other = "whsec_" + base64.b64encode(b"\x01" * 32).decode()
    both = dict(VECTOR_HEADERS)
    both["webhook-signature"] = (
        f"{webhooks.sign(other, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)} {VECTOR_SIGNATURE}"
    )
    for secret in (VECTOR_SECRET, other, [other, VECTOR_SECRET]):
        webhooks.verify(secret, both, VECTOR_BODY, now=VECTOR_TIMESTAMP)
    with pytest.raises(tm.WebhookVerificationError):
        webhooks.verify(other, VECTOR_HEADERS, VECTOR_BODY, now=VECTOR_TIMESTAMP)


def test_the_server_and_the_client_agree_on_legacy_secrets() -> None:
    legacy = "whsec_" + "Zm9vYmFy-_" * 4 + "abc"  # token_urlsafe(32) as releases before made
    sent = delivery_headers(legacy, "dlv_1", VECTOR_TIMESTAMP, b'{"a":1}')
    assert webhooks.verify(legacy, sent, b'{"a":1}', now=VECTOR_TIMESTAMP) == {"a": 1}
    standard = webhooks.standard_secret(legacy)
    assert standard == "whsec_" + base64.b64encode(legacy.encode()).decode()
    assert webhooks.verify(standard, sent, b'{"a":1}', now=VECTOR_TIMESTAMP) == {"a": 1}
    assert webhooks.standard_secret(VECTOR_SECRET) == VECTOR_SECRET
    with pytest.raises(tm.WebhookVerificationError):
        webhooks.key_from_secret("not a secret")


def test_a_real_delivery_verifies(live: Live, receiver: Receiver) -> None:
    with tm.Client(live.url, api_key=live.api_key) as client:
        ok = client.create_webhook(receiver.url("/ok"), ["recall"])
        failing = client.create_webhook(receiver.url("/fail"), ["recall"])
    s = live.supply
    s.ok(RECALL, s.event("fishco", gtin=GTIN, scope="lot", lot="L7", reason="x"), s.keys["fishco"])
    dispatcher = live.platform.dispatcher
    now = now_ms()
    assert dispatcher.poll_recalls(now) == 2
    assert dispatcher.deliver_pending(now) == 2
    assert dispatcher.deliver_pending(now + 10_000) == 1  # the failing one, retried once
    [delivered] = [r for r in receiver.got if r.path == "/ok"]
    event = webhooks.verify(ok.secret, delivered.headers, delivered.body, now=now / 1000)
    assert event["type"] == "recall" and event["webhook_id"] == ok.webhook.id
    assert event["data"]["recall"]["lot"] == "L7"
    assert event == json.loads(delivered.body)
    with pytest.raises(tm.WebhookVerificationError):  # another webhook's secret
        webhooks.verify(failing.secret, delivered.headers, delivered.body, now=now / 1000)
    with pytest.raises(tm.WebhookVerificationError):  # replayed six minutes later
        webhooks.verify(ok.secret, delivered.headers, delivered.body, now=now / 1000 + 360)
    first, retried = [r for r in receiver.got if r.path == "/fail"]
    assert first.headers["webhook-id"] == retried.headers["webhook-id"]  # idempotency key
    assert int(retried.headers["webhook-timestamp"]) == int(first.headers["webhook-timestamp"]) + 10
    webhooks.verify(failing.secret, retried.headers, retried.body, now=(now + 10_000) / 1000)
    assert "X-Tracemark-Signature" not in delivered.headers  # new secrets: the standard only
