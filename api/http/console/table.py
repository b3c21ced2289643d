"""The console's route table and the guard every console route runs.

One table (``ROUTES``) lists every console route with the roles it admits; routes are
added only through ``console_route``, which registers the FastAPI route *and* its row, and
puts the guard in front of it. The guard, in order:

1. **Origin** (state-changing requests): a POST must carry an ``Origin`` equal to the
   console's origin (``TRACEMARK_PUBLIC_URL``): 403 ``origin_refused``.
2. **Session**: for a route with roles, the session cookie must name a live session
   (idle and absolute expiry): 401 ``signin_required`` (a browser asking for a screen is
   sent to the sign-in page instead).
3. **Role**: the account's role must be one the route admits: 403 ``wrong_role``.
   Accounts still waiting for the operator (``pending``) reach only routes marked
   ``pending=True`` (their key screen): 403 ``not_approved``.
4. **CSRF** (state-changing requests with a session): ``X-CSRF-Token`` must equal the
   session's synchronizer token (constant-time): 403 ``csrf_failed``.

Actor binding is the route's job, with the ``Caller`` it is given: a route acts only for
``caller.account.actor_id`` and never takes an actor from the request.

To add a screen: write its renderer in screens.py and register it with
``@console_route(router, "name", "GET", "/console/...", roles=(...), kind="screen")`` over
a function that takes ``caller: Caller`` (keyword-only, after the path parameters).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request

from api.accounts import ROLES, Accounts
from api.http.deps import state_of
from api.http.errors import PlatformError
from api.http.state import ConsoleState
from ledger.ports.console import Account, Session
from ledger.usecases.service import now_ms

__all__ = [
    "ANY_ROLE",
    "COOKIE",
    "ROUTES",
    "Caller",
    "ConsoleRefusal",
    "ConsoleRoute",
    "console_of",
    "console_route",
    "cookie_name",
]

ANY_ROLE = tuple(ROLES)
COOKIE = "tm_console"
CSRF_HEADER = "x-csrf-token"


class ConsoleRefusal(PlatformError):
    """A console refusal (401, 403, 429): an RFC 9457 problem with its ``code``."""


@dataclass(frozen=True, slots=True)
class ConsoleRoute:
    name: str
    method: str
    path: str
    roles: tuple[str, ...]  # () = public (sign-in, invite pages, static files)
    kind: str  # screen | action | data | static
    pending: bool = False  # reachable while the account waits for approval


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls a console route: the session, its account, and the accounts service."""

    session: Session | None
    account: Account | None
    accounts: Accounts
    console: ConsoleState

    @property
    def me(self) -> Account:
        """The signed-in account (routes with roles always have one)."""
        if self.account is None:
            raise ConsoleRefusal(401, "signin_required", "sign in to the console first")
        return self.account

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session is not None else ""

    def audit(self, action: str, **fields: Any) -> None:
        self.accounts.audit(self.account, action, now=now_ms(), **fields)


ROUTES: list[ConsoleRoute] = []


def console_of(request: Request) -> ConsoleState:
    console = state_of(request).console
    if console is None:  # build_state always makes one
        raise ConsoleRefusal(503, "console_unavailable", "the console is not configured")
    return console


def cookie_name(console: ConsoleState) -> str:
    """``__Host-`` (Secure, path /, no Domain) where the console is https or localhost."""
    return f"__Host-{COOKIE}" if secure_origin(console.origin) else COOKIE


def secure_origin(origin: str) -> bool:
    return origin.startswith(("https://", "http://localhost:")) or origin == "http://localhost"


def _guard(route: ConsoleRoute) -> Callable[[Request], Caller]:
    def guard(request: Request) -> Caller:
        console = console_of(request)
        accounts = console.accounts
        changing = request.method not in ("GET", "HEAD")
        if changing and request.headers.get("origin") != console.origin:
            accounts.audit(
                None, f"refused:{route.name}", now=now_ms(), outcome="refused", detail="origin"
            )
            raise ConsoleRefusal(
                403, "origin_refused", "a console request must come from the console's origin"
            )
        if not route.roles:
            return Caller(None, None, accounts, console)
        token = request.cookies.get(cookie_name(console), "")
        found = accounts.current(token, now=now_ms())
        if found is None:
            if route.kind == "screen" and "text/html" in request.headers.get("accept", ""):
                raise ConsoleRefusal(
                    303, "signin_required", "sign in first", {"Location": "/console/signin"}
                )
            raise ConsoleRefusal(401, "signin_required", "sign in to the console first")
        session, account = found
        if account.role not in route.roles:
            accounts.audit(
                account,
                f"refused:{route.name}",
                now=now_ms(),
                outcome="refused",
                detail="wrong_role",
            )
            raise ConsoleRefusal(
                403,
                "wrong_role",
                f"{route.name} is for {' or '.join(route.roles)}, not {account.role}",
            )
        if account.status != "active" and not route.pending:
            raise ConsoleRefusal(
                403, "not_approved", "the operator has not approved this account yet"
            )
        if changing and not accounts.csrf_ok(session, request.headers.get(CSRF_HEADER, "")):
            accounts.audit(
                account, f"refused:{route.name}", now=now_ms(), outcome="refused", detail="csrf"
            )
            raise ConsoleRefusal(403, "csrf_failed", "the CSRF token is missing or wrong")
        return Caller(session, account, accounts, console)

    return guard


def console_route(
    router: APIRouter,
    name: str,
    method: str,
    path: str,
    *,
    roles: tuple[str, ...],
    kind: str,
    pending: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a console route: its table row, its guard (``caller: Caller`` parameter is
    filled in with the guard), and the FastAPI route (left out of the OpenAPI schema)."""
    row = ConsoleRoute(name, method, path, roles, kind, pending)
    if any(r.name == name for r in ROUTES):
        raise ValueError(f"console route {name} is registered twice")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"console route {name} names unknown roles {sorted(unknown)}")
    ROUTES.append(row)

    def register(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(endpoint)
        if "caller" not in signature.parameters:
            raise ValueError(f"console route {name} must take a 'caller' parameter")
        params = [
            p.replace(default=Depends(_guard(row))) if p.name == "caller" else p
            for p in signature.parameters.values()
        ]
        endpoint.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            name=f"console.{name}",
            include_in_schema=False,
        )
        return endpoint

    return register
