"""What the demo talks through: a Tracemark server over HTTP, a local webhook receiver, and
the ``tracemark`` command line.

The API calls a platform or a participant makes go through the Python client
(clients/python, ``tracemark_client.Client``), as a platform's own code would; ``Server``
remains for what the client does not cover (the log's checkpoint and proofs, the resolver's
JSON): JSON requests with the standard library, ``DemoError`` with the server's own error
message for an unexpected status. ``WebhookReceiver`` is the platform's end of a webhook: a
small HTTP server on 127.0.0.1 in a thread that keeps each delivery and checks its Standard
Webhooks signature (``tracemark_client.webhooks.verify``) before believing it.
``tracemark(...)`` runs the CLI as a person would type it, in this repository's Python.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tracemark_client import WebhookVerificationError, webhooks

__all__ = ["REPO", "Delivery", "DemoError", "Server", "WebhookReceiver", "tracemark"]

REPO = Path(__file__).resolve().parents[1]
HTTP_TIMEOUT_S = 30.0
CLI_TIMEOUT_S = 120.0
_MAX_BODY = 1 << 20


class DemoError(Exception):
    """A step did not go as the story says: the message says what happened instead."""


@dataclass(frozen=True)
class Server:
    """A running ``tracemark serve`` at ``url`` (``http://host:port``)."""

    url: str

    def call(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
        accept: str = "application/json",
    ) -> Any:
        """The decoded JSON answer (the text for non-JSON, None for 204); ``DemoError``
        unless the status is one of ``expect``."""
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - the demo's own server URL
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": accept, **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
                status, body, kind = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, body, kind = exc.code, exc.read(), exc.headers
            exc.close()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DemoError(f"{method} {path}: the server did not answer ({reason})") from None
        if status not in expect:
            raise DemoError(f"{method} {path}: HTTP {status}: {_error_text(body)}")
        if not body:
            return None
        if "json" in kind.get("content-type", ""):
            return json.loads(body)
        return body.decode("utf-8", errors="replace")

    def get(self, path: str, **options: Any) -> Any:
        return self.call("GET", path, **options)

    def post(self, path: str, payload: Any, **options: Any) -> Any:
        return self.call("POST", path, payload, **options)


def _error_text(body: bytes) -> str:
    try:
        error = json.loads(body)["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", errors="replace") or "(no body)"


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as it arrived: the event and whether its signature verified."""

    event: dict[str, Any]
    signed: bool


class WebhookReceiver:
    """An HTTP endpoint on 127.0.0.1 (a free port) that answers 204 to every POST and keeps
    the deliveries; ``secrets`` maps a webhook id to its signing secret."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self._arrived: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()
        received = self._arrived

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, _MAX_BODY))
                received.put((body, dict(self.headers.items())))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return  # the demo prints what matters itself

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/tracemark"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def wait_for(self, kind: str, platform: str, timeout_s: float) -> Delivery:
        """The first delivery of event type ``kind`` for ``platform`` within ``timeout_s``
        (others that arrive meanwhile are dropped); ``DemoError`` when none comes."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                body, headers = self._arrived.get(timeout=left)
            except queue.Empty:
                break
            event = json.loads(body)
            if event.get("type") == kind and event.get("platform") == platform:
                return Delivery(event, self._signed(event, headers, body))
        raise DemoError(f"no {kind} webhook for {platform} arrived within {timeout_s:.0f} s")

    def _signed(self, event: Mapping[str, Any], headers: Mapping[str, str], body: bytes) -> bool:
        secret = self.secrets.get(str(event.get("webhook_id")))
        if secret is None:
            return False
        try:
            webhooks.verify(secret, headers, body)  # signature, and a timestamp within 5 min
        except WebhookVerificationError:
            return False
        return True


def tracemark(*args: str, timeout_s: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run ``tracemark ARGS`` (this repository's, in this Python) and return what it did.
    ``TRACEMARK_*`` settings of the caller's shell are left out: the demo passes its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEMARK_")}
    # this checkout's code, and its Python client (bootstrap installs it; a checkout that
    # is not the installed one still runs its own)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "clients" / "python")])
    try:
        return subprocess.run(  # noqa: S603 - our interpreter, fixed arguments, no shell
            [sys.executable, "-m", "api.cli", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DemoError(f"tracemark {args[0]} did not finish within {timeout_s:.0f} s") from None
