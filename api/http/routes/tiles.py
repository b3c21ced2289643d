"""Routes: the log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles), for any verifier,
monitor or witness that speaks it, and for a CDN to serve.

    GET /checkpoint          the latest checkpoint with the cosignatures kept for its size
                             (text/plain; cacheable for 5 seconds)
    GET /tile/<L>/<N>[.p/W]  256 (or W) hashes of tile level L; immutable
    GET /tile/entries/<N>[.p/W]  the entries (leaves) of level-0 tile N, uint16-prefixed;
                             immutable

Tiles are cut from the stored nodes up to the latest stored checkpoint's size
(``ledger/usecases/tiles.py``), so what /checkpoint says, the tiles prove. A tile's bytes
never change once its width exists, so every answer but /checkpoint may be cached forever;
``tracemark log export-tiles DIR`` writes the same files for an object store or CDN
(docs/operations.md, "Serving the log as tiles").
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from api.http.checkpoints import fresh_checkpoint
from api.http.deps import StateDep
from api.http.errors import ERRORS
from ledger.log.note import parse_note
from ledger.log.tiles import parse_tile_path
from ledger.usecases.tiles import read_tile

__all__ = ["IMMUTABLE", "router"]

IMMUTABLE = "public, max-age=31536000, immutable"
_CHECKPOINT_CACHE = "public, max-age=5"

router = APIRouter(tags=["tiles"], responses=ERRORS)


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    operation_id="getTlogCheckpoint",
)
def tlog_checkpoint(state: StateDep) -> Response:
    """The latest checkpoint (C2SP tlog-tiles), with the witnesses' cosignatures kept for
    its tree size."""
    latest = fresh_checkpoint(state.service, state.checkpoints)
    note = latest.note
    cosigned = state.service.store.witnesses.cosigned(latest.tree_size)
    if cosigned is not None:
        lines = [s.line for s in parse_note(cosigned).signatures]
        known = {s.line for s in parse_note(note).signatures}
        note += "".join(line for line in lines if line not in known)
    return Response(
        note.encode("utf-8"),
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": _CHECKPOINT_CACHE},
    )


@router.get(
    "/tile/{path:path}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string"}}}}},
    operation_id="getTile",
)
def tile(path: str, state: StateDep) -> Response:
    """A tile of hashes or an entry bundle (C2SP tlog-tiles), at the latest checkpoint."""
    wanted = parse_tile_path("tile/" + path)
    size = state.service.store.checkpoint_size()
    data = read_tile(state.service.store, wanted, size)
    return Response(
        data, media_type="application/octet-stream", headers={"Cache-Control": IMMUTABLE}
    )
