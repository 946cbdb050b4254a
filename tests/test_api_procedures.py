"""The procedures of issue 10 through the API: 退单 by the department, 改派 by the window to a
department that exists, the new department finding the task in its inbox."""

from __future__ import annotations

import httpx

from tests.api_helpers import CLERK, as_user, inbox, invalid_fields, submit, task_for


async def test_a_returned_task_is_rerouted_at_the_window_to_an_existing_department(
    api: httpx.AsyncClient,
) -> None:
    number = (await submit(api))["application_no"]
    seal = await task_for(api, "psb", number)
    back = await api.post(
        f"/api/tasks/{seal['id']}/return",
        headers=await as_user(api, "psb"),
        json={"reason": "印章备案已划归市场监管部门"},
    )
    assert back.status_code == 200, back.text
    assert back.json()["state"] == "returned"
    # Out of every inbox while it waits.
    assert not [t for t in await inbox(api, await as_user(api, "psb")) if t["id"] == seal["id"]]

    url = f"/api/window/applications/{number}/steps/seal/reroute"
    clerk = await as_user(api, CLERK)
    nowhere = await api.post(url, headers=clerk, json={"department": "nowhere"})
    assert nowhere.status_code == 422
    assert "没有部门" in invalid_fields(nowhere)["department"]
    moved = await api.post(url, headers=clerk, json={"department": "amr", "reason": "按职责"})
    assert moved.status_code == 200, moved.text
    task = [t for t in await inbox(api, await as_user(api, "amr")) if t["id"] == seal["id"]]
    assert task and task[0]["state"] == "open" and task[0]["deadline"] == seal["deadline"]
