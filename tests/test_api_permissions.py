"""Who may do what: every role against every route, departments kept apart, applicants kept
to their own application, guessing throttled, signing in."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.api_helpers import (
    ADMIN,
    CLERK,
    SUPERVISOR,
    Json,
    approval,
    as_user,
    code_header,
    company_setup,
    ensure_staff,
    error_body,
    inbox,
    login,
    other_client,
    second_app,
    status,
    submit,
    task_for,
)

# --- the matrix ------------------------------------------------------------------------------

# Columns: who calls. "amr" is staff of the department owning the task under test (the
# registration step of a company setup), "psb" staff of another department taking part in the
# same application. A token that is not valid must count as none: it is checked against the
# anonymous column.
ROLES = ("anonymous", CLERK, "amr", "psb", SUPERVISOR, ADMIN)
BAD_TOKEN = {"Authorization": "Bearer not-a-token"}


@dataclass(frozen=True)
class Route:
    statuses: tuple[int, int, int, int, int, int]  # one per ROLES column
    method: str
    path: str  # {no}: the application, {task}: the amr task on it
    json: Json | None = None
    claimed: bool = False  # amr has claimed the task first
    with_code: bool = False  # sends the application's query code (X-Query-Code)
    received: bool = False  # the window has not accepted the application yet

    @property
    def expected(self) -> dict[str, int]:
        return dict(zip(ROLES, self.statuses, strict=True))

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}" + (" with code" if self.with_code else "")


WINDOW_BODY = company_setup()
EXTENSION = {"working_days": 1, "reason": "需实地核查"}
APPROVAL = {"decision": "approve"}  # result fields filled in from the task

# fmt: off
MATRIX = [
    #      anon clrk amr  psb  sup  adm
    Route((200, 200, 200, 200, 200, 200), "GET",  "/healthz"),
    Route((200, 200, 200, 200, 200, 200), "GET",  "/readyz"),
    Route((200, 200, 200, 200, 200, 200), "GET",  "/api/matters"),
    Route((200, 200, 200, 200, 200, 200), "GET",  "/api/matters/company_setup"),
    Route((200, 200, 200, 200, 200, 200), "GET",  "/api/applications/{no}", with_code=True),
    # A staff token is no query code: the applicant's view is the applicant's alone.
    Route((404, 404, 404, 404, 404, 404), "GET",  "/api/applications/{no}"),
    Route((401, 200, 200, 200, 200, 200), "GET",  "/api/auth/me"),
    Route((401, 201, 403, 403, 403, 201), "POST", "/api/window/applications", json=WINDOW_BODY),
    Route((401, 403, 200, 200, 200, 200), "GET",  "/api/tasks"),
    Route((401, 403, 200, 403, 200, 200), "GET",  "/api/tasks/{task}"),
    Route((401, 403, 200, 403, 403, 403), "POST", "/api/tasks/{task}/claim"),
    # A supervisor may take a claimed task back; by then amr has handed it back already.
    Route((401, 403, 200, 403, 409, 409), "POST", "/api/tasks/{task}/release", claimed=True),
    Route((401, 403, 200, 403, 403, 403), "POST", "/api/tasks/{task}/decision", json=APPROVAL),
    Route((401, 403, 403, 403, 200, 200), "GET",  "/api/supervision/applications"),
    Route((401, 403, 403, 403, 200, 200), "GET",  "/api/supervision/applications/{no}/timeline"),
    Route((401, 403, 403, 403, 200, 200), "GET",  "/api/supervision/overview"),
    Route((401, 403, 403, 403, 200, 200), "GET",  "/api/supervision/statistics"),
    Route((401, 403, 403, 403, 200, 200), "GET",  "/api/supervision/statistics.xlsx"),
    Route((401, 403, 403, 403, 200, 200), "POST", "/api/supervision/tasks/{task}/extension",
          json=EXTENSION),
    Route((401, 403, 403, 403, 200, 200), "GET",  "/api/supervision/reviews"),
    Route((401, 403, 200, 403, 403, 403), "POST", "/api/tasks/{task}/extension-request",
          json={"working_days": 1, "reason": "需实地核查"}),
    Route((401, 403, 403, 403, 200, 200), "GET",  "/api/supervision/extension-requests"),
    # 退单 by the task's department; 改派 only of a returned step (none is, here: 409).
    Route((401, 403, 200, 403, 403, 403), "POST", "/api/tasks/{task}/return",
          json={"reason": "非本部门职责"}),
    Route((401, 403, 403, 403, 409, 409), "POST", "/api/supervision/tasks/{task}/reroute",
          json={"department": "psb"}),
    Route((401, 409, 403, 403, 403, 409), "POST",
          "/api/window/applications/{no}/steps/registration/reroute", json={"department": "psb"}),
    # 督办单 only on a late step, an answer only to an order (none here: 409 past the door).
    Route((401, 403, 403, 403, 409, 409), "POST", "/api/supervision/tasks/{task}/orders",
          json={"working_days": 2, "demand": "请说明超时原因"}),
    Route((401, 403, 409, 403, 403, 403), "POST", "/api/tasks/{task}/orders/1/answer",
          json={"answer": "已办结"}),
    # 特别程序: company_setup's steps allow none, so the department meets the refusal.
    Route((401, 403, 409, 403, 403, 403), "POST", "/api/tasks/{task}/special-procedure",
          json={"kind": "hearing", "working_days": 2, "reason": "需举行听证"}),
    Route((401, 403, 409, 403, 403, 403), "POST", "/api/tasks/{task}/special-procedure/end",
          json={"outcome": "听证结束"}),
    # No request is pending here: allowed roles meet the validator's refusal.
    Route((401, 403, 403, 403, 409, 409), "POST", "/api/supervision/tasks/{task}/extension/refuse",
          json={"reason": "可在期限内办结"}),
    Route((401, 200, 403, 403, 403, 200), "GET",  "/api/window/pending"),
    Route((401, 200, 403, 403, 403, 200), "GET",  "/api/window/applications/{no}"),
    Route((401, 200, 403, 403, 403, 200), "GET",  "/api/window/handovers"),
    # Allowed roles get past the door; the first to act changes the application, so the
    # next allowed role meets a conflict (409) rather than a refusal (403).
    Route((401, 200, 403, 403, 403, 409), "POST", "/api/window/applications/{no}/accept",
          received=True),
    Route((401, 200, 403, 403, 403, 409), "POST", "/api/window/applications/{no}/refuse",
          json={"reason": "不属于本机关受理范围"}, received=True),
    Route((401, 200, 403, 403, 403, 409), "POST",
          "/api/window/applications/{no}/correction-notice",
          json={"items": ["营业执照复印件"], "reason": "复印件未加盖公章"}, received=True),
    Route((401, 200, 403, 403, 403, 409), "POST", "/api/window/applications/{no}/withdraw",
          json={"reason": "申请人到窗口撤回"}),
    Route((401, 409, 403, 403, 403, 409), "POST", "/api/window/applications/{no}/handover",
          json={"method": "window"}),
    # Only the query code matters to the applicant's routes; a rating waits for the end.
    Route((409, 409, 409, 409, 409, 409), "POST", "/api/applications/{no}/rating",
          json={"level": "satisfied"}, with_code=True),
]
# fmt: on

ERROR_NAMES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}


async def role_headers(api: httpx.AsyncClient, role: str) -> dict[str, str]:
    return {} if role == "anonymous" else await as_user(api, role)


@pytest.mark.parametrize("route", MATRIX, ids=[route.id for route in MATRIX])
async def test_permission_matrix(api: httpx.AsyncClient, route: Route) -> None:
    receipt = await submit(api, accept=not route.received)
    number = receipt["application_no"]
    task = {"id": 0} if route.received else await task_for(api, "amr", number)
    if route.claimed:
        claimed = await api.post(
            f"/api/tasks/{task['id']}/claim", headers=await as_user(api, "amr")
        )
        assert claimed.status_code == 200, claimed.text
    path = route.path.format(no=number, task=task["id"])
    body = approval(task) if route.json is APPROVAL else route.json
    extra = code_header(receipt["query_code"]) if route.with_code else {}

    async def call(headers: dict[str, str]) -> int:
        response = await api.request(route.method, path, headers=headers | extra, json=body)
        if response.status_code >= 400:
            error = error_body(response, response.status_code)
            assert error["error"] == ERROR_NAMES[response.status_code], error
        if response.status_code == 401:
            assert response.headers["WWW-Authenticate"] == "Bearer"
        return response.status_code

    got = {role: await call(await role_headers(api, role)) for role in ROLES}
    assert got == route.expected
    assert await call(BAD_TOKEN) == route.expected["anonymous"]


# --- departments are kept apart --------------------------------------------------------------


async def test_staff_see_only_their_own_departments_tasks(api: httpx.AsyncClient) -> None:
    number = (await submit(api))["application_no"]
    amr, psb = await as_user(api, "amr"), await as_user(api, "psb")
    # Asking for another department's inbox does not widen a member of staff's view.
    amr_view = await inbox(api, amr, department="psb")
    assert amr_view and {t["department"] for t in amr_view} == {"amr"}
    psb_tasks = [t for t in await inbox(api, psb) if t["application_no"] == number]
    assert [t["step_code"] for t in psb_tasks] == ["seal"]
    # Supervisors may look at one department or all.
    supervisor = await as_user(api, SUPERVISOR)
    only_tax = await inbox(api, supervisor, department="tax")
    assert {t["department"] for t in only_tax} == {"tax"}
    everything = [t for t in await inbox(api, supervisor) if t["application_no"] == number]
    assert sorted(t["department"] for t in everything) == ["amr", "psb", "tax"]


@pytest.mark.parametrize(
    ("method", "action", "body"),
    [
        ("GET", "", None),
        ("POST", "/claim", None),
        ("POST", "/release", None),
        ("POST", "/decision", {"decision": "reject", "reason": "不属于本部门"}),
        ("POST", "/decision", {"decision": "request_supplement", "items": ["x"], "reason": "xx"}),
    ],
    ids=["detail", "claim", "release", "reject", "request_supplement"],
)
async def test_another_departments_task_is_refused(
    api: httpx.AsyncClient, method: str, action: str, body: Json | None
) -> None:
    receipt = await submit(api)
    task = await task_for(api, "amr", receipt["application_no"])
    response = await api.request(
        method, f"/api/tasks/{task['id']}{action}", headers=await as_user(api, "psb"), json=body
    )
    assert error_body(response, 403)["error"] == "forbidden"
    assert "其他部门" in response.json()["message"]
    s = await status(api, receipt["application_no"], receipt["query_code"])
    assert s["state"] == "accepted" and s["steps"][0]["state"] == "open"


async def test_cross_department_approval_is_refused_and_changes_nothing(
    api: httpx.AsyncClient,
) -> None:
    receipt = await submit(api)
    task = await task_for(api, "amr", receipt["application_no"])
    response = await api.post(
        f"/api/tasks/{task['id']}/decision", headers=await as_user(api, "tax"), json=approval(task)
    )
    error_body(response, 403)
    assert (await task_for(api, "amr", receipt["application_no"]))["state"] == "open"


@pytest.mark.parametrize("role", [SUPERVISOR, ADMIN])
@pytest.mark.parametrize("action", ["claim", "decision"])
async def test_only_department_staff_act_on_tasks(
    api: httpx.AsyncClient, role: str, action: str
) -> None:
    receipt = await submit(api)
    task = await task_for(api, "amr", receipt["application_no"])
    body = approval(task) if action == "decision" else None
    response = await api.post(
        f"/api/tasks/{task['id']}/{action}", headers=await as_user(api, role), json=body
    )
    assert "承办部门工作人员" in error_body(response, 403)["message"]
    assert (await task_for(api, "amr", receipt["application_no"]))["state"] == "open"


@pytest.mark.parametrize("role", [SUPERVISOR, ADMIN])
async def test_a_supervisor_takes_back_a_task_from_an_absent_claimer(
    api: httpx.AsyncClient, role: str
) -> None:
    receipt = await submit(api)
    task = await task_for(api, "amr", receipt["application_no"])
    claimed = await api.post(f"/api/tasks/{task['id']}/claim", headers=await as_user(api, "amr"))
    assert claimed.json()["claimed_by"] == "市场监管局审批员"
    back = await api.post(f"/api/tasks/{task['id']}/release", headers=await as_user(api, role))
    assert back.status_code == 200, back.text
    assert back.json()["state"] == "open" and back.json()["claimed_by"] is None


# --- applicants reach only their own application ---------------------------------------------


async def test_wrong_code_looks_exactly_like_an_unknown_number(api: httpx.AsyncClient) -> None:
    mine, theirs = await submit(api), await submit(api)
    number = mine["application_no"]
    wrong_code = await api.get(f"/api/applications/{number}", headers=code_header("ABCDEFGHJK"))
    other_code = await api.get(
        f"/api/applications/{number}", headers=code_header(theirs["query_code"])
    )
    no_code = await api.get(f"/api/applications/{number}")
    unknown = await api.get(
        "/api/applications/34050019990101000001", headers=code_header(mine["query_code"])
    )
    bodies = [error_body(r, 404) for r in (wrong_code, other_code, no_code, unknown)]
    assert bodies[0] == {"error": "not_found", "message": "申请编号或查询码不正确", "details": None}
    assert all(b == bodies[0] for b in bodies)


@pytest.mark.parametrize(
    ("action", "body"),
    [("withdraw", {"reason": "不想办了"}), ("supplements", {"items": [{"item": "章程"}]})],
)
async def test_acting_on_someone_elses_application_is_refused(
    api: httpx.AsyncClient, action: str, body: Json
) -> None:
    victim, intruder = await submit(api), await submit(api)
    number = victim["application_no"]
    response = await api.post(
        f"/api/applications/{number}/{action}",
        headers=code_header(intruder["query_code"]),
        json=body,
    )
    assert error_body(response, 404)["message"] == "申请编号或查询码不正确"
    assert (await status(api, number, victim["query_code"]))["state"] == "accepted"


async def test_failed_lookups_are_throttled_after_ten(api: httpx.AsyncClient) -> None:
    """The default: 10 failures per 600 s per client address."""
    receipt = await submit(api)
    url = f"/api/applications/{receipt['application_no']}"
    for _ in range(10):
        assert (await api.get(url, headers=code_header("WRONGCODE2"))).status_code == 404
    blocked = await api.get(url, headers=code_header("WRONGCODE2"))
    assert error_body(blocked, 429)["error"] == "too_many_requests"
    assert 0 < int(blocked.headers["Retry-After"]) <= 600
    # Once blocked, even the right code waits: guessing must not be told apart by its answer.
    right = await api.get(url, headers=code_header(receipt["query_code"]))
    assert right.status_code == 429 and "Retry-After" in right.headers
    withdraw = await api.post(
        f"{url}/withdraw", headers=code_header(receipt["query_code"]), json={}
    )
    assert withdraw.status_code == 429


async def test_throttling_follows_the_configured_limit_per_client_address(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    receipt = await submit(api)
    url = f"/api/applications/{receipt['application_no']}"
    async with second_app(
        engine, client_host="10.0.0.1", lookup_failures_allowed=3, lookup_window_seconds=60
    ) as (app, guesser):
        for _ in range(3):
            assert (await guesser.get(url, headers=code_header("WRONGCODE2"))).status_code == 404
        blocked = await guesser.get(url, headers=code_header("WRONGCODE2"))
        assert blocked.status_code == 429
        assert 0 < int(blocked.headers["Retry-After"]) <= 60
        # Another address, e.g. the real applicant, is not held up by the guesser.
        async with await other_client(app, "10.0.0.2") as applicant:
            response = await applicant.get(url, headers=code_header(receipt["query_code"]))
            assert response.status_code == 200, response.text
            assert response.json()["application_no"] == receipt["application_no"]


# --- signing in ------------------------------------------------------------------------------


async def test_token_from_the_password_form(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/auth/token", data={"username": "amr", "password": "demo"})
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "bearer"
    assert isinstance(token["access_token"], str) and len(token["access_token"]) >= 32
    assert token["expires_in"] > 0
    me = await api.get("/api/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200
    assert me.json() == {
        "username": "amr",
        "display_name": "市场监管局审批员",
        "role": "staff",
        "department": "amr",
    }


@pytest.mark.parametrize(
    ("username", "password"),
    [("amr", "wrong"), ("nobody", "demo")],
    ids=["wrong password", "unknown user"],
)
async def test_bad_login_is_refused(api: httpx.AsyncClient, username: str, password: str) -> None:
    response = await api.post("/api/auth/token", data={"username": username, "password": password})
    body = error_body(response, 401)
    # Same answer whether or not the user exists.
    assert body == {"error": "unauthorized", "message": "用户名或密码不正确", "details": None}
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_login_form_needs_both_fields(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/auth/token", data={"username": "amr"})
    assert "password" in error_body(response, 422)["message"]


async def test_repeated_bad_logins_are_throttled(api: httpx.AsyncClient) -> None:
    for _ in range(10):
        bad = await api.post("/api/auth/token", data={"username": "amr", "password": "guess"})
        assert bad.status_code == 401
    blocked = await api.post("/api/auth/token", data={"username": "amr", "password": "demo"})
    assert error_body(blocked, 429)["error"] == "too_many_requests"
    assert int(blocked.headers["Retry-After"]) > 0


async def test_logout_revokes_the_token(api: httpx.AsyncClient) -> None:
    headers = await login(api, "clerk")
    assert (await api.get("/api/auth/me", headers=headers)).status_code == 200
    assert (await api.post("/api/auth/logout", headers=headers)).status_code == 204
    after = await api.get("/api/auth/me", headers=headers)
    assert error_body(after, 401)["error"] == "unauthorized"
    refused = await api.post("/api/window/applications", headers=headers, json=company_setup())
    assert refused.status_code == 401


async def test_a_deactivated_account_loses_access(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    from sqlalchemy import update

    from store.models import UserRow

    await ensure_staff(sessions, "amr_leaver", "amr")
    headers = await login(api, "amr_leaver")
    assert (await api.get("/api/tasks", headers=headers)).status_code == 200
    async with sessions() as session:
        await session.execute(
            update(UserRow).where(UserRow.username == "amr_leaver").values(active=False)
        )
        await session.commit()
    try:
        assert (await api.get("/api/tasks", headers=headers)).status_code == 401
        again = await api.post(
            "/api/auth/token", data={"username": "amr_leaver", "password": "demo"}
        )
        assert again.status_code == 401
    finally:
        async with sessions() as session:
            await session.execute(
                update(UserRow).where(UserRow.username == "amr_leaver").values(active=True)
            )
            await session.commit()


async def test_one_persons_mistakes_do_not_lock_out_the_office(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Behind one address (a centre's NAT), throttling is per username or per application:
    only guessing across many of them from one address is stopped, at ten times the limit."""
    mine, theirs = await submit(api), await submit(api)
    async with second_app(
        engine, client_host="10.0.0.9", lookup_failures_allowed=2, lookup_window_seconds=60
    ) as (_app, office):
        for _ in range(2):
            bad = await office.post("/api/auth/token", data={"username": "clerk", "password": "x"})
            assert bad.status_code == 401
        locked = await office.post(
            "/api/auth/token", data={"username": "clerk", "password": "demo"}
        )
        assert locked.status_code == 429
        colleague = await office.post(
            "/api/auth/token", data={"username": "amr", "password": "demo"}
        )
        assert colleague.status_code == 200, colleague.text

        url = f"/api/applications/{mine['application_no']}"
        for _ in range(2):
            assert (await office.get(url, headers=code_header("WRONGCODE2"))).status_code == 404
        assert (await office.get(url, headers=code_header(mine["query_code"]))).status_code == 429
        other = f"/api/applications/{theirs['application_no']}"
        assert (
            await office.get(other, headers=code_header(theirs["query_code"]))
        ).status_code == 200

        # Guessing over many numbers from the same address: stopped at 10 x 2 failures.
        for n in range(20):
            await office.get(f"/api/applications/9{n:019d}", headers=code_header("WRONGCODE2"))
        assert (
            await office.get(other, headers=code_header(theirs["query_code"]))
        ).status_code == 429
