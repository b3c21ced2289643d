"""A standard generator makes a working client from the served OpenAPI (issue 16, "Done means").

openapi-python-client (pinned in requirements-codegen.lock, installed by scripts/bootstrap.sh
in .venv/tools/codegen: nothing is downloaded here) generates a package from ``/openapi.json``
as the app serves it. The generator must report nothing but the two known gaps below; the
package must compile and import in the project's Python, name its functions after the pinned
operation ids, and talk to the app: a verify answered as a typed ``VerifyResponse``, a wrong
API key (sent the way the docs tell platforms to) as a typed ``Problem``.
"""

from __future__ import annotations

import asyncio
import compileall
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from ledger.ports.documents import CONTENT_TYPES
from tests.api.test_openapi import OPERATION_IDS
from tests.api.test_schema import APP

REPO = Path(__file__).resolve().parents[2]
CODEGEN = REPO / ".venv" / "tools" / "codegen" / "bin"
PACKAGE = "tracemark_openapi"  # not tracemark_client: that is clients/python, installed
#: What openapi-python-client 0.29 cannot express, and so reports: an image sent as the raw
#: body (only application/octet-stream is generated for /v1/scan) and a text/plain body (the
#: witness cosignature, for witnesses, not platforms, so not generated).
KNOWN_GAPS = {
    ("POST /v1/scan", "Unsupported content type image/png"),
    ("POST /v1/scan", "Unsupported content type image/jpeg"),
    ("POST /v1/log/witness/cosignature", "Unsupported content type text/plain"),
    # Documents are raw bodies of their own type (api/http/routes/compliance.py).
    *(
        (f"{method} /v1/documents", f"Unsupported content type {kind}")
        for method in ("PUT", "POST")
        for kind in CONTENT_TYPES
        if kind != "application/octet-stream"
    ),
}


def _generator() -> Path:
    tool = CODEGEN / "openapi-python-client"
    if not tool.exists():
        reason = f"{tool} is missing: run `make setup` (scripts/bootstrap.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return tool


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    tool = _generator()
    where = tmp_path_factory.mktemp("client")
    served = TestClient(APP).get("/openapi.json")
    assert served.status_code == 200
    (where / "openapi.json").write_text(json.dumps(served.json()))
    env = {**os.environ, "PATH": f"{CODEGEN}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [str(tool), "generate", "--path", "openapi.json", "--meta", "none"]
    run = subprocess.run(
        [*command, "--output-path", PACKAGE],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(where))
    try:
        yield where, run.stdout + run.stderr
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]
        shutil.rmtree(where, ignore_errors=True)


def _warnings(output: str) -> set[tuple[str, str]]:
    """(operation, message) of each warning the generator printed."""
    found = re.findall(r"WARNING parsing (\S+ \S+) within \S+\.[^\n]*\n+([^\n]+)", output)
    return {(where, message.strip()) for where, message in found}


def test_the_generator_reports_only_the_known_gaps(generated: tuple[Path, str]) -> None:
    _, output = generated
    assert "Unable to parse" not in output, output  # e.g. two schemas of one name
    assert "Cannot parse response" not in output, output
    assert _warnings(output) == KNOWN_GAPS, output


def test_the_client_compiles_and_imports(generated: tuple[Path, str]) -> None:
    where, _ = generated
    assert compileall.compile_dir(where / PACKAGE, quiet=1)
    client = importlib.import_module(PACKAGE)
    assert hasattr(client, "Client") and hasattr(client, "AuthenticatedClient")
    models = importlib.import_module(f"{PACKAGE}.models")
    for name in ("VerifyRequest", "VerifyResponse", "ListingsRequest", "Problem"):
        assert hasattr(models, name), name


def test_the_functions_are_named_after_the_operation_ids(generated: tuple[Path, str]) -> None:
    where, _ = generated
    modules = {p.stem for p in (where / PACKAGE / "api").glob("*/*.py") if p.stem != "__init__"}
    expected = {_snake(i) for i in OPERATION_IDS.values()} - {"add_cosignature"}
    assert modules == expected


def test_the_client_talks_to_the_app(generated: tuple[Path, str]) -> None:
    client = importlib.import_module(PACKAGE)
    models = importlib.import_module(f"{PACKAGE}.models")
    verify_code = _api("verify.verify_code")
    verify_listings = _api("platform.verify_listings")
    transport: dict[str, Any] = {"transport": httpx.ASGITransport(app=APP)}
    base = "http://testserver"

    async def calls() -> tuple[Any, Any]:
        anonymous = client.Client(base_url=base, httpx_args=transport)
        body = models.VerifyRequest(
            code="https://vt.example.vn/01/08930001000018/21/A1?8030=short",
            context=models.Context(platform="tiktok"),
        )
        verdict = await verify_code.asyncio_detailed(client=anonymous, body=body)
        keyed = client.AuthenticatedClient(
            base_url=base,
            token="tmk_wrong",
            prefix="",
            auth_header_name="X-API-Key",
            httpx_args=transport,
        )
        listing = models.ListingIn(
            seller="tiktok:@shopa", platform="tiktok", listing_id="1", gtin="08930001000018"
        )
        refused = await verify_listings.asyncio_detailed(
            client=keyed, body=models.ListingsRequest(listings=[listing])
        )
        return verdict, refused

    verdict, refused = asyncio.run(calls())
    assert verdict.status_code == 200
    assert isinstance(verdict.parsed, models.VerifyResponse)
    assert str(verdict.parsed.status) == "invalid"
    assert refused.status_code == 401
    assert isinstance(refused.parsed, models.Problem)
    assert refused.parsed.code == "api_key_invalid"


def _api(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
