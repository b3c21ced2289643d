"""One error form on every route: RFC 9457 problems (``application/problem+json``).

Every operation of the OpenAPI schema that takes a JSON body gets bytes that are not JSON,
in several forms, and must answer one status, one content type and one code; every error
answer the schema documents names the ``Problem`` schema; the old ``{"error": {"code",
"message"}}`` member stays for the clients that read it (api/submit.py, samples/client.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http.app import create_app
from ledger.keys import PrivateKey
from ledger.ports.platform import new_api_key
from ledger.storage.memory.log import MemoryStore
from tests.api.conftest import settings
from tests.conftest import initialized
from tests.supply import T0, key_for

JSON = {"Content-Type": "application/json"}
OPERATOR = PrivateKey.from_seed(b"errors-TEST-ONLY-operator-seed-1")  # TEST ONLY

#: Bodies that are not JSON, named after what is wrong with them.
NOT_JSON = {
    "syntax": b"{not json",
    "truncated": b'{"code": "https://x',
    "trailing-garbage": b'{"code": "x"} x',
    "not-utf8": b'{"code": "\xff\xfe"}',
    "nested-too-deep": b"[" * 5_000 + b"]" * 5_000,
    "single-quotes": b"{'code': 'x'}",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    service = initialized(MemoryStore(), OPERATOR, now=T0 - 10_000)
    service.log_key = OPERATOR
    yield create_app(settings(tmp_path_factory.mktemp("errors")), service=service)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


@pytest.fixture(scope="module")
def api_key(app: FastAPI, client: TestClient) -> str:
    record, token = new_api_key("tiktok", "", secret=b"\x07" * 32, now=T0, rate_limit=100_000)
    app.state.tracemark.platform.store.add_key(record)
    return token


def json_operations(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every operation whose request body is JSON."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                found.append((method.upper(), path))
    return sorted(found)


def concrete(path: str) -> str:
    """A path of the template with each parameter filled in."""
    return path.replace("{webhook_id}", "1").replace("{", "").replace("}", "")


def test_the_schema_lists_the_json_routes(app: FastAPI) -> None:
    operations = json_operations(app)
    for expected in ("/v1/verify", "/v1/verify/batch", "/v1/entries", "/v1/listings/verify"):
        assert ("POST", expected) in operations, operations


@pytest.mark.parametrize("kind", sorted(NOT_JSON))
def test_a_body_that_is_not_json_gets_one_answer_on_every_json_route(
    app: FastAPI, client: TestClient, api_key: str, kind: str
) -> None:
    answers: dict[tuple[int, str, str], list[str]] = {}
    for method, path in json_operations(app):
        response = client.request(
            method,
            concrete(path),
            content=NOT_JSON[kind],
            headers={"Content-Type": "application/json", "X-API-Key": api_key},
        )
        key = (response.status_code, response.headers["content-type"], response.json()["code"])
        answers.setdefault(key, []).append(f"{method} {path}")
    assert list(answers) == [(422, "application/problem+json", "invalid_request")], answers
    assert all(
        "Invalid JSON" in client.post(p, content=NOT_JSON[kind], headers=JSON).json()["detail"]
        for p in ("/v1/verify", "/v1/entries")
    )


def test_an_error_is_a_problem_with_the_old_member(client: TestClient) -> None:
    response = client.get("/v1/keys/" + key_for("nobody").key_id)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": body["detail"],
        "code": body["code"],
        "error": {"code": body["code"], "message": body["detail"]},
    }
    assert body["code"] == "unknown_key"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/no/such/route", 404, "not_found"),
        ("DELETE", "/v1/verify", 405, "method_not_allowed"),
        ("POST", "/v1/verify", 422, "invalid_request"),  # no body
        ("POST", "/v1/listings/verify", 401, "api_key_required"),
    ],
)
def test_framework_and_platform_errors_are_problems_too(
    client: TestClient, method: str, path: str, status: int, code: str
) -> None:
    response = client.request(method, path, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert response.json()["status"] == status


def test_every_documented_error_is_a_problem(app: FastAPI) -> None:
    schema = app.openapi()
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code", "error"}
    wrong: list[str] = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses: dict[str, Any] = operation["responses"]
            if "429" not in responses:
                wrong.append(f"{method} {path}: 429 not documented")
            for status, answer in responses.items():
                if not (status.isdigit() and int(status) >= 400):
                    continue
                content = answer.get("content", {})
                ref = content.get("application/problem+json", {}).get("schema", {}).get("$ref")
                if ref != "#/components/schemas/Problem" or "application/json" in content:
                    wrong.append(f"{method} {path} {status}: {sorted(content)}")
    assert not wrong, wrong


def test_schema_components_name_no_other_error_form(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ErrorResponse" not in schemas


def test_the_docs_describe_the_problem_form() -> None:
    text = (Path(__file__).parents[2] / "docs" / "api.md").read_text()
    assert "application/problem+json" in text
    assert "not JSON" in text
