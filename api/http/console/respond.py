"""What every console route module shares: the page's language, HTML answers with the
console's headers, bounded text fields, and audited work. (Routes import no other route:
api/http/routes/console.py and console_producer.py both use these.)"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Request
from fastapi.responses import HTMLResponse

from api.http.console import screens
from api.http.console.table import Caller, ConsoleRefusal
from api.http.pages.i18n import LANGUAGES, pick_language
from ledger.errors import InvalidInput, TracemarkError

__all__ = ["Json", "audited", "html", "lang", "text_field"]

_HTML_HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": screens.CONSOLE_CSP}
_LANG_COOKIE = "tm_lang"
#: A console action's JSON object body.
Json = Annotated[dict[str, Any], Body()]


def lang(request: Request) -> str:
    given = request.query_params.get("lang", "") or request.cookies.get(_LANG_COOKIE, "")
    return given if given in LANGUAGES else pick_language(request.headers.get("accept-language"))


def html(request: Request, body: str, status: int = 200) -> HTMLResponse:
    response = HTMLResponse(body, status_code=status, headers=_HTML_HEADERS)
    given = request.query_params.get("lang", "")
    if given in LANGUAGES:
        response.set_cookie(_LANG_COOKIE, given, samesite="strict", httponly=True, path="/")
    return response


def text_field(payload: dict[str, Any], name: str, limit: int, *, required: bool = True) -> str:
    value = payload.get(name, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise InvalidInput(f"{name} must be text of 1 to {limit} characters", code="invalid_field")
    return value.strip()


def audited(caller: Caller, action: str, target: str, work: Any) -> Any:
    """Run ``work()``; record the action and its outcome in the audit trail either way."""
    try:
        result = work()
    except (TracemarkError, ConsoleRefusal) as exc:
        caller.audit(action, target=target, outcome="refused", detail=getattr(exc, "code", ""))
        raise
    caller.audit(action, target=target)
    return result
