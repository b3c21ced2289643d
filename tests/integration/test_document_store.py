"""The document store contract (ledger/ports/documents.py) on every driver: memory, a
folder, SQL blobs (SQLite, migrated by the log store) and S3 (moto's in-process server).
Content-addressed, written once, re-hashed on read: tampered bytes are never served."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ledger.errors import InvalidInput, LimitExceeded, NotFound
from ledger.ports.documents import (
    MAX_DOCUMENT_BYTES,
    DocumentStore,
    DocumentTampered,
    document_digest,
    prepare,
)
from ledger.storage.documents import FolderDocuments, MemoryDocuments, open_documents
from ledger.storage.memory.log import MemoryStore
from ledger.storage.sql.log import SqlStore

PDF = b"%PDF-1.7 certificate of origin, lot L1\n"

#: A driver, and how to alter a stored document behind the store's back.
Driver = tuple[DocumentStore, Callable[[str, bytes], None]]


@pytest.fixture
def memory() -> Driver:
    store = MemoryDocuments()

    def tamper(sha: str, data: bytes) -> None:
        store.blobs[sha] = (store.blobs[sha][0], data)

    return store, tamper


@pytest.fixture
def folder(tmp_path: Path) -> Driver:
    store = open_documents(f"file://{tmp_path}/docs", MemoryStore())
    assert isinstance(store, FolderDocuments)

    def tamper(sha: str, data: bytes) -> None:
        (tmp_path / "docs" / sha[:2] / sha).write_bytes(data)

    return store, tamper


@pytest.fixture
def sql(tmp_path: Path) -> Iterator[Driver]:
    log = SqlStore(f"sqlite:///{tmp_path}/ledger.db")
    store = open_documents("sql", log)

    def tamper(sha: str, data: bytes) -> None:
        with log.engine.begin() as conn:
            conn.execute(
                text("UPDATE documents SET data = :d WHERE sha256 = :s"), {"d": data, "s": sha}
            )

    yield store, tamper
    log.close()


@pytest.fixture
def s3() -> Iterator[Driver]:
    moto_server = pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",  # TEST ONLY: moto accepts any
        aws_secret_access_key="testing",  # TEST ONLY
    )
    client.create_bucket(Bucket="docs")
    from ledger.storage.documents.s3 import S3Documents

    store = S3Documents("docs", prefix="tracemark", client=client)

    def tamper(sha: str, data: bytes) -> None:
        client.put_object(Bucket="docs", Key=f"tracemark/{sha}", Body=data)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield store, tamper
    server.stop()


DRIVERS = ["memory", "folder", "sql", "s3"]


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest) -> Driver:
    found: Driver = request.getfixturevalue(request.param)
    return found


def test_a_document_is_named_by_its_hash_and_read_back(driver: Driver) -> None:
    store, _ = driver
    document = prepare(PDF, "application/pdf; charset=binary")
    assert document.sha256 == document_digest(PDF)
    assert store.put(document) is True
    assert store.put(document) is False  # content-addressed: the same bytes once
    back = store.get(document.sha256)
    assert (back.data, back.content_type) == (PDF, "application/pdf")
    assert store.check(document.sha256) == "ok"


def test_a_missing_document_is_not_found(driver: Driver) -> None:
    store, _ = driver
    with pytest.raises(NotFound):
        store.get("00" * 32)
    assert store.check("00" * 32) == "missing"


def test_a_tampered_document_fails_its_hash_check(driver: Driver) -> None:
    store, tamper = driver
    document = prepare(PDF, "application/pdf")
    store.put(document)
    tamper(document.sha256, PDF.replace(b"L1", b"L2"))
    with pytest.raises(DocumentTampered, match="fails its hash check"):
        store.get(document.sha256)
    assert store.check(document.sha256) == "tampered"


def test_documents_are_bounded_and_typed() -> None:
    with pytest.raises(LimitExceeded):
        prepare(b"x" * (MAX_DOCUMENT_BYTES + 1), "application/pdf")
    with pytest.raises(InvalidInput) as raised:
        prepare(PDF, "application/x-msdownload")
    assert raised.value.code == "unsupported_content_type"
    with pytest.raises(InvalidInput):
        prepare(b"", "text/plain")


def test_a_document_name_is_a_sha256(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        FolderDocuments(tmp_path).get("../../etc/passwd")


def test_the_setting_picks_a_driver(tmp_path: Path) -> None:
    assert isinstance(open_documents("memory", MemoryStore()), MemoryDocuments)
    # The fake log store has no database: "sql" keeps documents in memory next to it.
    assert isinstance(open_documents("sql", MemoryStore()), MemoryDocuments)
    with pytest.raises(InvalidInput, match="TRACEMARK_DOCUMENT_STORE"):
        open_documents("ftp://example", MemoryStore())
