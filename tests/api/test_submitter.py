"""The CLI's RemoteSubmitter (api/submit.py) against the app served by uvicorn over HTTP.

The server runs in a thread of this process on a free port of 127.0.0.1, over each store;
the submitter is the CLI's own client, so this pins the POST /v1/entries and
GET /v1/keys/{key_id} contract from both sides.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi import FastAPI

from api.submit import RemoteSubmitter
from ledger import errors
from ledger.log.entries import sign_entry
from ledger.log.verify import verify_inclusion
from ledger.provenance.events.names import ACTOR_REGISTER, COMMISSION
from tests.api.conftest import Api
from tests.api.test_log_routes import b64d
from tests.supply import GTIN, key_for

START_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 in a thread; always stopped and joined afterwards."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the test server did not start on port {port}")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)
        assert not thread.is_alive(), "the test server did not stop"


def test_remote_submitter_round_trip(api: Api) -> None:
    s = api.supply
    with served(api.app) as url:
        remote = RemoteSubmitter(url + "/")
        fishco = s.keys["fishco"]
        assert remote.actor_of(fishco.key_id) == "fishco"
        assert remote.actor_of(key_for("stranger").key_id) is None

        newcomer = key_for("newcomer")
        register = sign_entry(
            ACTOR_REGISTER,
            {
                "actor": {
                    "id": "newcomer",
                    "role": "retailer",
                    "name": "Newcomer",
                    "country": "VN",
                    "verified": True,
                },
                "keys": [newcomer.public_key.to_text()],
                "event_time": s.now,
            },
            s.operator,
        )
        good = sign_entry(
            COMMISSION, s.event("fishco", gtin=GTIN, serials={"list": ["R1"]}), fishco
        )
        forged = sign_entry(
            COMMISSION, s.event("fishco", gtin=GTIN, serials={"list": ["R2"]}), newcomer
        )
        results = remote.submit([register, good, forged])
        assert [sorted(r) for r in results[:2]] == [
            ["index", "integrated_time", "leaf_hash", "proof"]
        ] * 2
        assert results[2]["error"]["code"] not in ("internal", "signature_invalid")  # a rule
        assert remote.actor_of(newcomer.key_id) == "newcomer"
        size = api.service.store.head().size
        checkpoint = api.service.open_checkpoint(api.service.latest_checkpoint().note)
        assert checkpoint.checkpoint.tree_size == size
        proof = results[1]["proof"]
        verify_inclusion(
            results[1]["index"],
            proof["tree_size"],
            b64d(results[1]["leaf_hash"]),
            [b64d(h) for h in proof["inclusion_path"]],
            api.service.root_at(proof["tree_size"]),
        )
        assert remote.submit([good])[0]["error"]["code"] == "duplicate_entry"


def test_remote_submitter_raises_the_servers_errors(api: Api) -> None:
    with served(api.app) as url:
        remote = RemoteSubmitter(url)
        entry = sign_entry(COMMISSION, api.supply.event("fishco", gtin=GTIN,
                           serials={"list": ["Z1"]}), api.supply.keys["fishco"])  # fmt: skip
        with pytest.raises(errors.LimitExceeded) as too_many:
            remote.submit([entry] * 1_001)
        assert too_many.value.code == "too_many_entries"
        with pytest.raises(errors.InvalidInput) as malformed:
            remote.actor_of("not-a-key-id")
        assert malformed.value.code == "invalid_request"
    with pytest.raises(errors.StorageUnavailable):  # the server is gone
        RemoteSubmitter(url).actor_of(api.supply.keys["fishco"].key_id)
