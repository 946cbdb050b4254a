"""Errors as JSON `{"error", "message", "details"}` with the status a client can act on."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException


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


def too_many(message: str, retry_after: int) -> ApiError:
    return ApiError(429, "too_many_requests", message, headers={"Retry-After": str(retry_after)})


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or "body"


def _reason(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def body(error: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": error, "message": message, "details": details}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            body(exc.error, exc.message, exc.details), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems: dict[str, str] = {}
        for e in exc.errors():
            problems.setdefault(_field(tuple(e.get("loc", ()))), _reason(e))
        err = invalid(problems)
        return JSONResponse(body(err.error, err.message, err.details), status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        names = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
        return JSONResponse(
            body(names.get(exc.status_code, "error"), str(exc.detail)),
            status_code=exc.status_code,
            headers=exc.headers,
        )
