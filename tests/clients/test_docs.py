"""The Python snippets of the docs run as written (with the URLs and keys of a test server):

receiver           docs/api.md "Receiving webhooks": the receiver accepts a real delivery
                   (handled once, even when retried), refuses a tampered or replayed one
readme             README.md "Integrate a platform" / "Python": the ten lines against a live
                   server, down to verifying a delivery with the webhook's secret
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections.abc import Iterator
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import pytest

from api.webhooks import delivery_headers, new_secret
from tests.clients.conftest import Live

REPO = Path(__file__).resolve().parents[2]
SERVE_LINE = '    HTTPServer(("0.0.0.0", 8080), Receiver).serve_forever()'


def python_block(path: Path, heading: str) -> str:
    text = path.read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, f"no python block under {heading!r} in {path.name}"
    return found.group(1)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, list[Any], str]]:
    """The docs' receiver, served on a free port; what it handled."""
    secret = new_secret()
    monkeypatch.setenv("TRACEMARK_WEBHOOK_SECRET", secret)
    code = python_block(REPO / "docs" / "api.md", "### Receiving webhooks")
    assert SERVE_LINE in code  # what the test replaces: serving on our port instead
    namespace: dict[str, Any] = {"__name__": "receiver"}
    exec(compile(code, "docs/api.md", "exec"), namespace)  # noqa: S102 - our own docs
    handled: list[Any] = []
    namespace["handle"] = handled.append
    server = HTTPServer(("127.0.0.1", 0), namespace["Receiver"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], handled, secret
    server.shutdown()
    server.server_close()
    thread.join(5)


def post(port: int, body: bytes, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("POST", "/", body, {"Content-Type": "application/json", **headers})
        return connection.getresponse().status
    finally:
        connection.close()


def test_the_docs_receiver(receiver: tuple[int, list[Any], str]) -> None:
    port, handled, secret = receiver
    body = b'{"id":"evt_1","type":"recall","data":{"recall":{"lot":"L7"}}}'
    now = int(time.time())
    signed = delivery_headers(secret, "dlv_1", now, body)
    assert post(port, body, signed) == 204
    assert post(port, body, delivery_headers(secret, "dlv_1", now + 10, body)) == 204  # a retry
    assert handled == [{"id": "evt_1", "type": "recall", "data": {"recall": {"lot": "L7"}}}]
    assert post(port, body.replace(b"L7", b"L8"), signed) == 400  # tampered
    assert post(port, body, delivery_headers(secret, "dlv_2", now - 600, body)) == 400  # replay
    assert post(port, body, delivery_headers(new_secret(), "dlv_3", now, body)) == 400
    assert post(port, body, {}) == 400  # unsigned
    assert len(handled) == 1


def test_the_readme_python_integration(live: Live) -> None:
    code = python_block(REPO / "README.md", "### Python")
    lines = code.rstrip("\n").splitlines()
    assert len([x for x in lines if x.strip() and not x.lstrip().startswith("#")]) <= 10
    code = (
        code.replace("https://verify.example.com", live.url)
        .replace("tmk_...", live.api_key)
        .replace("https://platform.example/tracemark", "http://127.0.0.1:9/tracemark")
    )
    *setup, last = code.rstrip("\n").splitlines()
    taken: list[tuple[str, list[str]]] = []
    namespace: dict[str, Any] = {
        "scanned_code": live.code("F0006"),
        "take_down": lambda listing, why: taken.append((listing, why)),
    }
    exec(compile("\n".join(setup), "README.md", "exec"), namespace)  # noqa: S102
    namespace["tracemark"].close()  # a platform keeps its client open; a test does not
    assert namespace["verdict"].status == "genuine" and taken == []
    hook = namespace["hook"]
    body = b'{"type":"recall"}'

    class Request:  # what a web framework hands the endpoint
        headers = delivery_headers(hook.secret, "dlv_9", int(time.time()), body)

    Request.body = body  # type: ignore[attr-defined]
    namespace["request"] = Request
    exec(compile(last, "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["event"] == {"type": "recall"}
