"""``JsonBodyRoute``: a FastAPI route that reads its JSON body in one step.

FastAPI derives a route's OpenAPI schema, its docs and its request handling from the
endpoint's signature. The handling is general: it solves the dependency graph, reads the
body, decodes the JSON, validates the result field by field and then calls the endpoint.
For ``POST /v1/verify``, the hot path of the service, that machinery cost about as much as
the verify itself (bench/README.md, service). This route keeps what FastAPI derives for the
schema and the docs, and handles a request with the body model's own compiled validator,
straight from the bytes (``model_validate_json``), then calls ``endpoint(body, request)``.

The endpoint must take exactly ``(body: SomeModel, request: Request)``. Errors are the ones
FastAPI raises (``RequestValidationError``, answered 422 ``invalid_request`` by the app),
with the same ``loc`` (``body``, then the field), so clients see no difference: bytes that
are not JSON are ``json_invalid`` (422 ``invalid_request`` "Invalid JSON: ...", as on every
JSON route); a body sent without a JSON content type is refused as FastAPI refuses it.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["JsonBodyRoute"]

_JSON_TYPES = ("application/json",)
_BOM = b"\xef\xbb\xbf"


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind in _JSON_TYPES or (kind.startswith("application/") and kind.endswith("+json"))


def _body_model(endpoint: Callable[..., Any]) -> type[BaseModel]:
    hints = typing.get_type_hints(endpoint)
    model = hints.get("body")
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"{endpoint.__name__}: JsonBodyRoute needs a 'body: <BaseModel>' parameter")
    return model


class JsonBodyRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint
        model = _body_model(endpoint)

        async def handle(request: Request) -> Response:
            if not _is_json(request.headers.get("content-type", "")):
                raise RequestValidationError(
                    [
                        {
                            "type": "model_attributes_type",
                            "loc": ("body",),
                            "msg": "send the body as JSON (Content-Type: application/json)",
                            "input": None,
                        }
                    ]
                )
            raw = await request.body()
            if raw.startswith(_BOM):  # RFC 8259 lets a parser ignore one; clients send it
                raw = raw[len(_BOM) :]
            try:
                body = model.model_validate_json(raw)
            except ValidationError as exc:
                raise RequestValidationError(
                    [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
                ) from None
            response: Response = await endpoint(body, request)
            return response

        return handle
