"""The OpenAPI schema as a client generator reads it (api/http/apidocs.py, docs/decisions.md 30):
pinned operation ids, clean schema names, the ``ApiKey`` security scheme where the key is read,
every query parameter the resolver reads declared, and examples that are valid requests and
answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from api.http.apidocs import API_KEY_SCHEME, LINK_TYPE_QUERY, refine_openapi
from api.http.routes import ledger, log, platform, verify
from tests.api.test_schema import APP

SCHEMA: dict[str, Any] = APP.openapi()

#: Every operation's id. Generated clients name their methods after these: a rename breaks
#: every platform's code, so it must be deliberate (change this table in the same commit).
OPERATION_IDS = {
    ("POST", "/witness/add-checkpoint"): "witnessAddCheckpoint",
    ("GET", "/01/{gtin}"): "resolveProduct",
    ("GET", "/01/{gtin}/10/{lot}"): "resolveLot",
    ("GET", "/01/{gtin}/10/{lot}/21/{serial}"): "resolveWithLot",
    ("GET", "/01/{gtin}/21/{serial}"): "resolve",
    ("GET", "/checkpoint"): "getTlogCheckpoint",
    ("GET", "/healthz"): "getHealth",
    ("GET", "/l/{platform}/{listing_id}"): "getListingPage",
    ("GET", "/s/{code}"): "openShortCode",
    ("GET", "/metrics"): "getMetrics",
    ("GET", "/overlay/{platform}/{listing_id}"): "getOverlayPage",
    ("GET", "/scan"): "getScanPage",
    ("GET", "/overlay/{platform}/{listing_id}/events"): "getOverlayEvents",
    ("GET", "/v1/actors/{actor_id}"): "getActor",
    ("POST", "/v1/entries"): "submitEntries",
    ("GET", "/v1/items/{gtin}/{serial}"): "getItem",
    ("GET", "/v1/items/{gtin}/{serial}/bundle"): "getItemBundle",
    ("GET", "/v1/keys/{key_id}"): "getKey",
    ("POST", "/v1/listings/verify"): "verifyListings",
    ("GET", "/v1/reports/regulator"): "getRegulatorReport",
    ("GET", "/v1/listings/{platform}/{listing_id}"): "getListing",
    ("GET", "/tile/{path}"): "getTile",
    ("GET", "/v1/log/checkpoint"): "getCheckpoint",
    ("GET", "/v1/log/entries"): "getLogEntries",
    ("GET", "/v1/log/proof/consistency"): "getConsistencyProof",
    ("GET", "/v1/log/proof/inclusion"): "getInclusionProof",
    ("POST", "/v1/log/witness/cosignature"): "addCosignature",
    ("GET", "/v1/overlay/{platform}/{listing_id}"): "getOverlayStatus",
    ("GET", "/v1/ping"): "ping",
    ("POST", "/v1/reports"): "createReport",
    ("POST", "/v1/scan"): "scanImage",
    ("GET", "/v1/trust"): "getTrustBundle",
    ("POST", "/v1/verify"): "verifyCode",
    ("POST", "/v1/verify/batch"): "verifyBatch",
    ("GET", "/v1/webhooks"): "listWebhooks",
    ("POST", "/v1/webhooks"): "createWebhook",
    ("DELETE", "/v1/webhooks/{webhook_id}"): "deleteWebhook",
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): "listDeliveries",
    ("PUT", "/v1/documents"): "putDocument",
    ("POST", "/v1/documents"): "postDocument",
    ("GET", "/v1/documents/{sha256}"): "getDocument",
    ("GET", "/v1/sessions/{session_id}/compliance"): "getSessionCompliance",
}
#: The operations that read ``X-API-Key``: required by the platform API, optional where an
#: anonymous caller is served too (the key then vouches for the context).
KEY_REQUIRED = {
    "verifyListings",
    "getRegulatorReport",
    "listWebhooks",
    "createWebhook",
    "deleteWebhook",
    "listDeliveries",
}
KEY_OPTIONAL = {
    "verifyCode",
    "verifyBatch",
    "scanImage",
    "resolve",
    "resolveWithLot",
    "createReport",
    "getSessionCompliance",
}


def operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }


def test_operation_ids_are_the_pinned_ones() -> None:
    found = {where: op["operationId"] for where, op in operations(SCHEMA).items()}
    assert found == OPERATION_IDS


def test_operation_ids_are_unique_camel_case_names() -> None:
    ids = [op["operationId"] for op in operations(SCHEMA).values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z0-9]*)*", i) for i in ids), ids


def test_a_second_method_of_one_route_gets_its_own_id() -> None:
    """A route answering GET and HEAD is one endpoint to FastAPI, two operations here."""
    schema = {
        "paths": {
            "/01/{gtin}": {
                "get": {"operationId": "resolveProduct", "tags": ["resolver"]},
                "head": {"operationId": "resolveProduct", "tags": ["resolver"]},
            },
            "/a": {"post": {"operationId": "same"}},
            "/b": {"post": {"operationId": "same"}},
        }
    }
    refine_openapi(schema)
    paths = schema["paths"]
    assert paths["/01/{gtin}"]["get"]["operationId"] == "resolveProduct"
    assert paths["/01/{gtin}"]["head"]["operationId"] == "headResolveProduct"
    assert [paths[p]["post"]["operationId"] for p in ("/a", "/b")] == ["same", "postSame"]
    # A product URL reads the link type only; an item URL its context and the key too.
    declared = {p["name"] for p in paths["/01/{gtin}"]["head"]["parameters"]}
    assert declared == {p["name"] for p in LINK_TYPE_QUERY}
    assert "security" not in paths["/01/{gtin}"]["get"]


def test_schema_names_are_plain_class_names() -> None:
    names = list(SCHEMA["components"]["schemas"])
    assert not [n for n in names if "__" in n]  # no api__routes__ledger__EntriesResponse
    assert all(re.fullmatch(r"[A-Z][A-Za-z0-9]*", n) for n in names), names
    assert {"SubmitEntriesResponse", "LogEntriesResponse"} <= set(names)


def test_the_api_key_scheme_covers_the_operations_that_read_the_key() -> None:
    scheme = SCHEMA["components"]["securitySchemes"][API_KEY_SCHEME]
    assert scheme == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": scheme["description"],
    }
    by_id = {op["operationId"]: op for op in operations(SCHEMA).values()}
    for name, op in by_id.items():
        security = op.get("security")
        if name in KEY_REQUIRED:
            assert security == [{API_KEY_SCHEME: []}], name
        elif name in KEY_OPTIONAL:
            assert security == [{}, {API_KEY_SCHEME: []}], name
            assert "403" in op["responses"], name  # platform_mismatch
        else:
            assert security is None, name
        if security:
            assert "401" in op["responses"], name
            problem = op["responses"]["401"]["content"]["application/problem+json"]
            assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "403" in by_id["verifyListings"]["responses"]  # a listing of another platform


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, "api_key_required"), ({"X-API-Key": "tmk_nope"}, "api_key_invalid")],
)
def test_the_scheme_changes_no_answer(headers: dict[str, str], code: str) -> None:
    """The header is declared with ``auto_error=False``: the platform routes' own check still
    answers, with its codes and ``WWW-Authenticate``, as before."""
    client = TestClient(APP)
    body = {
        "listings": [{"seller": "s", "platform": "tiktok", "listing_id": "1", "gtin": "1" * 14}]
    }
    answer = client.post("/v1/listings/verify", json=body, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["code"] == code
    assert answer.headers["www-authenticate"] == "ApiKey"
    anonymous = client.post("/v1/verify", json={"code": "x"}, headers=headers)
    assert anonymous.status_code == (401 if headers else 200)


def test_every_query_parameter_the_resolver_reads_is_declared() -> None:
    read = {name for name, _ in verify._QUERY_FIELDS} | {"17", "8030", "linkType"}
    for where in [("GET", "/01/{gtin}/21/{serial}"), ("GET", "/01/{gtin}/10/{lot}/21/{serial}")]:
        parameters = operations(SCHEMA)[where]["parameters"]
        query = {p["name"] for p in parameters if p["in"] == "query"}
        assert query == read, where
        assert all(p.get("description") for p in parameters if p["in"] == "query")


def test_every_query_parameter_has_a_schema_and_a_description() -> None:
    for where, op in operations(SCHEMA).items():
        for parameter in op.get("parameters", ()):
            assert parameter.get("schema"), (where, parameter["name"])
            if parameter["in"] == "query":
                assert parameter.get("description"), (where, parameter["name"])


@pytest.mark.parametrize(
    ("model", "operation", "kind"),
    [
        (verify.VerifyRequest, "verifyCode", "request"),
        (verify.VerifyResponse, "verifyCode", "response"),
        (verify.BatchRequest, "verifyBatch", "request"),
        (verify.BatchResponse, "verifyBatch", "response"),
        (platform.ListingsRequest, "verifyListings", "request"),
        (platform.ListingsResponse, "verifyListings", "response"),
        (ledger.EntriesRequest, "submitEntries", "request"),
        (ledger.SubmitEntriesResponse, "submitEntries", "response"),
        (log.LogEntriesResponse, "getLogEntries", "response"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
def test_the_main_bodies_have_valid_examples(
    model: type[BaseModel], operation: str, kind: str
) -> None:
    by_id = {op["operationId"]: op for op in operations(SCHEMA).values()}
    op = by_id[operation]
    media = (
        op["requestBody"]["content"]["application/json"]
        if kind == "request"
        else op["responses"]["200"]["content"]["application/json"]
    )
    ref = media["schema"]["$ref"].rsplit("/", 1)[-1]
    assert ref == model.__name__
    examples = SCHEMA["components"]["schemas"][ref]["examples"]
    assert examples
    for example in examples:
        model.model_validate(example)  # an example the server would accept / could answer


def test_a_verify_example_is_answered_as_documented() -> None:
    body = verify.VerifyRequest.model_json_schema()["examples"][0]
    answer = TestClient(APP).post("/v1/verify", json=body)
    assert answer.status_code == 200
    verify.VerifyResponse.model_validate(answer.json())
