"""The scale-out topology of compose.yaml without Docker: processes on 127.0.0.1.

Two ``tracemark serve`` replicas (one worker each, TRACEMARK_ENV=production, the same
encrypted operator key) share one fresh PostgreSQL schema, and ``tracemark log checkpoint
--every`` signs checkpoints as the log grows. Several clients append at once, spreading
their requests over both replicas and failing over as the proxy would: on a connection
error or a 503 they back off (bounded) and try the next replica. A verifier checks codes
through both. Mid-load one replica is SIGKILLed and started again on the same port; the load
goes on until the restarted replica has taken appends and verifies too.

At the end nothing acknowledged is lost and nothing is logged twice: the log holds exactly
the genesis, the registrations and every envelope that was acknowledged (an envelope whose
answer was lost in the crash comes back as ``duplicate_entry`` when retried, which proves it
is already in the log), with dense indices; both replicas serve the same checkpoint;
inclusion proofs verify; the checkpointer stops cleanly on SIGTERM; ``tracemark audit``
passes. Every wait is bounded and every process is stopped.
"""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import threading
import time
import urllib.error
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from api.submit import RemoteSubmitter
from ledger import errors
from ledger.codes.identifiers import item_id
from ledger.codes.signed import CodeIdentity, issue_uri
from ledger.keyfile import load_private_key
from ledger.keys import PrivateKey
from ledger.log.checkpoint import open_checkpoint
from ledger.log.entries import Envelope, LogEntry, sign_entry
from ledger.log.note import NoteVerifier
from ledger.log.verify import verify_inclusion
from ledger.provenance.events.names import ACTOR_REGISTER, COMMISSION, RECEIVE, SHIP
from ledger.storage.sql.log import SqlStore
from ledger.usecases.service import LogService
from tests.e2e.serving import (
    ROOT,
    TRACEMARK,
    environment,
    free_port,
    http_get,
    http_post,
    kill,
    launch_server,
    run_cli,
    stop,
    tail,
    wait_ready,
)
from tests.supply import GTIN, PRODUCER_PREFIX, TZ, key_for

#: Event times: an hour before the run (a server refuses events dated days before its
#: clock, event_backdated); rounds add a second each, far from the 5-minute future bound.
T0 = int(time.time() * 1000) - 3_600_000

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ORIGIN = "topology.tracemark.test/log"
#: The public address codes carry: the proxy's, not any one replica's.
PUBLIC_URL = "https://verify.topology.tracemark.test"
PASSPHRASE = "topology test passphrase"  # TEST ONLY
CLIENTS = 4
SERIALS_PER_ROUND = 3
#: Entries acknowledged before the crash, and appends the restarted replica must take after.
KILL_AFTER_ENTRIES = 60
APPENDS_AFTER_RESTART = 8
RETRY_DEADLINE_S = 30.0
CHECKPOINT_EVERY_S = "0.3"


@dataclass
class Replica:
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        """Stop the replica's current process (the restarted one after a crash)."""
        return stop(self.process)


@dataclass
class Topology:
    env: dict[str, str]
    database_url: str
    key_file: Path
    replicas: list[Replica]
    checkpointer: subprocess.Popen[bytes]
    checkpoints: Path
    checkpointer_log: Path

    @property
    def urls(self) -> list[str]:
        return [replica.url for replica in self.replicas]

    def crash_and_restart(self, number: int) -> float:
        """SIGKILL replica NUMBER, start it again on its port; the seconds it was away."""
        replica = self.replicas[number]
        started = time.monotonic()
        kill(replica.process)
        replica.process = launch_server(self.env, replica.port, workers=1, log=replica.log)
        wait_ready(replica.url, replica.process, replica.log)
        return time.monotonic() - started

    def signed_sizes(self) -> list[int]:
        """Tree sizes the checkpointer has printed so far (one JSON line per checkpoint)."""
        lines = self.checkpoints.read_text().splitlines()
        return [json.loads(line)["tree_size"] for line in lines if line.endswith("}")]


@pytest.fixture
def topology(pg_url: str, tmp_path: Path) -> Iterator[Topology]:
    key_file = tmp_path / "keys" / "operator.key"
    env = environment(
        {
            "TRACEMARK_ENV": "production",
            "TRACEMARK_HOME": str(tmp_path / "home"),
            "TRACEMARK_DATABASE_URL": pg_url,
            "TRACEMARK_KEY_FILE": str(key_file),
            "TRACEMARK_KEY_PASSPHRASE": PASSPHRASE,
            "TRACEMARK_RESOLVER": PUBLIC_URL,
            "TRACEMARK_SCAN_SALT": "topology-salt",  # TEST ONLY: replicas agree on it
            # TEST ONLY: the key that seals webhook secrets, the same for both replicas
            "TRACEMARK_SECRETS_KEY": "topology:" + "A" * 43,
            "TRACEMARK_RATE_LIMIT": "0",
        }
    )
    run_cli(env, "init", "--origin", ORIGIN)
    checkpoints = tmp_path / "checkpoints.jsonl"
    checkpointer_log = tmp_path / "checkpointer.log"
    with ExitStack() as processes:  # every process is stopped, even when one stop fails
        replicas: list[Replica] = []
        for number in range(2):
            log = tmp_path / f"replica-{number}.log"
            port = free_port()
            replicas.append(Replica(port, log, launch_server(env, port, workers=1, log=log)))
            processes.callback(replicas[-1].stop)
        with checkpoints.open("wb") as out, checkpointer_log.open("wb") as log:
            checkpointer = subprocess.Popen(
                [*TRACEMARK, "log", "checkpoint", "--every", CHECKPOINT_EVERY_S, "--json"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=log,
                start_new_session=True,
            )
        processes.callback(stop, checkpointer)
        for replica in replicas:
            wait_ready(replica.url, replica.process, replica.log)
        yield Topology(env, pg_url, key_file, replicas, checkpointer, checkpoints, checkpointer_log)


# --- clients ----------------------------------------------------------------------------------


@dataclass
class Appended:
    """What the clients were told, per envelope (by statement hash)."""

    acked: dict[bytes, tuple[int, str]] = field(default_factory=dict)  # index, leaf hash
    recovered: set[bytes] = field(default_factory=set)  # answer lost, found in the log
    commissions: dict[str, int] = field(default_factory=dict)  # serial -> index
    retries: int = 0
    by_replica: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def entries(self) -> int:
        with self.lock:
            return len(self.acked) + len(self.recovered)


class Spread:
    """Sends each request to the next replica, as the proxy does; on a connection error or a
    503 it backs off (0.05 s doubling up to 1 s) and tries the next one, for at most
    RETRY_DEADLINE_S. Any other error fails the test."""

    def __init__(self, urls: Sequence[str]) -> None:
        self.urls = list(urls)
        self._turn = itertools.count()

    def call(self, request: Callable[[str], Any]) -> tuple[Any, str, int]:
        """``request(url)`` on the next replica until it answers: (answer, url, retries)."""
        deadline = time.monotonic() + RETRY_DEADLINE_S
        delay, retries = 0.05, 0
        while True:
            url = self.urls[next(self._turn) % len(self.urls)]
            try:
                return request(url), url, retries
            except errors.StorageUnavailable as exc:  # RemoteSubmitter
                if exc.code != "storage_unavailable":  # a 500 is a bug, not an outage
                    raise
            except urllib.error.HTTPError as exc:  # urllib, in the verifier
                if exc.code != 503:
                    raise
            except OSError:  # urllib: connection refused or reset
                pass
            if time.monotonic() + delay > deadline:
                raise AssertionError(f"no replica answered within {RETRY_DEADLINE_S} s")
            time.sleep(delay)
            delay, retries = min(delay * 2, 1.0), retries + 1


def submit(spread: Spread, appended: Appended, envelopes: list[Envelope]) -> None:
    """Append one batch; every envelope must end acknowledged, or be a duplicate of an
    earlier attempt of this very batch whose answer the crash swallowed."""
    results, url, retries = spread.call(lambda url: RemoteSubmitter(url).submit(envelopes))
    with appended.lock:
        appended.retries += retries
        appended.by_replica[url] += 1
        for envelope, result in zip(envelopes, results, strict=True):
            statement = envelope.statement_hash
            if "index" in result:
                appended.acked[statement] = (result["index"], result["leaf_hash"])
                if envelope.type == COMMISSION:
                    for serial in envelope.body["serials"]["list"]:
                        appended.commissions[serial] = result["index"]
            elif retries and result["error"]["code"] == "duplicate_entry":
                appended.recovered.add(statement)
            else:
                raise AssertionError(f"{envelope.type} refused: {result}")


@dataclass
class Cast:
    operator: PrivateKey
    log_verifier: NoteVerifier
    producer: PrivateKey = field(default_factory=lambda: key_for("fishco"))
    distributor: PrivateKey = field(default_factory=lambda: key_for("distri"))

    def registrations(self) -> list[Envelope]:
        return [
            sign_entry(
                ACTOR_REGISTER,
                {
                    "actor": {"id": actor, "role": role, "name": actor.title(), "country": "VN",
                              "verified": True, **extra},
                    "keys": [key.public_key.to_text()],
                    "event_time": T0,
                },
                self.operator,
            )
            for actor, role, key, extra in (
                ("fishco", "producer", self.producer, {"prefixes": [PRODUCER_PREFIX]}),
                ("distri", "distributor", self.distributor, {}),
            )
        ]  # fmt: skip

    def round(self, client: int, number: int) -> tuple[list[Envelope], list[Envelope]]:
        """Commission new items and ship them (one batch), then receive them (the next)."""
        serials = [f"C{client}R{number}N{n}" for n in range(SERIALS_PER_ROUND)]
        when = T0 + 1_000 * number + client
        shipment = f"S-{client}-{number}"
        commission = sign_entry(
            COMMISSION,
            {"actor": "fishco", "event_time": when, "tz": TZ, "gtin": GTIN,
             "serials": {"list": serials}},
            self.producer,
        )  # fmt: skip
        ship = sign_entry(
            SHIP,
            {"actor": "fishco", "event_time": when + 1, "tz": TZ, "shipment": shipment,
             "to": "distri", "items": [item_id(GTIN, s) for s in serials]},
            self.producer,
        )  # fmt: skip
        receive = sign_entry(
            RECEIVE,
            {"actor": "distri", "event_time": when + 2, "tz": TZ, "shipment": shipment,
             "from": "fishco"},
            self.distributor,
        )  # fmt: skip
        return [commission, ship], [receive]


def verify_code(spread: Spread, cast: Cast, serial: str, index: int, *, proof: bool) -> str:
    """Verify the item's signed code through the next replica: genuine, with the commission
    at INDEX first in its provenance. The inclusion proof of the item's latest entry comes
    once a checkpoint covers that entry (required when ``proof``); it must verify against the
    signed checkpoint in the answer. Returns the replica that answered."""
    uri = issue_uri(CodeIdentity(GTIN, serial), cast.producer, PUBLIC_URL)
    verdict, url, _ = spread.call(lambda url: http_post(url + "/v1/verify", {"code": uri}))
    assert verdict["status"] == "genuine", verdict
    assert verdict["provenance"][0]["index"] == index, verdict["provenance"]
    if proof or "proof" in verdict:
        shown = verdict["proof"]
        assert shown["index"] == verdict["provenance"][-1]["index"], verdict
        signed = open_checkpoint(shown["checkpoint"], cast.log_verifier, origin=ORIGIN)
        verify_inclusion(
            shown["index"],
            signed.checkpoint.tree_size,
            base64.b64decode(shown["leaf_hash"]),
            [base64.b64decode(h) for h in shown["inclusion_path"]],
            signed.checkpoint.root_hash,
        )
    return str(url)


# --- the test ---------------------------------------------------------------------------------


def _until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds passed (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@dataclass
class Load:
    """The load phase's shared state and what it measured."""

    stop: threading.Event = field(default_factory=threading.Event)
    restarted: threading.Event = field(default_factory=threading.Event)
    verified: Counter[str] = field(default_factory=Counter)  # after the restart, per replica
    rounds: list[int] = field(default_factory=list)
    verifications: int = 0
    away_s: float = 0.0


def _run_load(topology: Topology, cast: Cast, appended: Appended) -> Load:
    """CLIENTS appenders and one verifier over both replicas; replica 1 crashes after
    KILL_AFTER_ENTRIES entries and the load goes on until the restarted replica has taken
    APPENDS_AFTER_RESTART appends and a verify. Thread failures surface here."""
    spread, load = Spread(topology.urls), Load()
    crashed = topology.replicas[1].url

    def client(number: int) -> int:
        rounds = 0
        while not load.stop.is_set():
            first, second = cast.round(number, rounds)
            submit(spread, appended, first)
            submit(spread, appended, second)
            rounds += 1
        return rounds

    def verifier() -> int:
        done = 0
        while not load.stop.is_set():
            with appended.lock:
                latest = list(appended.commissions.items())[-8:]
            for serial, index in latest:
                url = verify_code(spread, cast, serial, index, proof=False)
                done += 1
                if load.restarted.is_set():
                    with appended.lock:
                        load.verified[url] += 1
            time.sleep(0.05)
        return done

    before = 0

    def restarted_replica_took_part() -> bool:
        with appended.lock:
            appends = appended.by_replica[crashed] - before
            return appends >= APPENDS_AFTER_RESTART and load.verified[crashed] > 0

    with ThreadPoolExecutor(max_workers=CLIENTS + 1) as pool:
        workers = [pool.submit(client, number) for number in range(CLIENTS)]
        workers.append(pool.submit(verifier))

        def failed() -> bool:
            return any(worker.done() for worker in workers)

        try:
            if _until(lambda: appended.entries() >= KILL_AFTER_ENTRIES or failed(), 60):
                with appended.lock:
                    before = appended.by_replica[crashed]
                if not failed():
                    load.away_s = topology.crash_and_restart(1)
                    load.restarted.set()
                    _until(lambda: restarted_replica_took_part() or failed(), 60)
        finally:
            load.stop.set()
        *load.rounds, load.verifications = [w.result(timeout=2 * RETRY_DEADLINE_S) for w in workers]
    assert load.restarted.is_set(), f"{appended.entries()} entries, not {KILL_AFTER_ENTRIES}"
    assert restarted_replica_took_part(), (appended.by_replica, load.verified)
    return load


def _check_log(store: SqlStore, appended: Appended) -> int:
    """The log is the genesis plus exactly what the clients appended: nothing lost, nothing
    twice, dense indices, acknowledged indices and leaf hashes as told. Returns its size."""
    size = store.size()
    assert size == 1 + appended.entries(), (size, appended.entries())
    rows = store.entries(0, size)
    assert [row.index for row in rows] == list(range(size))
    logged = [LogEntry.from_leaf(row.index, row.data).envelope.statement_hash for row in rows]
    assert len(set(logged)) == size
    assert set(logged[1:]) == set(appended.acked) | appended.recovered
    for statement, (index, leaf_hash) in appended.acked.items():
        assert logged[index] == statement
        assert base64.b64encode(rows[index].leaf_hash).decode() == leaf_hash
    return size


def _check_inclusion(urls: list[str], appended: Appended, size: int, root: bytes) -> None:
    """Inclusion proofs of a spread of acknowledged entries, from both replicas in turn."""
    indices = sorted(index for index, _ in appended.acked.values())
    sample = sorted({indices[0], indices[-1], *indices[:: max(1, len(indices) // 20)]})
    for turn, index in enumerate(sample):
        url = urls[turn % len(urls)]
        answer = json.loads(http_get(f"{url}/v1/log/proof/inclusion?index={index}&size={size}"))
        assert answer["tree_size"] == size
        verify_inclusion(
            index,
            size,
            base64.b64decode(answer["leaf_hash"]),
            [base64.b64decode(h) for h in answer["inclusion_path"]],
            root,
        )


def test_two_replicas_survive_a_crash_mid_load(topology: Topology) -> None:
    operator, _ = load_private_key(topology.key_file, PASSPHRASE.encode())
    store = SqlStore(topology.database_url, create=False)
    try:
        cast = Cast(operator, LogService(store).info().verifier)
        appended = Appended()
        submit(Spread(topology.urls), appended, cast.registrations())
        load = _run_load(topology, cast, appended)
        print(
            f"\ntopology: {appended.entries()} entries in {sum(load.rounds)} rounds, "
            f"{load.verifications} verifies, {appended.retries} retries, "
            f"{len(appended.recovered)} answers lost in the crash, "
            f"replica away {load.away_s:.1f} s, requests {dict(appended.by_replica)}"
        )
        assert appended.retries > 0, "no request met the crashed replica"
        size = _check_log(store, appended)

        # The checkpointer caught up, signed as the log grew, and stops cleanly on SIGTERM.
        assert _until(lambda: size in topology.signed_sizes(), 30), topology.signed_sizes()
        assert stop(topology.checkpointer) == 0, tail(topology.checkpointer_log)
        sizes = topology.signed_sizes()
        assert sizes == sorted(set(sizes)) and len(sizes) > 2, sizes

        # Both replicas serve the same signed checkpoint of the whole log; proofs verify.
        notes = {http_get(url + "/v1/log/checkpoint").decode() for url in topology.urls}
        assert len(notes) == 1, notes
        checkpoint = open_checkpoint(notes.pop(), cast.log_verifier, origin=ORIGIN).checkpoint
        assert checkpoint.tree_size == size
        _check_inclusion(topology.urls, appended, size, checkpoint.root_hash)
        by_index = sorted(appended.commissions.items(), key=lambda item: item[1])
        for url in topology.urls:  # the first and last item, proof required, from each replica
            for serial, index in (by_index[0], by_index[-1]):
                verify_code(Spread([url]), cast, serial, index, proof=True)
    finally:
        store.close()

    report = run_cli(topology.env, "audit")
    assert report["ok"] and report["entries_checked"] == size, report
