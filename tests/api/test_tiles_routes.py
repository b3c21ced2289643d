"""The log as C2SP tlog-tiles over HTTP (api/http/routes/tiles.py) and as static files
(``tracemark log export-tiles``): a client that holds only /checkpoint and the tiles gets the
same root and proofs as the JSON proof routes, and bad tile paths are 400 problems."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from api.http.routes.tiles import IMMUTABLE
from ledger.log.checkpoint import cosign_checkpoint, open_checkpoint, verify_cosignatures
from ledger.log.tiles import (
    TileId,
    inclusion_proof_from_tiles,
    parse_entry_bundle,
    root_from_tiles,
    tile_path,
    tiles_of_size,
)
from ledger.log.verify import verify_inclusion
from ledger.storage.sql.log import SqlStore
from tests.api.conftest import WITNESS, WITNESS_KEY, Api
from tests.api.test_log_routes import b64d, error_code, grow, post_note, witness_verifier
from tests.conftest import initialized, notices

COSIGNED_AT = 1_760_000_000


def _fetcher(api: Api):  # type: ignore[no-untyped-def]
    def fetch(wanted: set[TileId]) -> dict[TileId, bytes]:
        found = {}
        for t in wanted:
            response = api.client.get("/" + tile_path(t))
            assert response.status_code == 200, (tile_path(t), response.text)
            assert response.headers["cache-control"] == IMMUTABLE
            assert response.headers["content-type"] == "application/octet-stream"
            found[t] = response.content
        return found

    return fetch


def test_a_client_with_only_tiles_gets_the_services_root_and_proofs(api: Api) -> None:
    grow(api, 300, tag="t")
    response = api.client.get("/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=5"
    checkpoint = api.service.open_checkpoint(response.text).checkpoint
    size = checkpoint.tree_size
    assert size > 300
    fetch = _fetcher(api)
    assert root_from_tiles(size, fetch) == checkpoint.root_hash
    for index in (0, 1, 255, 256, size // 2, size - 1):
        proof = inclusion_proof_from_tiles(index, size, fetch)
        served = api.client.get("/v1/log/proof/inclusion", params={"index": index}).json()
        assert [b64d(h) for h in served["inclusion_path"]] == proof
        leaf = api.service.store.entry(index).leaf_hash
        verify_inclusion(index, size, leaf, proof, checkpoint.root_hash)
    # the entry bundle holds the leaves the log serves
    bundle = api.client.get("/tile/entries/000")
    entries = parse_entry_bundle(bundle.content)
    first = api.client.get("/v1/log/entries", params={"start": 0, "end": 256}).json()["entries"]
    assert [b64d(e["leaf"]) for e in first] == entries


def test_tiles_past_the_checkpoint_and_bad_paths_are_refused(api: Api) -> None:
    size = api.service.open_checkpoint(api.client.get("/checkpoint").text).checkpoint.tree_size
    width = size % 256
    assert api.client.get(f"/tile/0/000.p/{width}").status_code == 200
    if width > 1:
        assert api.client.get(f"/tile/0/000.p/{width - 1}").status_code == 200  # a prefix
    missing = api.client.get(f"/tile/0/000.p/{width + 1}")
    assert missing.status_code == 404 and error_code(missing) == "not_found"
    assert api.client.get("/tile/0/000").status_code == 404  # not full yet
    assert api.client.get("/tile/1/000.p/1").status_code == 404
    for bad in ("/tile/00/000", "/tile/0/1", "/tile/0/x000/001", "/tile/0/000.p/0", "/tile/x"):
        response = api.client.get(bad)
        assert response.status_code == 400, bad
        assert error_code(response) == "invalid_input"


def test_the_checkpoint_carries_the_kept_cosignatures_of_its_size(api: Api) -> None:
    note = api.client.get("/checkpoint").text
    assert (
        post_note(api, cosign_checkpoint(note, WITNESS, WITNESS_KEY, COSIGNED_AT)).status_code
        == 200
    )
    served = api.client.get("/checkpoint").text
    assert served.startswith(note)
    (cosig,) = verify_cosignatures(served, [witness_verifier()])
    assert cosig.timestamp == COSIGNED_AT
    open_checkpoint(served, api.service.info().verifier)  # still the log's signature first


def _tile_files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_export_tiles_writes_what_the_service_serves(
    tmp_path: Path,
    operator_key,
    sqlite_url: str,  # type: ignore[no-untyped-def]
) -> None:
    store = SqlStore(sqlite_url)
    service = initialized(store, operator_key)
    service.log_key = operator_key
    service.append(notices(operator_key, 700, tag="x"), now=5_000)
    service.checkpoint(now=6_000)
    store.close()
    runner = CliRunner()
    out = tmp_path / "tiles"
    result = runner.invoke(
        cli, ["log", "export-tiles", str(out), "--database-url", sqlite_url, "--json"]
    )
    assert result.exit_code == 0, result.output
    files = _tile_files(out)
    expected = {tile_path(t) for t in tiles_of_size(701)} | {"checkpoint"}
    assert set(files) == expected
    # a second run writes only the partial tiles (and the checkpoint)
    again = runner.invoke(
        cli, ["log", "export-tiles", str(out), "--database-url", sqlite_url, "--json"]
    )
    assert again.exit_code == 0, again.output
    # 701 = 2 * 256 + 189: the partial tiles entries/002.p/189, 0/002.p/189 and 1/000.p/2
    assert '"written": 3' in again.output and '"tiles": 7' in again.output
    assert _tile_files(out) == files

    def fetch(wanted: set[TileId]) -> dict[TileId, bytes]:
        return {t: files[tile_path(t)] for t in wanted}

    store = SqlStore(sqlite_url)
    try:
        latest = store.latest_checkpoint()
        assert latest is not None
        assert files["checkpoint"] == latest.note.encode()
        assert root_from_tiles(701, fetch) == latest.root_hash
    finally:
        store.close()


def test_export_tiles_refuses_an_unwritable_directory(
    tmp_path: Path, sqlite_url: str, operator_key
) -> None:  # type: ignore[no-untyped-def]
    store = SqlStore(sqlite_url)
    initialized(store, operator_key)
    store.close()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(
        cli, ["log", "export-tiles", str(blocker / "sub"), "--database-url", sqlite_url]
    )
    assert result.exit_code == 2
    assert "cannot create" in result.output and "Traceback" not in result.output


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/log.db"
