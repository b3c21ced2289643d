"""The TypeScript client (clients/typescript) in ``make test``: its own tests (``node --test``
after ``tsc``) run against a real Tracemark server started here.

A uvicorn server in a thread (127.0.0.1, a free port, SQLite) serves the small supply chain of
the page tests (tests/pages/chain.py) with a platform API key; its URL, codes, key and the log's
verifier key go to the npm tests in a JSON file named by ``TRACEMARK_TS_LIVE``. The offline
verifier's cross-implementation vectors (clients/typescript/test/vectors.json) must be exactly
what the Python core makes now (tests/clients/typescript_vectors.py).

Skipped, with the reason printed, when node or npm is missing; ``scripts/bootstrap.sh`` runs
``npm ci`` (a missing clients/typescript/node_modules is a skip outside CI, a failure in CI).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import api.webhooks
from api.http.app import create_app
from ledger.keys import PrivateKey
from ledger.log.note import NoteVerifier
from ledger.ports.platform import new_api_key
from ledger.storage.sql.log import SqlStore
from tests.clients import typescript_vectors
from tests.pages.chain import LISTING, PLATFORM, build_chain, fresh_service
from tests.pages.conftest import page_settings
from tests.supply import GTIN, T0

pytestmark = pytest.mark.e2e

PACKAGE = Path(__file__).resolve().parents[2] / "clients" / "typescript"
VECTORS = PACKAGE / "test" / "vectors.json"
#: The live delivery test's skip reason on a server that predates Standard Webhooks.
LEGACY = "signs deliveries with X-Tracemark-Signature only"


def test_the_committed_vectors_are_what_the_python_core_makes() -> None:
    assert VECTORS.read_text(encoding="utf-8") == typescript_vectors.render(), (
        "regenerate: PYTHONPATH=. .venv/bin/python -m tests.clients.typescript_vectors "
        "> clients/typescript/test/vectors.json"
    )


def _npm() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        reason = "node or npm is not on PATH (Node.js 20+): the TypeScript client tests are skipped"
        print(reason)
        pytest.skip(reason)
    if not (PACKAGE / "node_modules").is_dir():
        reason = f"{PACKAGE}/node_modules is missing: run `make setup` (it runs npm ci)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        print(reason)
        pytest.skip(reason)
    return npm


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    import uvicorn

    tmp = tmp_path_factory.mktemp("ts-live")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    operator = PrivateKey.from_seed(bytes(range(32)))  # TEST ONLY
    store = SqlStore(f"sqlite:///{tmp / 'log.db'}")
    service = fresh_service(store, operator)
    chain = build_chain(service, operator, base)
    app = create_app(page_settings(tmp, resolver=base), service=service)
    record, token = new_api_key(PLATFORM, "", secret=b"\x07" * 32, now=T0, rate_limit=6_000)
    app.state.tracemark.platform.store.add_key(record)
    origin = service.info().origin
    fixture: dict[str, Any] = {
        "base": base,
        "api_key": token,
        "platform": PLATFORM,
        "listing": LISTING,
        "seller": f"{PLATFORM}:@shopa",
        "other_seller": f"{PLATFORM}:@shopx",  # registered, holds nothing: a clone signal
        "log_key": NoteVerifier.from_public_key(origin, operator.public_key).to_vkey(),
        "genuine": chain.genuine,
        "recalled": chain.recalled,
        "counterfeit": chain.counterfeit,
        "item": {"gtin": GTIN, "serial": "G001"},
    }
    path = tmp / "live.json"
    path.write_text(json.dumps(fixture), encoding="utf-8")
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on",
        timeout_graceful_shutdown=2,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-ts", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 15 s")
            time.sleep(0.05)
        yield path
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        store.close()
    assert not thread.is_alive(), "uvicorn did not stop"


def _text(data: bytes | str | None) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data or ""


def _failures(output: str) -> str:
    """The failing tests' TAP blocks (the whole output is long), or the output's end."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.lstrip().startswith("not ok")]
    found = ["\n".join(lines[i : i + 30]) for i in starts]
    return "\n\n".join(found) or output[-4000:]


def test_the_typescript_client_passes_its_tests_against_a_live_server(live: Path) -> None:
    npm = _npm()
    env = {**os.environ, "TRACEMARK_TS_LIVE": str(live), "NO_COLOR": "1"}
    try:
        run = subprocess.run(
            [npm, "test", "--silent"],
            cwd=PACKAGE,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"npm test ran over 120 s:\n{_failures(_text(exc.stdout) + _text(exc.stderr))}")
    output = run.stdout + run.stderr
    assert run.returncode == 0, _failures(output)
    assert "# fail 0" in output or "ℹ fail 0" in output, output[-4000:]
    skipped = re.search(r"^# skipped (\d+)$", output, re.MULTILINE)
    assert skipped is not None, output[-4000:]
    if hasattr(api.webhooks, "ID_HEADER"):  # this server sends Standard Webhooks
        assert skipped[1] == "0", f"live tests were skipped:\n{output[-4000:]}"
    else:  # before Standard Webhooks: only the live delivery check may be skipped
        assert skipped[1] in ("0", "1") and (skipped[1] == "0" or LEGACY in output), output[-4000:]
