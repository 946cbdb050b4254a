"""The OpenAPI document declares every status each operation can answer, with its body.

Clients are generated from /openapi.json, so an answer it does not declare breaks them. The
statuses are not typed route by route: each dependency and each endpoint that can refuse a
request says so once with `@answers(...)` (the bearer check: 401; a role check: 403; loading
what a path names: 404; a throttled look-up: 429; an action the engine or the record may
refuse: 409; what reaches the database or Temporal: 503), and `install` collects them over each
route's dependency tree when the document is built. Any route taking input can answer 422.
Every error status is described by `ErrorBody`; 429 and 503 carry `Retry-After`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from api.schemas import ErrorBody

F = TypeVar("F", bound=Callable[..., Any])

# What each status means to a client (English, as the rest of the reference; the message in
# the body is Chinese and can be shown to people).
MEANINGS = {
    401: "Not signed in: the bearer token is missing, unknown, revoked or expired (also after "
    "being unused for `TONGBAN_IDLE_MINUTES`); or, at /api/auth/token, wrong credentials.",
    403: "Signed in, but this role or department may not do this.",
    404: "What the path names does not exist (for applicants: or the query code is wrong; the "
    "two are not told apart).",
    409: "Refused in the current state of the application, task or record: the reason is in "
    "`message`.",
    422: "Bad input: `details` lists each field as `{field, reason}`.",
    429: "Too many failed attempts from this client: retry after `Retry-After` seconds.",
    503: "The database or the workflow engine (Temporal) is unreachable or busy; nothing was "
    "half-written. Retry after `Retry-After` seconds (with the same `Idempotency-Key`).",
}

RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before retrying",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": "`Bearer`",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: RETRY_AFTER,
    503: RETRY_AFTER,
}

_ANSWERS: WeakKeyDictionary[Callable[..., Any], frozenset[int]] = WeakKeyDictionary()


def answers(*statuses: int) -> Callable[[F], F]:
    """Marks a dependency or an endpoint with the error statuses it can answer itself."""
    unknown = set(statuses) - set(MEANINGS)
    if unknown:
        raise ValueError(f"no meaning written for {sorted(unknown)}")

    def mark(func: F) -> F:
        _ANSWERS[func] = _ANSWERS.get(func, frozenset()) | frozenset(statuses)
        return func

    return mark


def _tree(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _tree(sub)


def takes_input(dependant: Dependant) -> bool:
    return any(
        d.path_params or d.query_params or d.header_params or d.cookie_params or d.body_params
        for d in _tree(dependant)
    )


def signed_in_only(dependant: Dependant) -> bool:
    """Behind the bearer check (a dependency answering 401, not the token route itself)."""
    return any(
        401 in _ANSWERS.get(d.call, frozenset())
        for d in _tree(dependant)
        if d is not dependant and d.call is not None
    )


def _statuses(dependant: Dependant) -> set[int]:
    found: set[int] = set()
    for d in _tree(dependant):
        if d.call is not None:
            found |= _ANSWERS.get(d.call, frozenset())
    return found


def statuses_of(route: APIRoute | RouteContext) -> set[int]:
    """Every error status `route` can answer."""
    found = _statuses(route.dependant)
    if takes_input(route.dependant):
        found.add(422)
    return found


def error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": MEANINGS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def declare(document: dict[str, Any], routes: list[Any]) -> None:
    """Write each operation's error statuses (and its bearer security) into `document`."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "a token from POST /api/auth/token",
        }
    }
    for route in iter_route_contexts(routes):  # included routers' routes, with their prefix
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in sorted(route.methods or ()):
            operation = document["paths"][route.path_format][method.lower()]
            responses = operation["responses"]
            responses.pop("422", None)  # FastAPI's own shape, not ours
            for status in sorted(statuses_of(route)):
                declared = responses.get(str(status))
                if declared is None:
                    responses[str(status)] = error_response(status)
                elif status in HEADERS:  # a route's own body (readiness), with our headers
                    declared.setdefault("headers", HEADERS[status])
            if signed_in_only(route.dependant):
                operation["security"] = [{"bearer": []}]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def install(app: FastAPI) -> None:
    """Build /openapi.json with the declared statuses (once, on first request)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            declare(document, list(app.routes))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
