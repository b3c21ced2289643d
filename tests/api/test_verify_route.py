"""POST /v1/verify reads its body in one step (api/http/jsonroute.py): every malformed request
still gets the 422 ``invalid_request`` FastAPI's own handling gave, with a message that
says what is wrong, and the OpenAPI document still describes the body."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b"not json", JSON, "Invalid JSON"),
        (b"", JSON, "Invalid JSON"),
        (b"\xff\xfe{", JSON, "Invalid JSON"),
        (b"{}", JSON, "code: Field required"),
        (b'{"code": 5}', JSON, "code: Input should be a valid string"),
        (b"[1]", JSON, "Input should be an object"),
        (b'{"code": ""}', JSON, "code: String should have at least 1 character"),
        (b'{"code": "x", "context": null}', JSON, "context: Input should be an object"),
        (
            b'{"code": "x", "context": {"platform": "BAD!"}}',
            JSON,
            "context.platform: String should match pattern",
        ),
        (b'{"code": "x"}', {"content-type": "text/plain"}, "Content-Type: application/json"),
        (b'{"code": "x"}', {}, "Content-Type: application/json"),
    ],
    ids=[
        "not-json",
        "empty",
        "not-utf8",
        "no-code",
        "code-not-string",
        "not-an-object",
        "empty-code",
        "null-context",
        "bad-platform",
        "text-plain",
        "no-content-type",
    ],
)
def test_malformed_bodies_are_422_with_a_message(
    memory_api: Api, body: bytes, headers: dict[str, str], message: str
) -> None:
    response = memory_api.client.post("/v1/verify", content=body, headers=headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert message in error["message"]


def test_a_long_code_is_refused_and_a_json_content_type_with_charset_is_taken(
    memory_api: Api,
) -> None:
    client = memory_api.client
    too_long = client.post("/v1/verify", json={"code": "x" * 1025})
    assert too_long.status_code == 422
    assert "code: String should have at most 1024 characters" in too_long.json()["error"]["message"]
    answered = client.post(
        "/v1/verify",
        content=b'{"code": "https://vt.example.test/01/1"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert answered.status_code == 200
    assert answered.json()["status"] == "invalid"  # unreadable, never "fake"
    vendor = client.post(
        "/v1/verify", content=b'{"code": "x"}', headers={"content-type": "application/ld+json"}
    )
    assert vendor.status_code == 200


def test_the_openapi_document_still_describes_the_verify_body(memory_api: Api) -> None:
    spec = memory_api.client.get("/openapi.json").json()
    operation = spec["paths"]["/v1/verify"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/VerifyRequest"}
    assert set(spec["components"]["schemas"]["VerifyRequest"]["properties"]) == {"code", "context"}
    assert {"200", "400", "422", "429"} <= set(operation["responses"])
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/VerifyResponse"}
    assert spec["paths"]["/v1/verify"].keys() == {"post"}


def test_a_utf8_byte_order_mark_is_ignored(memory_api: Api) -> None:
    body = b'\xef\xbb\xbf{"code": "https://vt.example.test/01/1"}'
    response = memory_api.client.post("/v1/verify", content=body, headers=JSON)
    assert response.status_code == 200
    assert response.json()["status"] == "invalid"
