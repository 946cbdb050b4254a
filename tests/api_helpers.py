"""Calling the API in tests as each kind of user would."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import credit_code, id_number


async def login(api: httpx.AsyncClient, username: str, password: str = "demo") -> dict[str, str]:
    response = await api.post("/api/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def person(**overrides: Any) -> dict[str, Any]:
    return {"name": "张三", "id_number": id_number(), "phone": "13912345678"} | overrides


def company(**overrides: Any) -> dict[str, Any]:
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


def company_setup(**overrides: Any) -> dict[str, Any]:
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


async def submit(
    api: httpx.AsyncClient, body: dict[str, Any] | None = None, **headers: str
) -> dict[str, Any]:
    response = await api.post("/api/applications", json=body or company_setup(), headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def status(api: httpx.AsyncClient, number: str, code: str) -> dict[str, Any]:
    response = await api.get(f"/api/applications/{number}", headers={"X-Query-Code": code})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def task_of(
    api: httpx.AsyncClient, headers: dict[str, str], number: str, **params: Any
) -> dict[str, Any]:
    response = await api.get("/api/tasks", headers=headers, params=params)
    assert response.status_code == 200, response.text
    [task] = [t for t in response.json() if t["application_no"] == number]
    return dict(task)
