"""A producer's own webhooks, set on its console dashboard (issue 19): add (URL through the
platforms' URL policy, events report.received and clone_suspected, the secret in the answer
only), list, delete (only its own); stored in the platform webhook table under the owner
``producer:<actor id>``, which no platform name can be, so the platform API never sees
them. Deliveries: a shopper's report about the producer's item and a clone signal about
one of its items reach a real receiver on 127.0.0.1, signed with the shown secret, without
the reporter's contact. The wrong-role, session and CSRF checks of the new routes are the
route-table tests' (tests/console/test_console_routes.py, test_producer_console.py)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from api.http.verification import verify_code
from api.webhooks import PRODUCER_OWNER, verify_delivery
from ledger import errors
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.ports.platform import new_api_key
from ledger.verdicts import ScanContext
from tests.console.conftest import ORIGIN, Console, Person, now
from tests.console.test_producer_console import GTIN, KEY, OTHER, approved, commission

HOOKS = "/console/api/producer/webhooks"
#: Any platform name the platform API accepts (api/cli/platform.py, the listing fields).
PLATFORM_NAME = re.compile(r"^[a-z0-9_.-]{1,32}$")


@pytest.fixture
def maker(console: Console) -> Person:
    return approved(console, "fish-maker", KEY, "893000")


class Receiver:
    """An HTTP receiver on 127.0.0.1 that records every POST (headers and body) and says 200."""

    def __init__(self) -> None:
        got: list[tuple[dict[str, str], bytes]] = []
        self.got = got
        self.arrived = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                got.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                outer.arrived.set()

            def log_message(self, *args: Any) -> None:
                pass

        outer = self
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tracemark"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, count: int, console: Console) -> list[tuple[dict[str, str], bytes]]:
        """Hand the due deliveries to the dispatcher until ``count`` arrived (the worker may
        have taken some already: a delivery is leased, sent once)."""
        deadline = time.monotonic() + 10
        while len(self.got) < count and time.monotonic() < deadline:
            console.state.platform.dispatcher.deliver_pending(now())
            self.arrived.wait(0.2)
        time.sleep(0.3)  # nothing more is on its way
        return list(self.got)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def add(person: Person, url: str, events: Any = "report.received,clone_suspected") -> Any:
    return person.post(HOOKS, {"url": url, "events": events})


def test_a_producer_adds_lists_and_deletes_its_webhooks(console: Console, maker: Person) -> None:
    made = add(maker, "http://127.0.0.1:9/hook", ["clone_suspected"])
    assert made.status_code == 201, made.text
    hook = made.json()
    assert hook["events"] == ["clone_suspected"] and hook["secret"].startswith("whsec_")
    stored = console.state.platform.store.get_webhook(hook["id"])
    assert stored is not None and stored.platform == "producer:fish-maker"
    assert stored.secret == hook["secret"]
    page = maker.client.get("/console/producer/dashboard")
    assert page.status_code == 200
    assert "http://127.0.0.1:9/hook" in page.text and hook["id"] in page.text
    assert hook["secret"] not in page.text  # shown once, in the answer to the add
    assert 'data-show="secret"' in page.text and 'method="post"' in page.text
    vi = maker.client.get("/console/producer/dashboard?lang=vi").text
    assert "Thêm webhook" in vi
    gone = maker.post(f"{HOOKS}/{hook['id']}/delete")
    assert gone.status_code == 200, gone.text
    assert console.state.platform.store.webhooks("producer:fish-maker") == []
    assert "http://127.0.0.1:9/hook" not in maker.client.get("/console/producer/dashboard").text
    again = maker.post(f"{HOOKS}/{hook['id']}/delete")
    assert again.status_code == 404 and again.json()["code"] == "unknown_webhook"
    audit = console.state.console.accounts.store.audit_trail(50)  # type: ignore[union-attr]
    actions = [(a.action, a.target, a.outcome) for a in audit]
    assert ("webhook.add", "127.0.0.1", "ok") in actions
    assert ("webhook.delete", hook["id"], "refused") in actions


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "ftp://example.test/x", "events": "report.received"}, "webhook_url_refused"),
        ({"url": "not a url at all", "events": "report.received"}, "webhook_url_refused"),
        ({"url": "http://10.0.0.1/h", "events": "report.received"}, "webhook_url_refused"),
        ({"url": "http://169.254.169.254/x", "events": "clone_suspected"}, "webhook_url_refused"),
        (
            {"url": "http://[::ffff:a9fe:a9fe]/h", "events": "clone_suspected"},
            "webhook_url_refused",
        ),
        ({"url": "http://", "events": "report.received"}, "invalid_url"),
        ({"url": "https://e.test/" + "a" * 2040, "events": "report.received"}, "invalid_url"),
        ({"url": 7, "events": "report.received"}, "invalid_url"),
        ({"url": "http://127.0.0.1:9/h", "events": "recall"}, "invalid_events"),
        ({"url": "http://127.0.0.1:9/h", "events": ["compliance_lost"]}, "invalid_events"),
        ({"url": "http://127.0.0.1:9/h", "events": []}, "invalid_events"),
        ({"url": "http://127.0.0.1:9/h"}, "invalid_events"),
    ],
)
def test_bad_webhooks_are_refused_with_a_code(
    console: Console, maker: Person, body: dict[str, Any], code: str
) -> None:
    answer = maker.post(HOOKS, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == code
    assert console.state.platform.store.webhooks("producer:fish-maker") == []


def test_loopback_is_refused_when_the_policy_refuses_it(console: Console, maker: Person) -> None:
    platform = console.state.platform
    dev = platform.config
    assert add(maker, "http://127.0.0.1:9/h").status_code == 201  # development allows it
    platform.config = replace(dev, allow_loopback=False, allow_private=False)  # production
    for url in ("http://127.0.0.1:9/h", "http://[::1]:9/h", "http://localhost:9/h"):
        answer = add(maker, url)
        assert answer.status_code == 400 and answer.json()["code"] == "webhook_url_refused"
    assert len(platform.store.webhooks("producer:fish-maker")) == 1


def test_a_producer_has_at_most_ten_webhooks(console: Console, maker: Person) -> None:
    for n in range(10):
        assert add(maker, f"http://127.0.0.1:9/{n}").status_code == 201
    answer = add(maker, "http://127.0.0.1:9/x")
    assert answer.status_code == 409 and answer.json()["code"] == "too_many_webhooks"


def test_the_add_needs_csrf_and_origin(console: Console, maker: Person) -> None:
    body = {"url": "http://127.0.0.1:9/h", "events": "report.received"}
    no_token = maker.client.post(HOOKS, json=body, headers={"origin": ORIGIN})
    assert no_token.status_code == 403 and no_token.json()["code"] == "csrf_failed"
    foreign = maker.post(HOOKS, body, headers={"origin": "https://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["code"] == "origin_refused"
    assert console.state.platform.store.webhooks("producer:fish-maker") == []


def test_hooks_are_the_producers_own_and_never_a_platforms(console: Console, maker: Person) -> None:
    hook = add(maker, "http://127.0.0.1:9/fish").json()
    other = approved(console, "tea-maker", OTHER, "893001")
    # another producer neither sees nor deletes it
    assert "http://127.0.0.1:9/fish" not in other.client.get("/console/producer/dashboard").text
    refused = other.post(f"{HOOKS}/{hook['id']}/delete")
    assert refused.status_code == 404 and refused.json()["code"] == "unknown_webhook"
    # nor does a producer delete a platform's webhook through the console
    store = console.state.platform.store
    record, token = new_api_key("tiktok", "", secret=bytes([9]) * 32, now=now(), rate_limit=600)
    store.add_key(record)
    api = {"X-API-Key": token}
    made = maker.client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/tt", "events": ["recall"]}, headers=api
    )
    assert made.status_code == 201, made.text
    platform_hook = made.json()["id"]
    refused = maker.post(f"{HOOKS}/{platform_hook}/delete")
    assert refused.status_code == 404 and refused.json()["code"] == "unknown_webhook"
    # the platform API never lists, shows or deletes the producer's hook
    listed = maker.client.get("/v1/webhooks", headers=api).json()["webhooks"]
    assert [h["id"] for h in listed] == [platform_hook]
    shown = maker.client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=api)
    assert shown.status_code == 404 and shown.json()["code"] == "unknown_webhook"
    deleted = maker.client.delete(f"/v1/webhooks/{hook['id']}", headers=api)
    assert deleted.status_code == 404
    assert [h.webhook_id for h in store.webhooks("producer:fish-maker")] == [hook["id"]]
    # revoking the platform's last key takes its hooks, never a producer's
    store.revoke_key(record.key_id, now())
    assert store.webhooks("tiktok") == []
    assert [h.webhook_id for h in store.webhooks("producer:fish-maker")] == [hook["id"]]


def test_no_platform_name_can_be_a_producers_owner() -> None:
    assert ":" in PRODUCER_OWNER
    assert not PLATFORM_NAME.match("producer:fish-maker")
    assert not PLATFORM_NAME.match(PRODUCER_OWNER.rstrip(":") + ":x")
    assert PLATFORM_NAME.match("producer")  # the word alone is a platform name, not an owner


def test_reports_and_clone_signals_reach_the_producers_receiver_signed(
    console: Console, maker: Person, receiver: Receiver
) -> None:
    commission(maker, KEY, 1, 5)
    reports_hook = add(maker, receiver.url + "/reports", ["report.received"]).json()
    clones_hook = add(maker, receiver.url + "/clones", "clone_suspected").json()
    other = approved(console, "tea-maker", OTHER, "893001")
    tea_hook = add(other, receiver.url + "/tea").json()  # not its items: never called
    item = f"01/{GTIN}/21/FS000002"
    contact = "zalo 0909999999"
    made = maker.client.post(
        "/v1/reports",
        json={"item": item, "reason": "counterfeit", "text": "odd seal", "contact": contact},
    )
    assert made.status_code == 201, made.text
    (got,) = receiver.wait(1, console)
    headers, body = got
    verify_delivery(reports_hook["secret"], headers, body, now_s=now() // 1000)
    with pytest.raises(errors.SignatureError):
        verify_delivery(tea_hook["secret"], headers, body, now_s=now() // 1000)
    event = json.loads(body)
    assert event["type"] == "report.received" and event["producer"] == "fish-maker"
    assert "platform" not in event and event["webhook_id"] == reports_hook["id"]
    assert event["data"]["report"]["id"] == made.json()["id"]
    assert event["data"]["item"]["item_id"] == item
    assert contact.encode() not in body and b"0909999999" not in body
    # A clone signal: a platform vouches for a scan of FS000003 offered by a registered
    # actor that does not hold it (the producer does).
    code = issue_uri(CodeIdentity(GTIN, "FS000003", "L2611"), KEY, ORIGIN)
    seen = ScanContext("", "", "", "tea-maker", source="platform")
    for _ in range(2):  # the same signal within the hour: one event
        result = verify_code(console.state, code, (seen, None))
        assert "seller_not_custodian" in [r.code for r in result.verdict.reasons]
    received = receiver.wait(2, console)
    assert len(received) == 2
    headers, body = received[1]
    verify_delivery(clones_hook["secret"], headers, body, now_s=now() // 1000)
    event = json.loads(body)
    assert event["type"] == "clone_suspected" and event["producer"] == "fish-maker"
    assert event["data"]["item"]["item_id"] == f"01/{GTIN}/21/FS000003"
    assert event["data"]["seen"]["seller"] == "tea-maker"
    assert headers["webhook-id"] == headers["X-Tracemark-Delivery"]
    console.state.verifier.flush(now())
