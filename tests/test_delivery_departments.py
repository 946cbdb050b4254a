"""Departments' own systems: their tasks pushed to them when a step opens (signed, retried
until acknowledged, the card raised when a push keeps failing), and their answers through
the API with client credentials, scoped to their department and attributed to them."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from functools import partial
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from standardwebhooks import Webhook
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.departments import DepartmentActivities, PushJob
from api.deps import SESSION_COOKIE
from api.services.accounts import CLIENT, create_user
from api.services.intake import connectors_of
from api.services.subscriptions import new_secret
from definitions.catalogue import default_catalogue
from domain.actions import RerouteInput, ReturnStepInput, WithdrawInput
from domain.actors import Role
from domain.application import ApplicationInput
from domain.matter import Connector
from settings import Settings
from store.models import StepRow
from tests.api_helpers import (
    SUPERVISOR,
    approval,
    as_user,
    error_body,
    invalid_fields,
    submit,
    task_for,
)
from tests.conftest import client_of
from tests.engine import Handle, event_rows, kinds, running_worker, start
from tests.factories import APPLICANT, application, staff
from tests.factories import SUPERVISOR as SUPERVISING
from tests.receivers import Receiver, running_receiver
from tests.timeline import at, eventually, next_plain_monday, plain_calendar, skip_to
from workflows.matter import MatterWorkflow

SECRET = new_secret()


@pytest.fixture
def system() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


async def test_a_task_reaches_the_department_system_signed_and_is_acknowledged(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    system: Receiver,
) -> None:
    system.behaviour.fail_next = 2  # the department's system answers 500 twice first
    settings = Settings(database_url="unused", connector_secrets={"psb": SECRET})
    app = application("company_setup", now=await env.get_current_time())
    app = app.model_copy(update={"connectors": {"psb": Connector(url=f"{system.url}/tasks")}})
    async with running_worker(env, sessions, task_queue, settings=settings):
        await start(env, task_queue, app)
        await env.sleep(timedelta(minutes=2))  # past the retries' backoff (10 s, 20 s)

        async def pushed() -> None:
            kinds = [e.kind for e in await event_rows(sessions, app.application_no)]
            assert "step_pushed" in kinds

        await eventually(pushed)
    [delivery] = [r for r in system.received if r.path == "/tasks"]
    body = delivery.body.decode()
    Webhook(SECRET).verify(body, delivery.headers)
    task = json.loads(body)
    assert task["application_no"] == app.application_no and task["task"]["step"] == "seal"
    assert task["task"]["deadline"] and {m["code"] for m in task["materials"]} >= {"articles"}
    assert delivery.headers["webhook-id"] == f"{app.application_no}/seal/task"
    async with sessions() as s:
        step = await s.scalar(
            select(StepRow).where(
                StepRow.application_no == app.application_no, StepRow.code == "seal"
            )
        )
    assert step is not None and step.push_state == "acknowledged" and step.push_attempts == 3
    # Only the department with a connector got a push.
    assert {r.json()["task"]["step"] for r in system.received} == {"seal"}


async def test_a_push_still_failing_after_its_alarm_time_raises_the_card(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    system: Receiver,
) -> None:
    system.behaviour.down = True
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    app = application("company_setup", now=at(monday, 10), calendar=plain_calendar(monday))
    connector = Connector(url=f"{system.url}/tasks", alarm_after_minutes=30)
    app = app.model_copy(update={"connectors": {"psb": connector}})
    settings = Settings(database_url="unused")
    async with running_worker(env, sessions, task_queue, settings=settings):
        handle = await start(env, task_queue, app)
        await skip_to(env, at(monday, 10, 31))

        async def alarmed() -> None:
            events = await event_rows(sessions, app.application_no)
            raised = [e for e in events if e.kind == "card_raised" and e.step_code == "seal"]
            assert [(e.payload["level"], e.payload.get("cause")) for e in raised] == [
                ("yellow", "push")
            ]

        await eventually(alarmed, timeout=30)
        async with sessions() as s:
            step = await s.scalar(
                select(StepRow).where(
                    StepRow.application_no == app.application_no, StepRow.code == "seal"
                )
            )
        assert (
            step is not None and step.push_state == "failing" and "503" in (step.push_error or "")
        )
        push = (await handle.query(MatterWorkflow.state)).step("seal").push
        assert push is not None and push.label == "推送失败，重试中"  # as supervisors read it
        system.behaviour.down = False
        await skip_to(env, at(monday, 11))

        async def delivered() -> None:
            kinds = [e.kind for e in await event_rows(sessions, app.application_no)]
            assert "step_pushed" in kinds

        await eventually(delivered, timeout=30)
        push = (await handle.query(MatterWorkflow.state)).step("seal").push
        assert push is not None and push.label == "部门系统已接收"


async def _seal_step(sessions: async_sessionmaker[AsyncSession], number: str) -> StepRow:
    async with sessions() as s:
        step = await s.scalar(
            select(StepRow).where(StepRow.application_no == number, StepRow.code == "seal")
        )
    assert step is not None
    return step


async def _a_failing_push(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    worker: Worker,
    system: Receiver,
    api: httpx.AsyncClient,
) -> tuple[Handle, ApplicationInput, Callable[[], Awaitable[bool]]]:
    """A company setup whose seal step's push to the police's system keeps failing, once
    it is on the supervisors' failing list; with the check of that list."""
    system.behaviour.down = True
    app = application("company_setup", now=await env.get_current_time())
    app = app.model_copy(update={"connectors": {"psb": Connector(url=f"{system.url}/tasks")}})
    boss = await as_user(api, SUPERVISOR)

    async def listed() -> bool:
        report = (await api.get("/api/supervision/deliveries", headers=boss)).json()
        return app.application_no in {p["application_no"] for p in report["pushes_failing"]}

    async def failing_and_listed() -> None:
        assert (await _seal_step(sessions, app.application_no)).push_state == "failing"
        assert await listed()

    handle = await start(env, worker.task_queue, app)
    await eventually(failing_and_listed)
    return handle, app, listed


async def test_a_push_abandoned_with_its_application_leaves_the_failing_list(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    worker: Worker,
    system: Receiver,
    api: httpx.AsyncClient,
) -> None:
    """Supervisors chase the failing pushes of open steps only, as the metric counts them:
    the push of a step closed with its application stops, failing on its row."""
    handle, app, listed = await _a_failing_push(env, sessions, worker, system, api)

    async def closed() -> None:
        assert (await _seal_step(sessions, app.application_no)).state == "cancelled"

    await handle.execute_update(MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT))
    await eventually(closed)
    assert (await _seal_step(sessions, app.application_no)).push_state == "failing"
    assert not await listed()


async def test_a_push_cancelled_with_its_step_returned_leaves_the_failing_list(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    worker: Worker,
    system: Receiver,
    api: httpx.AsyncClient,
) -> None:
    """Returned (退单), the step's task left the department: its push stops, and so does
    its place on the failing list, also once rerouted to a department with no system."""
    handle, app, listed = await _a_failing_push(env, sessions, worker, system, api)
    await handle.execute_update(
        MatterWorkflow.return_step,
        ReturnStepInput(step_code="seal", actor=staff("psb"), reason="不属于本部门职责"),
    )
    step = await _seal_step(sessions, app.application_no)
    assert (step.state, step.push_state) == ("returned", None)
    assert not await listed()
    await handle.execute_update(
        MatterWorkflow.reroute,
        RerouteInput(step_code="seal", actor=SUPERVISING, department="amr", reason="改派"),
    )
    assert (await _seal_step(sessions, app.application_no)).push_state is None
    assert not await listed()


async def test_a_push_failing_in_any_way_is_recorded_on_its_step(
    env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], task_queue: str
) -> None:
    """Not only HTTP errors: a connector's URL that httpx cannot parse (its pattern lets it
    through) fails every attempt, and supervisors must see it and why."""
    app = application("company_setup", now=await env.get_current_time())
    app = app.model_copy(update={"connectors": {"psb": Connector(url="http://[::1/tasks")}})

    async def failing() -> None:
        step = await _seal_step(sessions, app.application_no)
        assert step.push_state == "failing" and step.push_attempts >= 1
        assert "port" in (step.push_error or ""), step.push_error

    async with running_worker(env, sessions, task_queue, settings=Settings(database_url="unused")):
        handle = await start(env, task_queue, app)
        await eventually(failing)
        await handle.execute_update(MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT))


async def _client_token(
    api: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    department: str | None,
    role: Role = Role.staff,
) -> dict[str, str]:
    client_id = f"{department or role.value}-system"
    async with sessions() as session:
        from store.models import UserRow

        if await session.scalar(select(UserRow).where(UserRow.username == client_id)) is None:
            await create_user(
                session,
                username=client_id,
                display_name=f"{department or role.value}业务系统",
                role=role,
                department=department,
                password="s3cret-of-the-system",
                kind=CLIENT,
            )
            await session.commit()
    answer = await api.post(
        "/api/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": "s3cret-of-the-system",
        },
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def test_a_department_system_decides_its_task_with_client_credentials(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    number = (await submit(api))["application_no"]
    tax_system = await _client_token(api, sessions, "tax")
    task = await task_for(api, "tax", number)
    claimed = await api.post(f"/api/tasks/{task['id']}/claim", headers=tax_system)
    assert claimed.status_code == 200, claimed.text
    decided = await api.post(
        f"/api/tasks/{task['id']}/decision", headers=tax_system, json=approval(task)
    )
    assert decided.status_code == 200, decided.text
    # Not another department's task, and not a person's way in.
    amr_task = await task_for(api, "amr", number)
    error_body(await api.post(f"/api/tasks/{amr_task['id']}/claim", headers=tax_system), 403)
    as_password = await api.post(
        "/api/auth/token", data={"username": "tax-system", "password": "s3cret-of-the-system"}
    )
    assert as_password.status_code == 401
    # HTTP Basic, as OAuth2 client libraries send a client's credentials by default.
    basic = await api.post(
        "/api/auth/token",
        data={"grant_type": "client_credentials"},
        auth=("tax-system", "s3cret-of-the-system"),
    )
    assert basic.status_code == 200, basic.text
    wrong = await api.post(
        "/api/auth/token", data={"grant_type": "client_credentials"}, auth=("tax-system", "x")
    )
    assert wrong.status_code == 401
    both = await api.post(
        "/api/auth/token",
        data={"grant_type": "client_credentials", "client_id": "tax-system"},
        auth=("tax-system", "s3cret-of-the-system"),
    )
    assert invalid_fields(both) == {
        "client_id": "客户端凭据只能用一种方式提交（HTTP Basic 或表单）"
    }
    garbled = await api.post(
        "/api/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic not-base64!"},
    )
    assert "Authorization" in invalid_fields(garbled)
    timeline = await api.get(
        f"/api/supervision/applications/{number}/timeline", headers=await as_user(api, SUPERVISOR)
    )
    approved = next(e for e in timeline.json() if e["kind"] == "approved")
    assert approved["actor"] == "tax业务系统"


async def test_a_supervising_system_reads_and_acts_on_nothing_and_has_no_pages(
    api: httpx.AsyncClient, api_app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A system given the supervisors' role (the provincial platform reading the figures)
    reads, but extends, reroutes or revokes nothing: a supervisor's acts are a person's. Its
    token opens no page either: an API token is no page session."""
    number = (await submit(api))["application_no"]
    platform = await _client_token(api, sessions, None, Role.supervisor)
    overview = await api.get("/api/supervision/overview", headers=platform)
    assert overview.status_code == 200, overview.text
    seal = await task_for(api, "psb", number)
    extended = await api.post(
        f"/api/supervision/tasks/{seal['id']}/extension",
        headers=platform,
        json={"working_days": 1, "reason": "需实地核查"},
    )
    assert "只能读取" in error_body(extended, 403)["message"]
    token = platform["Authorization"].removeprefix("Bearer ")
    async with client_of(api_app) as browser:
        browser.cookies.set(SESSION_COOKIE, token)
        page = await browser.get("/supervision", follow_redirects=False)
    assert page.status_code == 303 and "/login" in page.headers["location"]


async def test_a_step_rerouted_back_to_a_department_is_pushed_under_a_new_id(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    system: Receiver,
) -> None:
    """改派 A → B → A: the second push to A is a push of its own, not the first one again,
    which a receiver deduplicating by `webhook-id` (as Standard Webhooks asks) would drop."""
    settings = Settings(database_url="unused", connector_secrets={"psb": SECRET, "tax": SECRET})
    app = application("company_setup", now=await env.get_current_time())
    url = f"{system.url}/tasks"
    connectors = {"psb": Connector(url=url), "tax": Connector(url=url)}
    app = app.model_copy(update={"connectors": connectors})

    def seal_pushes() -> list[tuple[str, str]]:
        return [
            (r.headers["webhook-id"], r.json()["task"]["department"])
            for r in system.received
            if r.json()["task"]["step"] == "seal"
        ]

    async with running_worker(env, sessions, task_queue, settings=settings):
        handle = await start(env, task_queue, app)
        for gives_back, to in (("psb", "tax"), ("tax", "psb")):
            await eventually(partial(_pushed_to, seal_pushes, gives_back))
            reason = "不属于本部门职责"
            await handle.execute_update(
                MatterWorkflow.return_step,
                ReturnStepInput(step_code="seal", actor=staff(gives_back), reason=reason),
            )
            await handle.execute_update(
                MatterWorkflow.reroute,
                RerouteInput(step_code="seal", actor=SUPERVISING, department=to, reason="改派"),
            )
        await eventually(partial(_pushed_to, lambda: seal_pushes()[2:], "psb"))
    number = app.application_no
    assert seal_pushes() == [
        (f"{number}/seal/task", "psb"),
        (f"{number}/seal/task/1", "tax"),
        (f"{number}/seal/task/2", "psb"),
    ]


async def _pushed_to(pushes: Callable[[], list[tuple[str, str]]], department: str) -> None:
    seen = pushes()
    assert seen and seen[-1][1] == department, seen


def test_every_department_s_connector_is_pinned_not_only_those_of_the_matter_s_steps() -> None:
    """A step may be rerouted (改派) to a department that has no step in the matter: its
    connector must be pinned too, or the step would never reach its system."""
    catalogue = default_catalogue()
    connector = Connector(url="https://ga.example.gov.cn/tongban/tasks")
    departments = dict(catalogue.departments)
    departments["water"] = departments["water"].model_copy(update={"connector": connector})
    services = SimpleNamespace(catalogue=replace(catalogue, departments=departments))
    assert "water" not in {s.department for s in catalogue.matter("company_setup").steps}
    assert connectors_of(services) == {"water": connector}  # type: ignore[arg-type]


async def test_a_retry_of_a_push_to_the_department_a_step_left_sends_and_notes_nothing(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    system: Receiver,
) -> None:
    """A push still retrying when its step is rerouted (an attempt under way is not
    cancelled) neither sends the task to the department that no longer has it nor writes
    its state over the new department's push."""
    settings = Settings(database_url="unused", connector_secrets={"psb": SECRET})
    app = application("company_setup", now=await env.get_current_time())
    app = app.model_copy(update={"connectors": {"psb": Connector(url=f"{system.url}/tasks")}})
    async with running_worker(env, sessions, task_queue, settings=settings):
        await start(env, task_queue, app)

        async def pushed() -> None:
            assert "step_pushed" in kinds(await event_rows(sessions, app.application_no))

        await eventually(pushed)
    sent = len(system.received)
    stale = PushJob(
        application_no=app.application_no, step_code="seal", department="tax", url=system.url
    )
    departments = DepartmentActivities(sessions, secrets={})
    await ActivityEnvironment().run(departments.push_task, stale)
    assert len(system.received) == sent
    async with sessions() as s:
        step = await s.scalar(
            select(StepRow).where(
                StepRow.application_no == app.application_no, StepRow.code == "seal"
            )
        )
    assert step is not None and step.push_state == "acknowledged"
