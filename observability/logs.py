"""Logs that protect personal data: no ID number, credit code or phone number appears in
them unmasked, whoever logs it (our code, uvicorn's access log of a query string, a library).

A filter on the root handlers rewrites every record's message before it is written. In
production the lines are JSON objects (`JsonFormatter`) carrying the application number a
record is about, so that a log collector can gather one application's story across the API
and the worker.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from temporalio import activity

# 18-character identifiers (居民身份证号码, 统一社会信用代码; an ID number's check letter may be
# typed x) and mobile phone numbers (also as +86…, 0086…, and in groups: 138 1234 5678), not
# inside longer runs of digits (application numbers are 20 digits and stay readable).
_IDENTIFIER = re.compile(
    r"(?<![0-9A-Z])([0-9A-Z]{6})([0-9A-Z]{8})([0-9A-Z]{4})(?![0-9A-Z])", re.IGNORECASE
)
_MOBILE = re.compile(r"(?<!\d)((?:\+|00)?86[- ]?)?(1\d{2})[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
# Fixed lines written with their area code's hyphen (0555-2345001): the area code and the
# last four kept. Without the hyphen they are not told from other runs of digits.
_LANDLINE = re.compile(r"(?<![\d-])(0\d{2,3})-(\d{3,4})(\d{4})(?![\d-])")
# Secrets of a query string that no pattern above recognises: an applicant's query code.
_SECRET_QUERY = re.compile(r"(?<![^?&])((?:query_)?code=)[^&#]*", re.IGNORECASE)


def _looks_like_identifier(value: str) -> bool:
    return sum(ch.isdigit() for ch in value) >= 10


def mask(text: str) -> str:
    """`text` with identifiers and phone numbers masked (first and last digits kept)."""

    def identifier(m: re.Match[str]) -> str:
        whole = m.group(0)
        return f"{m.group(1)}********{m.group(3)[-4:]}" if _looks_like_identifier(whole) else whole

    text = _IDENTIFIER.sub(identifier, text)
    text = _MOBILE.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}****{m.group(4)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)


def mask_query(query: str) -> str:
    """A query string (or a URL) fit to be logged: query codes dropped, the rest `mask`ed."""
    return mask(_SECRET_QUERY.sub(r"\1***", query))


class PrivacyFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


# The application the code running now is about (an API request's), for records that do not
# name one themselves. Set by the API's dependencies that load an application.
_current_application: ContextVar[str | None] = ContextVar("tongban_application_no", default=None)

# Temporal's loggers put what they know on the record under these keys: the workflow id of a
# MatterWorkflow (and of its activities) is the application number.
_TEMPORAL_EXTRAS = ("temporal_workflow", "temporal_activity")
_MATTER_WORKFLOW = "MatterWorkflow"


@contextmanager
def about_application(application_no: str) -> Iterator[None]:
    """Records logged inside are about `application_no` (unless they name another)."""
    token = _current_application.set(application_no)
    try:
        yield
    finally:
        _current_application.reset(token)


def note_application(application_no: str) -> None:
    """The rest of the current request is about `application_no` (see `LogScope`)."""
    _current_application.set(application_no)


class LogScope:
    """ASGI middleware: what a request notes (`note_application`) ends with the request.

    A request may run in its caller's task (a test's ASGI transport), so the note is undone
    here rather than left to the task's end."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        token = _current_application.set(None)
        try:
            await self.app(scope, receive, send)
        finally:
            _current_application.reset(token)


def application_of(record: logging.LogRecord) -> str | None:
    """The application number a record is about: its `extra`, Temporal's workflow or
    activity context, or the request being served."""
    explicit = getattr(record, "application_no", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    for key in _TEMPORAL_EXTRAS:
        details = getattr(record, key, None)
        if isinstance(details, dict) and details.get("workflow_type") == _MATTER_WORKFLOW:
            workflow_id = details.get("workflow_id")
            if isinstance(workflow_id, str):
                return workflow_id
    # Our activities log with their module's logger, not Temporal's: ask the activity.
    if activity.in_activity():
        info = activity.info()
        if info.workflow_type == _MATTER_WORKFLOW and info.workflow_id:
            return info.workflow_id
    return _current_application.get()


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, and the application number and
    Temporal workflow/activity ids when there are some. Only these fields are written (an
    `extra` may hold anything: a form, an applicant), and the message and any traceback are
    masked here too, so the line is safe whatever filters its handler has."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask(record.getMessage()),
        }
        number = application_of(record)
        if number:
            line["application_no"] = number
        for key in _TEMPORAL_EXTRAS:
            details = getattr(record, key, None)
            if isinstance(details, dict):
                for field in ("workflow_id", "workflow_type", "activity_type", "attempt"):
                    if field in details:
                        line.setdefault(field, details[field])
        if record.exc_info:
            line["exception"] = mask(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = mask(record.exc_text)
        return json.dumps(line, ensure_ascii=False, default=str)


# The access log: a line for each HTTP request the API answers, written by the API's request
# middleware (observability/metrics.py), uvicorn's own being off.
_access = logging.getLogger("tongban.access")
# The route of the status poll: an applicant reading their own application.
STATUS_POLL_ROUTE = "/api/applications/{application_no}"


def log_access(scope: Any, route: str, status: int, seconds: float) -> None:
    """The line of one request: client, request line, status, time taken.

    A status poll answered (200) is not written. It is the most frequent request by far (its
    line cost the API a tenth of its throughput) and the least telling: its count and
    latency are in the metrics, by route and status. A poll refused (404 for a wrong code,
    429) is written like every other request."""
    method = scope["method"]
    if status == 200 and method == "GET" and route == STATUS_POLL_ROUTE:
        return
    if not _access.isEnabledFor(logging.INFO):
        return
    client = scope.get("client")
    path = scope.get("root_path", "") + scope["path"]
    query = scope.get("query_string", b"")
    _access.info(
        '%s - "%s %s HTTP/%s" %d %.1fms',
        f"{client[0]}:{client[1]}" if client else "-",
        method,
        f"{path}?{mask_query(query.decode('latin-1'))}" if query else path,
        scope.get("http_version", "1.1"),
        status,
        seconds * 1000,
    )


LogFormat = Literal["json", "text"]
TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def configure_logging(level: int = logging.INFO, log_format: LogFormat = "text") -> None:
    """Lines to stderr (JSON or plain), every handler behind the privacy filter."""
    handler = logging.StreamHandler()
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # Python's warnings (a library's deprecation) as records too: every line is one format.
    logging.captureWarnings(True)
    protect_handlers()


def protect_handlers() -> None:
    """Put the privacy filter on every handler configured so far (uvicorn's included)."""
    privacy = PrivacyFilter()
    for name in (None, "uvicorn", "uvicorn.access", "uvicorn.error"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, PrivacyFilter) for f in handler.filters):
                handler.addFilter(privacy)
