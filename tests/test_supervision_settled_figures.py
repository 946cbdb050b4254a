"""The supervisor's materials and ratings figures: those of applications received, and
ratings given, before the day began are counted once a day (api.services.settled), those
since on every view, and together they are every material and every rating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.services import settled
from simulation.idle import settle
from store.models import ApplicationRow, MaterialRow, RatingRow
from tests.api_helpers import SUPERVISOR, as_user, submit, task_for
from tests.timeline import eventually, skip_to

# Whatever the engine's clock says (tests skip time), one is before the day's cutoff and
# the other after it.
LONG_AGO = datetime(2000, 1, 3, tzinfo=UTC)
FAR_AHEAD = datetime(2999, 1, 3, tzinfo=UTC)


async def _received(
    api: httpx.AsyncClient, env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession]
) -> str:
    number = str((await submit(api))["application_no"])
    await settle(env.client.get_workflow_handle(number))
    return number


def _rating(number: str, level: str, at: datetime) -> RatingRow:
    return RatingRow(application_no=number, level=level, reason="测试", rated_at=at)


async def test_materials_and_ratings_are_the_settled_kept_and_the_days_counted_live(
    api: httpx.AsyncClient,
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settled, "_kept", {})  # other tests' views of the day: start from none
    old, new = await _received(api, env, sessions), await _received(api, env, sessions)
    async with sessions() as session, session.begin():
        # `old` was received long ago: its materials are settled.
        await session.execute(
            update(ApplicationRow)
            .where(ApplicationRow.application_no == old)
            .values(received_at=LONG_AGO)
        )
        session.add_all([_rating(old, "satisfied", LONG_AGO), _rating(new, "satisfied", FAR_AHEAD)])
    boss = await as_user(api, SUPERVISOR)

    async def reported() -> tuple[int, int, dict[str, int]]:
        response = await api.get("/api/supervision/overview", headers=boss)
        assert response.status_code == 200, response.text
        body = response.json()
        return body["materials_total"], body["materials_not_asked"], body["ratings"]

    async def in_the_tables() -> tuple[int, int, dict[str, int]]:
        async with sessions() as session:
            total = await session.scalar(select(func.count()).select_from(MaterialRow))
            verified = await session.scalar(
                select(func.count()).where(MaterialRow.verified.is_(True))
            )
            levels = await session.execute(
                select(RatingRow.level, func.count()).group_by(RatingRow.level)
            )
            return int(total or 0), int(verified or 0), {lv: int(n) for lv, n in levels}

    assert await reported() == await in_the_tables()  # every one, none twice
    total, _, ratings = await reported()
    # Received and rated today: they show at once.
    newer = await _received(api, env, sessions)
    async with sessions() as session, session.begin():
        session.add(_rating(newer, "very_satisfied", FAR_AHEAD))
        of_newer = await session.scalar(
            select(func.count()).where(MaterialRow.application_no == newer)
        )
    assert of_newer
    after = await reported()
    assert after[0] == total + of_newer
    assert after[2] == ratings | {"very_satisfied": ratings.get("very_satisfied", 0) + 1}
    assert after == await in_the_tables()


async def test_a_grant_undone_and_late_verifications_show_the_same_day(
    api: httpx.AsyncClient,
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """告知承诺: two applications granted at once on the commitment, their verifications
    done long after the figures of the day were counted and kept (one passed, one failed and
    revoked). The overview shows the revocation and both verifications that same day, and
    counts the verifications late, as the tax office made them."""
    from tests.test_api_pledges import tax_commitment

    monkeypatch.setattr(settled, "_kept", {})
    boss = await as_user(api, SUPERVISOR)
    passes, fails = [str((await submit(api, tax_commitment()))["application_no"]) for _ in "ab"]
    await skip_to(env, await env.get_current_time() + timedelta(days=30))

    async def overview() -> dict[str, Any]:
        response = await api.get("/api/supervision/overview", headers=boss)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def tax(figures: dict[str, Any]) -> tuple[int, int]:
        [row] = [d for d in figures["departments"] if d["department"] == "tax"]
        return row["completed"], row["on_time"]

    before = await overview()  # the day's settled figures are counted and kept now
    verifier = await as_user(api, "tax")
    for number, passed in ((passes, True), (fails, False)):
        task = await task_for(api, "tax", number)
        verdict = {"passed": passed, "findings": "经核查情况属实" if passed else "尚有欠税"}
        answer = await api.post(
            f"/api/tasks/{task['id']}/verification", headers=verifier, json=verdict
        )
        assert answer.status_code == 200, answer.text

    async def states() -> dict[str, int]:
        async with sessions() as session:
            rows = await session.execute(
                select(ApplicationRow.state, func.count()).group_by(ApplicationRow.state)
            )
            found = {state: int(n) for state, n in rows}
        assert found.get("revoked", 0) == before["applications_by_state"].get("revoked", 0) + 1
        return found

    in_the_table = await eventually(states)
    after = await overview()
    assert after["applications_by_state"] == in_the_table
    assert after["completed"] == before["completed"] - 1  # granted, then revoked
    decided, on_time = tax(before)
    assert tax(after) == (decided + 2, on_time)  # both verified, both after their due day
