"""Calling the API in tests as each kind of user would."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

from store.models import ApplicationRow, IdempotencyRow, NumberSequenceRow, UserRow
from tests.factories import credit_code, id_number

Json = dict[str, Any]

# Staff accounts of the demo set (password "demo"), one per department besides these.
CLERK, SUPERVISOR, ADMIN = "clerk", "supervisor", "admin"
COMPANY_SETUP_DEPARTMENTS = ("amr", "psb", "tax")
TEST_SECRET = "test-secret"  # the conftest's `api` fixture signs query codes with it


async def login(api: httpx.AsyncClient, username: str, password: str = "demo") -> dict[str, str]:
    """A fresh bearer token (each call is a real sign-in)."""
    response = await api.post("/api/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


_TOKENS: dict[str, dict[str, str]] = {}


async def as_user(api: httpx.AsyncClient, username: str) -> dict[str, str]:
    """Headers of a signed-in user. Tokens live in the session's database, so one sign-in per
    user serves every test (a password check costs a deliberate ~0.1 s)."""
    if username not in _TOKENS:
        _TOKENS[username] = await login(api, username)
    return _TOKENS[username]


def code_header(code: str) -> dict[str, str]:
    return {"X-Query-Code": code}


# --- bodies --------------------------------------------------------------------------------


def person(**overrides: Any) -> Json:
    return {"name": "张三", "id_number": id_number(), "phone": "13912345678"} | overrides


def company(**overrides: Any) -> Json:
    return {
        "name": "马鞍山示例有限公司",
        "credit_code": credit_code(),
        "phone": "0555-2345678",
    } | overrides


COMPANY_SETUP_FORM = {
    "company_name": "马鞍山通办科技有限公司",
    "company_type": "有限责任公司",
    "registered_capital": "100",
    "address": "马鞍山市雨山区示例路1号",
    "legal_representative": "张三",
    "legal_representative_id": id_number(),
    "business_scope": "软件开发；信息技术咨询服务",
}


def company_setup(**overrides: Any) -> Json:
    return {
        "matter_code": "company_setup",
        "applicant": person(),
        "form": dict(COMPANY_SETUP_FORM),
        "materials": [
            {"code": "application_form", "source": "upload", "ref": "file-1"},
            {"code": "articles", "source": "upload", "ref": "file-2"},
            {"code": "investor_id", "source": "licence", "ref": "ID-340503"},
            {"code": "premises_proof", "source": "upload", "ref": "file-3"},
        ],
        "channel": "online",
        "delivery": "pickup",
    } | overrides


def property_transfer(**overrides: Any) -> Json:
    return {
        "matter_code": "property_transfer",
        # 张三 applies (his ID card is in the library, in his name) for the buyer 李四.
        "applicant": person(),
        "form": {
            "property_address": "马鞍山市花山区示例小区1栋101室",
            "unit_no": "340503001001GB00001F00010001",
            "seller_name": "王五",
            "seller_id": id_number("19750101", "456"),
            "buyer_name": "李四",
            "buyer_id": id_number("19880808", "789"),
            "price": "120",
            "floor_area": "89.5",
        },
        "materials": [
            {"code": "application_form", "source": "upload", "ref": "file-11"},
            {"code": "applicant_id", "source": "licence", "ref": "ID-340503"},
            {
                "code": "title_certificate",
                "source": "licence",
                "ref": "皖(2020)马鞍山市不动产权第1号",
            },
            {"code": "sale_contract", "source": "upload", "ref": "file-12"},
        ],
    } | overrides


def utility_connection(**overrides: Any) -> Json:
    return {
        "matter_code": "utility_connection",
        "applicant": company(),
        "form": {
            "project_name": "示例厂房",
            "project_address": "马鞍山市经开区示例路2号",
            "opening_location": "示例路与示例街交叉口东50米",
            "opening_area": "12",
            "water_demand": "30",
            "power_capacity": "630",
        },
        "materials": [
            {"code": "application_form", "source": "upload", "ref": "file-21"},
            {"code": "site_plan", "source": "licence", "ref": "建字第340500202600001号"},
            {"code": "business_licence", "source": "licence", "ref": "L-1"},
        ],
    } | overrides


def valid_result(task: Json) -> dict[str, str]:
    """Result fields a department fills in when approving `task` (from its result_fields)."""
    values = {"credit_code": credit_code(), "number": "12", "date": "2030-01-01"}
    out: dict[str, str] = {}
    for field in task["result_fields"]:
        if field["type"] == "select":
            out[field["code"]] = field["options"][0]
        else:
            out[field["code"]] = values.get(field["type"], f"{field['code']}-1")
    return out


def approval(task: Json) -> Json:
    return {"decision": "approve", "result": valid_result(task), "comment": "材料齐全"}


# --- calls ---------------------------------------------------------------------------------


async def submit(
    api: httpx.AsyncClient,
    body: Json | None = None,
    *,
    accept: bool = True,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Apply online; then, unless `accept` is False, the window accepts it (受理) as a clerk
    would, and the receipt carries the state and deadline after acceptance."""
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    response = await api.post("/api/applications", json=body or company_setup(), headers=headers)
    assert response.status_code == 201, response.text
    receipt = dict(response.json())
    if accept and receipt["state"] == "received":
        number = receipt["application_no"]
        accepted = await api.post(
            f"/api/window/applications/{number}/accept", headers=await as_user(api, CLERK)
        )
        assert accepted.status_code == 200, accepted.text
        view = accepted.json()
        keys = ("state", "accepted_at", "promised_deadline", "deadline_provisional")
        receipt |= {k: view[k] for k in keys}
    return receipt


async def status(api: httpx.AsyncClient, number: str, code: str) -> dict[str, Any]:
    response = await api.get(f"/api/applications/{number}", headers=code_header(code))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def inbox(api: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[Json]:
    params.setdefault("limit", 500)  # the session's database keeps every test's tasks
    response = await api.get("/api/tasks", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return list(response.json())


async def task_of(
    api: httpx.AsyncClient, headers: dict[str, str], number: str, **params: Any
) -> dict[str, Any]:
    # Asked by number: the session's database holds every test's tasks, more than a page.
    params.setdefault("application_no", number)
    [task] = [t for t in await inbox(api, headers, **params) if t["application_no"] == number]
    return dict(task)


async def task_for(api: httpx.AsyncClient, department: str, number: str) -> Json:
    """The open task of `department` (signed in as its demo account) on application `number`."""
    return await task_of(api, await as_user(api, department), number)


async def invoice_returned(api: httpx.AsyncClient, number: str) -> Json:
    """退单: the tax office sends its invoice step of `number` back; returns that task."""
    invoice = await task_for(api, "tax", number)
    back = await api.post(
        f"/api/tasks/{invoice['id']}/return",
        headers=await as_user(api, "tax"),
        json={"reason": "发票申领应由市场监管局一并办理"},
    )
    assert back.status_code == 200, back.text
    return invoice


async def decide(
    api: httpx.AsyncClient, department: str, number: str, body: Json | None = None
) -> httpx.Response:
    """`department` decides its task on `number` (approves it unless `body` says otherwise)."""
    task = await task_for(api, department, number)
    return await api.post(
        f"/api/tasks/{task['id']}/decision",
        headers=await as_user(api, department),
        json=body or approval(task),
    )


async def approve_all(api: httpx.AsyncClient, number: str, departments: tuple[str, ...]) -> None:
    for department in departments:
        response = await decide(api, department, number)
        assert response.status_code == 200, response.text


async def hand_over(api: httpx.AsyncClient, number: str) -> None:
    """The window hands a granted result over (once its licences are written)."""
    clerk = await as_user(api, CLERK)
    for _ in range(300):
        answer = await api.post(
            f"/api/window/applications/{number}/handover",
            headers=clerk,
            json={"method": "window", "ref": "申请人本人"},
        )
        if answer.status_code != 409 or "正在生成" not in answer.text:
            break
        await asyncio.sleep(0.05)  # the licences are still being written
    assert answer.status_code == 204, answer.text


def error_body(response: httpx.Response, status_code: int) -> Json:
    """The JSON error of `response`, checked to have the API's shape and `status_code`."""
    assert response.status_code == status_code, response.text
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error", "message", "details"}, body
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    return body


def invalid_fields(response: httpx.Response) -> dict[str, str]:
    """The fields a 422 names, each with its reason (also checked to be in the message)."""
    body = error_body(response, 422)
    assert body["error"] == "invalid_input"
    fields = {d["field"]: d["reason"] for d in body["details"]}
    for field in fields:
        assert field in body["message"]
    return fields


# --- the database behind the API -------------------------------------------------------------


async def application_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(ApplicationRow)) or 0)


async def application_numbers(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.scalars(select(ApplicationRow.application_no))).all())


async def idempotency_row(engine: AsyncEngine, key: str) -> tuple[str, str] | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(IdempotencyRow.application_no, IdempotencyRow.query_code).where(
                    IdempotencyRow.key == key
                )
            )
        ).first()
        return None if row is None else (row[0], row[1])


async def issued_numbers(engine: AsyncEngine, region: str = "340500") -> set[str]:
    """Every application number handed out so far (the per-day sequences)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(NumberSequenceRow.day, NumberSequenceRow.last))).all()
    return {f"{region}{day}{n:06d}" for day, last in rows for n in range(1, last + 1)}


async def ensure_staff(
    sessions: async_sessionmaker[AsyncSession], username: str, department: str
) -> None:
    """A second member of staff in `department` (password "demo"), created once."""
    from api.services.accounts import create_user
    from domain.actors import Role

    async with sessions() as session:
        if await session.scalar(select(UserRow).where(UserRow.username == username)) is None:
            await create_user(
                session,
                username=username,
                display_name=f"{department}第二审批员",
                role=Role.staff,
                department=department,
                password="demo",
                demo=True,  # like the demo accounts: test accounts sign in with "demo"
            )
            await session.commit()


@contextlib.asynccontextmanager
async def second_app(
    engine: AsyncEngine,
    *,
    temporal_client: Client | None = None,
    client_host: str = "127.0.0.1",
    session_clock: Callable[[], datetime] | None = None,
    **settings: Any,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Another instance of the API on the session's database, with settings of its own.

    It starts no worker: give it a `temporal_client` only for calls that start nothing, or
    terminate what it starts before the test ends (a workflow without a worker stops time
    skipping for the whole session).
    """
    from api.app import create_app
    from settings import Settings

    config = Settings(
        **(
            {"database_url": "unused: the engine is passed in", "secret_key": TEST_SECRET}
            | settings
        )
    )
    from api.services.accounts import real_now

    app = create_app(
        config,
        temporal_client=temporal_client,
        db_engine=engine,
        session_clock=session_clock or real_now,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(client_host, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://tongban.test") as client:
            yield app, client


async def other_client(app: FastAPI, client_host: str) -> httpx.AsyncClient:
    """A client of `app` calling from another address (close it after use)."""
    transport = httpx.ASGITransport(app=app, client=(client_host, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://tongban.test")
