"""What every page shares: templates, the page session, CSRF, flash messages, login.

Pages call the same services as the JSON API; an `ApiError` from a service becomes a message
on the page (and field errors next to their fields) instead of a JSON body.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError

from api import page_sessions
from api.container import Services
from api.deps import PageUser, SessionDep, services_of
from api.errors import ApiError, field_name, invalid, reason_of
from api.page_sessions import csrf_token
from api.pages.events import (
    CHANNEL_NAMES,
    EVENT_NAMES,
    RATING_LABELS,
    SLA_NAMES,
    SOURCE_NAMES,
    describe_event,
)
from api.services import inbox, intake
from api.services.accounts import StaffUser
from api.unified_login import signed_in
from domain.actors import Role
from domain.application import ApplicationStatus
from domain.matter import MatterDefinition
from domain.states import ApplicationState, SlaLevel, StepState

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES)


def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.strftime(fmt) if value else "—"


def _days_left(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 0:
        return f"已超 {-value:.1f} 个工作日"
    return f"{value:.1f} 个工作日"


templates.env.filters["when"] = when
templates.env.filters["days_left"] = _days_left
templates.env.globals.update(
    SLA_NAMES=SLA_NAMES,
    CHANNEL_NAMES=CHANNEL_NAMES,
    SOURCE_NAMES=SOURCE_NAMES,
    RATING_LABELS=RATING_LABELS,
    EVENT_NAMES=EVENT_NAMES,
    describe_event=describe_event,
    ApplicationState=ApplicationState,
    StepState=StepState,
    SlaLevel=SlaLevel,
)


FLASHES_KEPT = 5


def check_csrf(request: Request, form: Any) -> None:
    sent = str(form.get("csrf", ""))
    if not secrets.compare_digest(sent.encode(), csrf_token(request).encode()):
        raise ApiError(403, "csrf", "页面已过期，请刷新后重新提交")


def flash(request: Request, message: str, kind: str = "ok") -> None:
    # The last few: refused posts never followed by a page would pile them up otherwise.
    shown = request.session.get("flash", [])[-(FLASHES_KEPT - 1) :]
    request.session["flash"] = [*shown, {"kind": kind, "text": message}]


# What was typed into a refused form comes back in it: the same `values` (by input name) that
# /apply and the window's accept page render a refused form with. Those answer the POST with
# the form itself; pages that redirect after a refusal (POST-redirect-GET) keep the values
# beside the flash message, in the page session, for the next render of their page.
_NOT_KEPT = frozenset({"csrf", "action_key", "back", "password"})
# Far more than any form's fields allow (a few texts of MAX_TEXT characters): what is longer
# was not typed by a person, and is not written into the session's row.
KEPT_MAX = 64_000


def keep_values(request: Request, page: str, form_name: str, form: Mapping[str, Any]) -> None:
    """A refused form's text and numbers, for the page at `page` to show again in the form
    called `form_name` (one page has several forms with inputs of the same names)."""
    values = {k: v for k, v in form.items() if isinstance(v, str) and k not in _NOT_KEPT}
    if sum(len(k) + len(v) for k, v in values.items()) <= KEPT_MAX:
        kept = {"page": urlsplit(page).path, "form": form_name, "values": values}
        request.session["kept"] = kept


def _kept(request: Request) -> dict[str, dict[str, str]]:
    """The values kept for this page, by form name; shown once, as flash messages are."""
    kept = request.session.pop("kept", None)
    if not kept or kept.get("page") != request.url.path:
        return {}
    return {str(kept["form"]): dict(kept["values"])}


def _centre_name(services: Services) -> str:
    return services.calendars.centres[services.settings.centre].name


def render(
    request: Request,
    template: str,
    *,
    user: StaffUser | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    services = services_of(request)
    messages = request.session.pop("flash", [])
    # The page's own values must not shadow what every page shows (a list of SMS named
    # `messages` once turned into a row of flash notices).
    clash = context.keys() & _LAYOUT_VALUES
    if clash:
        raise ValueError(f"{template}: {sorted(clash)} are the layout's own values")
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "csrf": csrf_token(request),
            # A form sent twice (a double click, a reload that posts again) is one action:
            # each page's forms carry a key of their own (api.deps.PAGE_IDEMPOTENT).
            "action_key": secrets.token_urlsafe(16),
            "messages": messages,
            "kept": _kept(request),
            "temporal_ui": services.settings.temporal_ui_url.rstrip("/"),
            "namespace": services.settings.temporal_namespace,
            "tz": services.tz,
            "department_name": services.catalogue.department_name,
            "centre_name": _centre_name(services),
            "identity": signed_in(request),
            "inbox_unread": getattr(request.state, "inbox_unread", None),
            "unified_login": bool(services.settings.oidc_issuer),
            **context,
        },
        status_code=status_code,
    )


_LAYOUT_VALUES = frozenset(
    {
        "messages",
        "kept",
        "csrf",
        "action_key",
        "temporal_ui",
        "namespace",
        "tz",
        "department_name",
        "centre_name",
        "inbox_unread",
        "unified_login",
    }
)


# Rows on one page of a list (the workbench's tasks, supervision's overdue and yellow lists).
PAGE_SIZE = 50


@dataclass(frozen=True)
class Pager:
    """One page of a list: where it is, how many there are, and the links to the others,
    each keeping the page's filters (and the other lists' pages) in its query string."""

    path: str
    param: str  # the query parameter holding this list's page number
    page: int
    total: int
    size: int
    kept: tuple[tuple[str, str], ...]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def first(self) -> int:
        """The number of its first row (1-based), 0 for an empty list."""
        return self.offset + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.offset + self.size, self.total)

    def link(self, page: int) -> str:
        query = [(k, v) for k, v in self.kept if k != self.param]
        if page > 1:
            query.append((self.param, str(page)))
        return f"{self.path}?{urlencode(query)}" if query else self.path


def pager(request: Request, total: int, *, param: str = "page", size: int | None = None) -> Pager:
    """The page of a list of `total` rows that the query string asks for (the last one if
    it asks for more), its links keeping every other parameter of the query string."""
    size = size or PAGE_SIZE
    try:
        asked = int(request.query_params.get(param) or 1)
    except ValueError:
        asked = 1
    pages = max(1, -(-total // size))
    kept = tuple((k, v) for k, v in request.query_params.multi_items() if v)
    return Pager(request.url.path, param, min(max(asked, 1), pages), total, size, kept)


def safe_path(target: object, default: str) -> str:
    """A path on this site from a form or query (never `//elsewhere`, `/\\elsewhere` that
    browsers read as `//elsewhere`, or a full URL)."""
    text = str(target or "")
    unsafe = "\\" in text or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)
    return text if text.startswith("/") and not text.startswith("//") and not unsafe else default


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def to_login(request: Request) -> RedirectResponse:
    return redirect(f"/login?next={quote(request.url.path)}")


def role_home(user: StaffUser) -> str:
    return {
        Role.clerk: "/window",
        Role.staff: "/workbench",
        Role.supervisor: "/supervision",
        Role.admin: "/supervision",
    }.get(user.role, "/")


class LoginRequired(Exception):
    """A page for staff, opened without signing in: answered with the login page."""


class NotForThisRole(Exception):
    """A page for other roles: answered with a 403 page."""

    def __init__(self, user: StaffUser) -> None:
        super().__init__(user.username)
        self.user = user


def page_for(*roles: Role) -> Callable[..., Awaitable[StaffUser]]:
    """A dependency admitting signed-in staff of `roles` to a page; it also counts their
    unread messages for the bell in the page's header."""

    async def check(request: Request, user: PageUser, session: SessionDep) -> StaffUser:
        if user is None:
            raise LoginRequired
        if user.role not in roles:
            raise NotForThisRole(user)
        request.state.inbox_unread = await inbox.unread_count(session, user)
        return user

    return check


AnyStaffPage = Annotated[
    StaffUser, Depends(page_for(Role.clerk, Role.staff, Role.supervisor, Role.admin))
]
ClerkPage = Annotated[StaffUser, Depends(page_for(Role.clerk, Role.admin))]
StaffPage = Annotated[StaffUser, Depends(page_for(Role.staff, Role.supervisor, Role.admin))]
SupervisorPage = Annotated[StaffUser, Depends(page_for(Role.supervisor, Role.admin))]


def install(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        return to_login(request)

    @app.exception_handler(NotForThisRole)
    async def _forbidden(request: Request, exc: NotForThisRole) -> Response:
        return forbidden_page(request, exc.user)


def forbidden_page(request: Request, user: StaffUser) -> Response:
    return render(
        request,
        "error.html",
        user=user,
        status_code=403,
        title="无权访问",
        message="您的账号无权查看此页面。",
    )


M = TypeVar("M", bound=BaseModel)

# How the API's field names read on a page, in the messages shown above a form.
FIELD_LABELS = {
    "reason": "理由",
    "comment": "意见",
    "note": "说明",
    "items": "补正事项",
    "working_days": "延期天数",
    "method": "出件方式",
    "ref": "单号或领取人",
    "level": "评价等级",
    "findings": "核查情况",
    "tolerance.missing": "容缺材料",
    "tolerance.signed": "容缺承诺书",
    "commitment_signed": "告知承诺",
}


def form_model(model: type[M], data: Mapping[str, Any]) -> M:
    """A posted form read into the API's own input model: the page and the route check the
    same rules, and a refusal is the same 422 naming each field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(
            {field_name(tuple(e["loc"])): reason_of(dict(e)) for e in exc.errors()}
        ) from exc


def problem_text(exc: ApiError, labels: Mapping[str, str] | None = None) -> str:
    """An error as one line above a form: each field by its label, and its reason."""
    details = exc.details if exc.status == 422 and isinstance(exc.details, list) else []
    names = {**FIELD_LABELS, **(labels or {})}
    parts = [f"{names.get(d['field'], d['field'])}：{d['reason']}" for d in details if "field" in d]
    return "；".join(parts) if parts else exc.message


def _input_name(field: str) -> str:
    """An API field name (`form.company_name`) as the page's input name (`form_company_name`)."""
    name = field.replace("form.", "form_").replace("applicant.", "applicant_")
    return "identifier" if name in ("applicant_id_number", "applicant_credit_code") else name


def form_problems(
    exc: ValidationError | ApiError, also: Mapping[str, str] | None = None
) -> tuple[dict[str, str], str, int]:
    """(errors by input name, the banner above the form, status) for a refused form.

    `also`: problems by field found by checks of its own, added when the model refused the
    form before the matter's checks could run (an ID number's check digit), so that every
    problem is told at once (一次性告知) rather than round after round."""
    if isinstance(exc, ValidationError):
        fields = {field_name(tuple(e["loc"])): reason_of(dict(e)) for e in exc.errors()}
        fields = {**(also or {}), **fields}
        status, fallback = 422, "请按提示修改后重新提交。"
    else:
        details = exc.details if exc.status == 422 and isinstance(exc.details, list) else []
        fields = {d["field"]: d["reason"] for d in details if isinstance(d, dict)}
        status, fallback = exc.status, exc.message
    if "Idempotency-Key" in fields:
        # This form was sent before with other contents: it cannot be sent again as it is.
        return {}, "这份申请表已经提交过，内容与上次不同。请重新打开申请页面填写。", status
    errors = {_input_name(f): reason for f, reason in fields.items()}
    if errors:
        return errors, f"有 {len(errors)} 处需要修改，请查看标红的项目后重新提交。", status
    return errors, fallback, status


def remember_access(request: Request, number: str, code: str) -> None:
    """An applicant's verified (number, code), kept in the page session (on the server).
    The session gets a new token when it gains one: a token planted in the browser by
    someone else (session fixation) would otherwise hold the access too."""
    apps = dict(request.session.get("apps", {}))
    if apps.get(number) != code:
        page_sessions.renew(request, seed=False)
    apps[number] = code
    request.session["apps"] = dict(list(apps.items())[-20:])  # a few recent ones are enough


def remembered_code(request: Request, number: str) -> str | None:
    code = request.session.get("apps", {}).get(number)
    return str(code) if code else None


def forget_access(request: Request, number: str) -> None:
    apps = dict(request.session.get("apps", {}))
    apps.pop(number, None)
    request.session["apps"] = apps


def hand_receipt(request: Request, number: str, code: str) -> None:
    """For staff: the code is shown once, on the receipt printed now, and not kept in the
    staff member's browser (it is the applicant's, not theirs)."""
    request.session["receipt"] = {"number": number, "code": code}


def take_receipt(request: Request, number: str) -> str | None:
    handed = request.session.pop("receipt", None)
    return str(handed["code"]) if handed and handed.get("number") == number else None


ERROR_TITLES = {
    500: "系统错误",
    403: "无权访问",
    404: "页面不存在",
    409: "无法办理",
    422: "提交的数据有误",
    429: "操作过于频繁",
    503: "系统繁忙",
}


def error_page(request: Request, status: int, message: str) -> Response:
    """Errors on pages are pages, not JSON."""
    services: Services | None = getattr(request.app.state, "services", None)  # None: starting
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "user": None,
            "csrf": "",
            "action_key": "",
            "messages": [],
            "title": ERROR_TITLES.get(status, "出错了"),
            "message": message,
            "centre_name": _centre_name(services) if services else "通办",
        },
        status_code=status,
    )


def form_field_problems(
    values: Mapping[str, str], matter: MatterDefinition, today: date
) -> dict[str, str]:
    """The matter's own form fields as an application form filled them in, checked on their
    own (they do not depend on who applies): problems by field, as the API names them."""
    return intake.form_field_problems(matter, submission_body(values, matter, [])["form"], today)


def submission_body(
    values: Mapping[str, str], matter: MatterDefinition, materials: list[dict[str, str]]
) -> dict[str, Any]:
    """An application form's inputs (same names on the applicant's and the clerk's form) as
    the body of a submission; the channel and any decision are added by the caller."""
    identifier = values.get("identifier", "").strip().upper() or None
    company = values.get("applicant_kind") == "company"
    return {
        "matter_code": matter.code,
        "applicant": {
            "name": values.get("applicant_name", "").strip(),
            "id_number": None if company else identifier,
            "credit_code": identifier if company else None,
            "phone": values.get("phone", "").strip(),
        },
        "form": {f.code: values.get(f"form_{f.code}", "") for f in matter.form},
        "materials": materials,
        "delivery": values.get("delivery", "pickup"),
        "delivery_address": values.get("delivery_address", "").strip() or None,
    }


# 改派: how its form's fields read in a refusal (the supervisor's and the window's forms).
REROUTE_LABELS = {"department": "改派部门", "reason": "改派说明"}


def routable_departments(services: Services, status: ApplicationStatus) -> list[tuple[str, str]]:
    """The departments a returned step of the application may be re-routed to (改派), as the
    action accepts them (those of the level that handles it): (code, name) in the order of
    definitions/departments.yaml."""
    catalogue = services.catalogue
    region = catalogue.region_of(step.department for step in status.steps)
    return [(code, d.name) for code, d in catalogue.departments_at(region).items()]
