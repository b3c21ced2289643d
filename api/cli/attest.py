"""Compliance commands of ``tracemark``: attestations, documents and a session's readiness.

    tracemark attest identity shop-a --level substantial --until 2027-06-30 \\
        --record person.json --salt-file salt.bin --id kyc-991 --as ekyc.key
    tracemark attest qualification 08930001000017 --kind food_safety_test \\
        --document report.pdf --until 2027-01-01 --id fst-42 --as lab.key
    tracemark attest revoke fst-42 --reason "report withdrawn" --as lab.key
    tracemark docs put report.pdf            # prints its SHA-256
    tracemark docs get SHA256 --out copy.pdf
    tracemark docs check SHA256              # exit 3 when the stored bytes were altered
    tracemark session compliance live-1 --platform tiktok

An identity attestation carries only a salted commitment: ``--record`` (the verifier's JSON
identity record) and ``--salt-file`` (at least 16 random bytes) are read here, hashed
(``identity_commitment``) and never sent; or pass ``--commitment`` computed elsewhere. A
qualification names its document by SHA-256: ``--document`` is a file (hashed here; store it
with ``docs put``) or the hex hash itself. Keys sign locally (``--as``), as for every entry.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.exits import BAD_INPUT, VERIFICATION_FAILED, fail, handled
from api.cli.options import (
    ActorOpt,
    AsOpt,
    DbOpt,
    HomeOpt,
    JsonOpt,
    OutOpt,
    ServerOpt,
    parse_time,
)
from api.cli.output import emit, out
from api.cli.root import app
from api.cli.signing import signer
from ledger import errors
from ledger.ports.documents import DocumentStore, document_digest, parse_digest, prepare
from ledger.provenance.events.attestations import (
    IDENTITY_LEVELS,
    QUALIFICATION_KINDS,
    identity_commitment,
)
from ledger.provenance.events.names import (
    ATTEST_IDENTITY,
    ATTEST_QUALIFICATION,
    ATTEST_REVOKE,
)

__all__ = ["attest_app", "docs_app", "session_app"]

attest_app = typer.Typer(
    help="Attestations: a seller's verified identity, a product's documents, revocations.",
    no_args_is_help=True,
)
docs_app = typer.Typer(
    help="The content-addressed document store: put, get and check documents by SHA-256.",
    no_args_is_help=True,
)
session_app = typer.Typer(
    help="Stream sessions: is one ready to go live (compliance)?", no_args_is_help=True
)
app.add_typer(attest_app, name="attest")
app.add_typer(docs_app, name="docs")
app.add_typer(session_app, name="session")

IdOpt = Annotated[str, typer.Option("--id", help="Your id for this attestation (unique).")]
UntilOpt = Annotated[str, typer.Option("--until", help="Valid until (ISO 8601).")]
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".txt": "text/plain",
}


def _read(path: Path, what: str, limit: int = 1 << 20) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {what} {path}: {exc.strerror}", BAD_INPUT)
    if len(data) > limit:
        fail(f"{what} {path} is larger than {limit} bytes", BAD_INPUT)
    return data


@attest_app.command("identity")
def attest_identity(
    subject: Annotated[str, typer.Argument(help="The seller's actor id.")],
    level: Annotated[str, typer.Option(help=f"{' | '.join(IDENTITY_LEVELS)}.")],
    until: UntilOpt,
    attestation_id: IdOpt,
    verified_at: Annotated[
        str | None, typer.Option("--verified-at", help="When checked (ISO 8601; default now).")
    ] = None,
    record: Annotated[
        Path | None, typer.Option(help="The identity record (JSON); hashed here, never sent.")
    ] = None,
    salt_file: Annotated[
        Path | None, typer.Option("--salt-file", help="The record's salt (>= 16 random bytes).")
    ] = None,
    commitment: Annotated[
        str | None, typer.Option(help="The commitment, if computed elsewhere (hex SHA-256).")
    ] = None,
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Attest that a seller's identity was verified (identity verifiers only)."""
    with handled():
        if commitment is None:
            if record is None or salt_file is None:
                fail("give --record and --salt-file, or --commitment", BAD_INPUT)
            try:
                identity = json.loads(_read(record, "identity record"))
            except ValueError:
                fail(f"{record} is not JSON", BAD_INPUT)
            commitment = identity_commitment(_read(salt_file, "salt file", 1024), identity)
        s = signer(home, database_url, signing_key, actor, server, out_file)
        body = {
            "actor": s.actor,
            "attestation_id": attestation_id,
            "subject": subject,
            "level": level,
            "commitment": commitment,
            "verified_at": parse_time(verified_at),
            "valid_until": parse_time(until),
            "event_time": parse_time(None),
        }
        s.record(ATTEST_IDENTITY, body, json_out, f"identity attestation {attestation_id}")


def _document_hash(given: str) -> str:
    if _HEX64.match(given):
        return given
    path = Path(given)
    if not path.is_file():
        fail(f"--document {given!r} is neither a file nor a SHA-256 in hex", BAD_INPUT)
    return document_digest(_read(path, "document", 10 << 20))


@attest_app.command("qualification")
def attest_qualification(
    gtin: Annotated[str, typer.Argument(help="The GTIN-14 the document is about.")],
    kind: Annotated[str, typer.Option(help=f"{' | '.join(QUALIFICATION_KINDS)}.")],
    document: Annotated[str, typer.Option(help="The document file, or its SHA-256 (hex).")],
    until: UntilOpt,
    attestation_id: IdOpt,
    lot: Annotated[str | None, typer.Option(help="Only this lot of the GTIN.")] = None,
    valid_from: Annotated[
        str | None, typer.Option("--from", help="Valid from (ISO 8601; default now).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="A short title people read.")] = None,
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Attest a document about a GTIN or a lot (certifiers; producers for their own GTINs)."""
    with handled():
        body: dict[str, Any] = {
            "attestation_id": attestation_id,
            "kind": kind,
            "gtin": gtin,
            "document": _document_hash(document),
            "valid_from": parse_time(valid_from),
            "valid_until": parse_time(until),
            "event_time": parse_time(None),
        }
        if lot:
            body["lot"] = lot
        if title:
            body["title"] = title
        s = signer(home, database_url, signing_key, actor, server, out_file)
        body["actor"] = s.actor
        s.record(ATTEST_QUALIFICATION, body, json_out, f"qualification {attestation_id}")


@attest_app.command("revoke")
def attest_revoke(
    attestation_id: Annotated[str, typer.Argument(help="Your attestation's id.")],
    reason: Annotated[str | None, typer.Option(help="Why (shown with it).")] = None,
    signing_key: AsOpt = None,
    actor: ActorOpt = None,
    server: ServerOpt = None,
    out_file: OutOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Revoke one of your attestations (from now on)."""
    with handled():
        s = signer(home, database_url, signing_key, actor, server, out_file)
        body: dict[str, Any] = {
            "actor": s.actor,
            "attestation_id": attestation_id,
            "event_time": parse_time(None),
        }
        if reason:
            body["reason"] = reason
        s.record(ATTEST_REVOKE, body, json_out, f"revocation of {attestation_id}")


# --- documents --------------------------------------------------------------------------------


def _local_documents(home: Path, database_url: str | None) -> DocumentStore:
    from api.cli.context import context  # noqa: PLC0415
    from ledger.storage.documents import open_documents  # noqa: PLC0415 - loads the storage

    ctx = context(home, database_url, None)
    from api.settings import compliance_from_env  # noqa: PLC0415

    return open_documents(compliance_from_env()["document_store"], ctx.store())


def _remote(server: str, method: str, path: str, **kw: Any) -> Any:
    import httpx  # noqa: PLC0415 - only the --server mode needs it

    if not server.startswith(("http://", "https://")):
        raise errors.InvalidInput("--server must be an http:// or https:// URL")
    try:
        response = httpx.request(method, server.rstrip("/") + path, timeout=30, **kw)
    except httpx.HTTPError as exc:
        raise errors.StorageUnavailable(f"cannot reach {server}: {exc}") from None
    if response.status_code >= 400:
        try:
            problem = response.json()
            code, message = problem.get("code", "error"), problem.get("detail", "")
        except ValueError:
            code, message = "error", response.text[:200]
        kind: type[errors.TracemarkError] = errors.InvalidInput
        if response.status_code == 404:
            kind = errors.NotFound
        elif response.status_code == 422 and code == "document_tampered":
            kind = errors.VerificationError
        elif response.status_code >= 500:
            kind = errors.StorageUnavailable
        raise kind(f"{code}: {message or response.reason_phrase}", code=code)
    return response


@docs_app.command("put")
def docs_put(
    path: Annotated[Path, typer.Argument(help="The document file.")],
    content_type: Annotated[
        str | None, typer.Option("--type", help="Its content type (default: by extension).")
    ] = None,
    server: ServerOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Store a document; prints the SHA-256 that attestations name."""
    with handled():
        data = _read(path, "document", 10 << 20)
        kind = content_type or _TYPES.get(path.suffix.lower(), "")
        document = prepare(data, kind)
        if server:
            answer = _remote(
                server, "PUT", "/v1/documents", content=data, headers={"content-type": kind}
            ).json()
            stored = bool(answer["stored"])
        else:
            stored = _local_documents(home, database_url).put(document)
    result = {"sha256": document.sha256, "content_type": document.content_type, "stored": stored}
    emit(json_out, result, lambda: out.print(document.sha256))


@docs_app.command("get")
def docs_get(
    sha256: Annotated[str, typer.Argument(help="The document's SHA-256 (hex).")],
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Write it here (default: standard output).")
    ] = None,
    server: ServerOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
) -> None:
    """Fetch a document, its hash checked (exit 3 when the stored bytes were altered)."""
    with handled():
        parse_digest(sha256)
        if server:
            data = _remote(server, "GET", f"/v1/documents/{sha256}").content
            if document_digest(data) != sha256:  # the server's copy, checked here too
                raise errors.VerificationError(f"document {sha256} fails its hash check")
        else:
            data = _local_documents(home, database_url).get(sha256).data
    if out_path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        out_path.write_bytes(data)


@docs_app.command("check")
def docs_check(
    sha256: Annotated[str, typer.Argument(help="The document's SHA-256 (hex).")],
    server: ServerOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Is a document stored and intact? ok (exit 0), missing (exit 2), tampered (exit 3)."""
    with handled():
        parse_digest(sha256)
        if server:
            try:
                data = _remote(server, "GET", f"/v1/documents/{sha256}").content
                state = "ok" if document_digest(data) == sha256 else "tampered"
            except errors.NotFound:
                state = "missing"
            except errors.VerificationError:
                state = "tampered"
        else:
            state = _local_documents(home, database_url).check(sha256)
    emit(json_out, {"sha256": sha256, "state": state}, lambda: out.print(f"{sha256} {state}"))
    if state == "missing":
        fail(f"no document {sha256}", BAD_INPUT)
    if state == "tampered":
        fail(f"document {sha256} fails its hash check: the stored bytes were altered", 3)


# --- sessions ----------------------------------------------------------------------------------


@session_app.command("compliance")
def session_compliance(
    session_id: Annotated[str, typer.Argument(help="The session id its seller declared.")],
    platform: Annotated[str, typer.Option(help="The session's platform.")],
    at: Annotated[str | None, typer.Option(help="The time asked (ISO 8601; default now).")] = None,
    server: ServerOpt = None,
    home: HomeOpt = Path(".tracemark"),
    database_url: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Is the session ready to go live? Exit 0 compliant, 3 not (each problem listed)."""
    with handled():
        when = parse_time(at)
        if server:
            params = {"platform": platform, "at": str(when)}
            data = _remote(
                server, "GET", f"/v1/sessions/{session_id}/compliance", params=params
            ).json()
        else:
            from api.cli.context import context  # noqa: PLC0415
            from api.settings import compliance_from_env  # noqa: PLC0415
            from ledger.storage.documents import open_documents  # noqa: PLC0415
            from ledger.usecases.compliance import check_session  # noqa: PLC0415

            settings = compliance_from_env()
            store = context(home, database_url, None).store()
            documents = open_documents(settings["document_store"], store)
            found = check_session(
                store,
                platform,
                session_id,
                when,
                policy=settings["compliance"],
                documents=documents,
            )
            data = found.to_obj()

    def human() -> None:
        verdict = "[green]compliant[/]" if data["compliant"] else "[red]not compliant[/]"
        out.print(f"session {platform}:{session_id} of {data['seller']}: {verdict}")
        for problem in data["problems"]:
            where = f" ({problem['listing_id']})" if problem.get("listing_id") else ""
            out.print(f"  {problem['code']}{where}: {problem['message']}", markup=False)

    emit(json_out, data, human)
    if not data["compliant"]:
        raise typer.Exit(VERIFICATION_FAILED)
