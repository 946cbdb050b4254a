"""Text no database can store is refused before anything reads it: a NUL character.

PostgreSQL refuses NUL in any text value, so such a value would fail only when written, as a
500, or worse after a workflow was started with it (its projection could then never be
written). It is refused at the door instead, as bad input (422 naming the field), in every
query, header and path parameter a route declares (a page's: every query parameter), and
in JSON and form bodies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.errors import invalid

NUL = "\x00"
REASON = "含有不允许的控制字符（NUL）"


def _tree(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _tree(sub)


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """(field, text) for every string in a parsed JSON body (keys included)."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            yield name, str(key)
            yield from _strings(item, name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{where}[{i}]")


async def refuse_nul(request: Request) -> None:
    """An app-wide dependency: 422 if any input holds a NUL character."""
    problems: dict[str, str] = {}
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        for d in _tree(route.dependant):
            for field in (*d.query_params, *d.header_params):
                name = field.alias
                source = request.query_params if field in d.query_params else request.headers
                if any(NUL in v for v in source.getlist(name)):
                    problems[name] = REASON
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        # Pages read their query strings themselves (a filter, a search): every parameter.
        for name, text in request.query_params.multi_items():
            if NUL in name + text:
                problems[name] = REASON
    for name, value in request.path_params.items():
        if NUL in str(value):
            problems[name] = REASON
    # Bodies of the API's routes that take one, and of every page (pages read their forms
    # themselves): a route that takes no body ignores one, and never answers 422 for it.
    takes_body = not isinstance(route, APIRoute) or (
        route.body_field is not None or not route.include_in_schema
    )
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not takes_body:
        pass
    elif kind == "application/json":
        try:
            parsed = json.loads(await request.body())
        except ValueError:
            parsed = None  # not JSON at all: the route's own parsing says so
        problems |= {name or "body": REASON for name, text in _strings(parsed, "") if NUL in text}
    elif kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()  # kept by the request: the route reads the same
        for name, value in form.multi_items():
            if isinstance(value, str) and NUL in (name + value):
                problems[name] = REASON
    if problems:
        raise invalid(problems)
