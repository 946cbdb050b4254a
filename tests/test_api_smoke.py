from __future__ import annotations

import httpx

from tests.api_helpers import login, status, submit, task_of


async def test_smoke(api: httpx.AsyncClient) -> None:
    receipt = await submit(api)
    assert len(receipt["query_code"]) >= 8
    s = await status(api, receipt["application_no"], receipt["query_code"])
    assert s["state"] == "accepted"
    amr = await login(api, "amr")
    task = await task_of(api, amr, receipt["application_no"])
    r = await api.post(f"/api/tasks/{task['id']}/claim", headers=amr)
    assert r.status_code == 200, r.text
