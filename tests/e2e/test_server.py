"""End to end: ``tracemark serve`` as a real process (2 workers) on a fresh PostgreSQL schema.

The operator key stays with the test (as with the server's operator): actors are
registered with ``tracemark actor register --server``, entries go through the CLI and the
CLI's RemoteSubmitter (two threads at once), codes are verified with POST /v1/verify over
many connections (both workers answer), inclusion proofs are checked with ledger.log.merkle,
and after a SIGTERM the log audits clean. Every wait is bounded; the server is always
stopped.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.submit import RemoteSubmitter
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keyfile import load_private_key
from ledger.log.checkpoint import open_checkpoint
from ledger.log.entries import sign_entry
from ledger.log.verify import verify_inclusion
from ledger.provenance.events.names import COMMISSION
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService
from tests.api.test_log_routes import b64d
from tests.e2e.serving import (
    CLI_TIMEOUT_S,
    environment,
    free_port,
    http_get,
    http_post,
    launch_server,
    run_cli,
    stop,
    wait_ready,
)
from tests.supply import GTIN, PRODUCER_PREFIX

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ORIGIN = "e2e.tracemark.test/log"


@dataclass
class Server:
    url: str
    database_url: str
    home: Path
    key_file: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def cli(self, *args: str) -> Any:
        """Run ``tracemark ARGS --json`` and return its JSON output."""
        return run_cli(self.env, *args)

    def get(self, path: str) -> bytes:
        return http_get(self.url + path)

    def post(self, path: str, payload: Any) -> Any:
        return http_post(self.url + path, payload)


@pytest.fixture
def server(pg_url: str, tmp_path: Path) -> Iterator[Server]:
    home = tmp_path / "home"
    key_file = tmp_path / "operator.key"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = environment(
        {
            "TRACEMARK_HOME": str(home),
            "TRACEMARK_DATABASE_URL": pg_url,
            "TRACEMARK_KEY_FILE": str(key_file),
            "TRACEMARK_RESOLVER": url,
            "TRACEMARK_RATE_LIMIT": "0",
        }
    )
    run_cli(env, "init", "--origin", ORIGIN)
    log = tmp_path / "server.log"
    process = launch_server(env, port, workers=2, log=log)
    try:
        wait_ready(url, process, log)
        yield Server(url, pg_url, home, key_file, env, process)
    finally:
        stop(process)


def _verdict_counts(server: Server, samples: int) -> tuple[set[int], dict[str, float]]:
    """The 'genuine' verdict counter as each scrape reports it (the workers' counts added
    up, api/metrics.py), and the requests each live worker answered."""
    seen: set[int] = set()
    workers: dict[str, float] = {}
    for _ in range(samples):
        text = server.get("/metrics").decode()
        match = re.search(r'tracemark_verdicts_total\{status="genuine"\} ([\d.]+)', text)
        seen.add(int(float(match.group(1))) if match else 0)
        found = re.findall(r'tracemark_worker_requests\{pid="(\d+)"\} (\S+)', text)
        workers = {pid: float(n) for pid, n in found}
    return seen, workers


def test_cli_and_clients_against_a_real_server(server: Server, tmp_path: Path) -> None:
    # Keys are made locally; actors are registered by the operator, over HTTP.
    producer_file, seller_file = tmp_path / "fishco.key", tmp_path / "shop.key"
    server.cli("key", "generate", str(producer_file))
    server.cli("key", "generate", str(seller_file))
    registered = server.cli(
        "actor", "register", "fishco", "--role", "producer", "--name", "Fishco",
        "--prefix", PRODUCER_PREFIX, "--verified",
        "--public-key-file", str(producer_file.with_suffix(".pub")), "--server", server.url,
    )  # fmt: skip
    assert "index" in registered["results"][0], registered
    server.cli(
        "actor", "register", "shop-a", "--role", "seller", "--name", "Shop A", "--verified",
        "--public-key-file", str(seller_file.with_suffix(".pub")), "--server", server.url,
    )  # fmt: skip

    # The producer commissions through the CLI (the actor comes from GET /v1/keys/{id}).
    commissioned = server.cli(
        "event", "commission", GTIN, "--serials", "A000001..A000010", "--lot", "L1",
        "--as", str(producer_file), "--server", server.url,
    )  # fmt: skip
    commission_index = commissioned["results"][0]["index"]

    # Two clients append at once through the CLI's RemoteSubmitter.
    producer, _ = load_private_key(producer_file, None)

    def client(tag: str) -> list[dict[str, Any]]:
        remote = RemoteSubmitter(server.url)
        results: list[dict[str, Any]] = []
        for batch in range(8):
            envelopes = [
                sign_entry(
                    COMMISSION,
                    {
                        "actor": "fishco",
                        "event_time": int(time.time() * 1000) - 60_000 + batch,
                        "tz": "+07:00",
                        "gtin": GTIN,
                        "serials": {"list": [f"{tag}{batch}-{n}"]},
                    },
                    producer,
                )
                for n in range(3)
            ]
            results.extend(remote.submit([*envelopes, envelopes[0]]))  # and one replay
        return results

    with ThreadPoolExecutor(max_workers=2) as pool:
        both = [pool.submit(client, tag) for tag in ("X", "Y")]
        results = [r for future in both for r in future.result(timeout=CLI_TIMEOUT_S)]
    accepted = [r for r in results if "index" in r]
    assert len(accepted) == 2 * 8 * 3, results
    assert {r["error"]["code"] for r in results if "error" in r} == {"duplicate_entry"}
    indices = sorted(r["index"] for r in accepted)
    assert len(set(indices)) == len(indices)

    # Verify a code many times over fresh connections: both workers answer, identically.
    uri = issue_uri(CodeIdentity(GTIN, "A000003", "L1"), producer, server.url)
    attempts = 41
    with ThreadPoolExecutor(max_workers=8) as pool:
        verdicts = list(
            pool.map(lambda _: server.post("/v1/verify", {"code": uri}), range(attempts))
        )
    assert {v["status"] for v in verdicts} == {"genuine"}, verdicts[0]
    proof = verdicts[0]["proof"]
    assert proof is not None and proof["index"] == commission_index
    counts, workers = _verdict_counts(server, samples=10)
    assert counts == {attempts}, counts  # every scrape sees both workers' verdicts
    assert len(workers) == 2 and 0 not in workers.values(), f"one worker answered: {workers}"

    # Inclusion proofs from the log verify against the signed checkpoint.
    service = LogService(SqlStore(server.database_url, create=False))
    try:
        verifier = service.info().verifier
        for index in (0, commission_index, indices[-1]):
            answer = json.loads(server.get(f"/v1/log/proof/inclusion?index={index}"))
            checkpoint = open_checkpoint(answer["checkpoint"], verifier, origin=ORIGIN).checkpoint
            assert checkpoint.tree_size == answer["tree_size"] > indices[-1]
            verify_inclusion(
                index,
                checkpoint.tree_size,
                b64d(answer["leaf_hash"]),
                [b64d(h) for h in answer["inclusion_path"]],
                checkpoint.root_hash,
            )
        note = server.get("/v1/log/checkpoint").decode()
        assert open_checkpoint(note, verifier).checkpoint.tree_size == service.store.size()

        assert stop(server.process) is not None
        with pytest.raises((urllib.error.URLError, OSError)):
            server.get("/healthz")
        report = service.audit()
        assert report.ok, report
        assert report.entries_checked == service.store.size() == indices[-1] + 1
    finally:
        service.store.close()
