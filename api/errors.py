"""Errors as JSON `{"error", "message", "details"}` with the status a client can act on."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from temporalio.service import RPCError, RPCStatusCode

log = logging.getLogger("tongban.api")
E = TypeVar("E", bound=Callable[..., Any])


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.details, self.headers = details, headers


def invalid(problems: dict[str, str]) -> ApiError:
    """422 naming every field and its reason."""
    text = "；".join(f"{field}：{reason}" for field, reason in problems.items())
    return ApiError(
        422,
        "invalid_input",
        f"提交的数据有误（{text}）",
        [{"field": field, "reason": reason} for field, reason in problems.items()],
    )


def not_found(message: str = "未找到") -> ApiError:
    return ApiError(404, "not_found", message)


def forbidden(message: str = "无权办理") -> ApiError:
    return ApiError(403, "forbidden", message)


def conflict(message: str, details: Any = None) -> ApiError:
    return ApiError(409, "conflict", message, details)


def unavailable(message: str, retry_after: int = 5) -> ApiError:
    return ApiError(503, "engine_unavailable", message, headers={"Retry-After": str(retry_after)})


class EngineUnreachable(ApiError):
    """A 503 raised before anything reached the engine: nothing can have started."""

    def __init__(self, message: str) -> None:
        super().__init__(503, "engine_unavailable", message, headers={"Retry-After": "5"})


# What the database driver raises when the server is down, restarting or out of connections
# (and SQLite when its file is locked): all pass, so the client is asked to retry.
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)
# Temporal's answers that mean "not now" rather than "no".
ENGINE_DOWN = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.CANCELLED,
    }
)


def database_unavailable() -> ApiError:
    return ApiError(
        503,
        "database_unavailable",
        "系统暂时无法访问数据库，请稍后重试（使用同一幂等键重复提交不会重复办理）",
        headers={"Retry-After": "5"},
    )


def too_many(message: str, retry_after: int) -> ApiError:
    return ApiError(429, "too_many_requests", message, headers={"Retry-After": str(retry_after)})


def field_name(loc: tuple[Any, ...]) -> str:
    """`("body", "materials", 4, "source")` -> `materials[4].source`, as the API names fields.

    Only the first part can be where the value came from: `form` further in is a field (the
    application form's values)."""
    if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:]
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


# The validation library's messages, in the words the rest of the API uses.
_REASONS = {
    "missing": "必填",
    "string_type": "应为文字",
    "string_too_short": "内容过短",
    "string_too_long": "内容过长",
    "string_pattern_mismatch": "格式不正确",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "greater_than": "数值过小",
    "less_than": "数值过大",
    "bool_parsing": "应为是或否",
    "dict_type": "应为对象",
    "list_type": "应为列表",
    "too_short": "项目过少",
    "too_long": "项目过多",
    "json_invalid": "不是有效的 JSON",
    "model_attributes_type": "格式不正确",
    "extra_forbidden": "不允许的字段",
    "date_parsing": "应为日期（如 2026-01-31）",
    "date_from_datetime_parsing": "应为日期（如 2026-01-31）",
    "date_from_datetime_inexact": "应为日期（如 2026-01-31）",
    "date_type": "应为日期（如 2026-01-31）",
    "datetime_parsing": "应为日期时间（如 2026-01-31T09:00:00+08:00）",
    "datetime_from_date_parsing": "应为日期时间（如 2026-01-31T09:00:00+08:00）",
    "datetime_type": "应为日期时间（如 2026-01-31T09:00:00+08:00）",
}

# The limit a bound's error names, and how to say it (the reason above, then the limit).
_LIMITS = {
    "string_too_short": ("min_length", "至少 {} 个字"),
    "string_too_long": ("max_length", "最多 {} 个字"),
    "too_short": ("min_length", "至少 {} 项"),
    "too_long": ("max_length", "最多 {} 项"),
    "greater_than_equal": ("ge", "最小 {}"),
    "less_than_equal": ("le", "最大 {}"),
    "greater_than": ("gt", "应大于 {}"),
    "less_than": ("lt", "应小于 {}"),
}


def reason_of(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in ("literal_error", "enum"):
        # Pydantic writes "'online', 'mobile' or 'window'": the choices, in our words.
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        return f"应为以下之一：{'、'.join(choices)}" if choices else "取值不在允许范围内"
    if kind in _LIMITS:
        key, words = _LIMITS[kind]
        limit = ctx.get(key)
        if kind in ("string_too_short", "too_short") and limit == 1:
            return "不能为空"
        base = _REASONS[kind]
        return f"{base}（{words.format(limit)}）" if limit is not None else base
    if kind in _REASONS:
        return _REASONS[kind]
    return str(error.get("msg", "不正确")).removeprefix("Value error, ")


def body(error: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": error, "message": message, "details": details}


def _wants_page(request: Request) -> bool:
    path = request.url.path
    return not (
        path.startswith("/api/") or path in ("/healthz", "/readyz", "/docs", "/openapi.json")
    )


HtmlRenderer = Callable[[Request, int, str], Response]

# Checks of its own an operation runs on a body its model refused (an ID number's check
# digit, say), by endpoint: their problems are told with the model's, at once (一次性告知),
# not in a second round once the first are put right.
AlsoCheck = Callable[[Request, Any], Awaitable[dict[str, str]]]
_ALSO_CHECKED: dict[Callable[..., Any], AlsoCheck] = {}


def also_checked(check: AlsoCheck) -> Callable[[E], E]:
    """Put directly under the route's decorator: `check(request, body)` gives the problems
    by field of the raw body (any JSON at all) that the model's checks did not reach."""

    def mark(endpoint: E) -> E:
        _ALSO_CHECKED[endpoint] = check
        return endpoint

    return mark


def answer(request: Request, exc: ApiError, html: HtmlRenderer | None) -> Response:
    """`exc` as the page (rendered by `html`) or the JSON body its request expects."""
    if html is not None and _wants_page(request):
        response = html(request, exc.status, exc.message)
        response.headers.update(exc.headers or {})
        return response
    return JSONResponse(
        body(exc.error, exc.message, exc.details), status_code=exc.status, headers=exc.headers
    )


def install(app: FastAPI, html: HtmlRenderer | None = None) -> None:
    """JSON errors for the API; `html` renders them for pages."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return answer(request, exc, html)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems: dict[str, str] = {}
        for e in exc.errors():
            problems.setdefault(field_name(tuple(e.get("loc", ()))), reason_of(e))
        endpoint = request.scope.get("endpoint")
        check = _ALSO_CHECKED.get(endpoint) if endpoint else None
        if check is not None:
            problems = await check(request, exc.body) | problems
        err = invalid(problems)
        return JSONResponse(body(err.error, err.message, err.details), status_code=422)

    async def _as(request: Request, err: ApiError) -> Response:
        return await _api_error(request, err)

    # An outage of the database or of Temporal met anywhere (a dependency that loads the
    # user, a read, a commit) is a 503 with Retry-After: the client retries, never a 500.
    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def _database_down(request: Request, exc: Exception) -> Response:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return await _as(request, database_unavailable())

    @app.exception_handler(RPCError)
    async def _engine_error(request: Request, exc: RPCError) -> Response:
        if exc.status not in ENGINE_DOWN:
            return await _unexpected(request, exc)
        log.warning("Temporal unavailable on %s %s: %s", request.method, request.url.path, exc)
        return await _as(request, unavailable("办理系统暂时无法连接，请稍后重试"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        message = "系统内部错误，请稍后重试；如仍有问题请联系管理员"
        if html is not None and _wants_page(request):
            return html(request, 500, message)
        return JSONResponse(body("internal_error", message), status_code=500)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        if html is not None and _wants_page(request):
            return html(request, exc.status_code, str(exc.detail))
        if exc.status_code == 400:
            # A body that cannot be parsed at all (bytes that are not UTF-8, a broken form) is
            # bad input like any other: 422, the status the API declares for it.
            err = invalid({"body": "无法解析请求内容"})
            return JSONResponse(body(err.error, err.message, err.details), status_code=422)
        names = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        return JSONResponse(
            body(names.get(exc.status_code, "error"), str(exc.detail)),
            status_code=exc.status_code,
            headers=exc.headers,
        )
