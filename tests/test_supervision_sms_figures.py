"""The supervisor's SMS figures: those delivered before the day began are counted once a day
(api.services.settled), those delivered since on every view, and together they are every SMS
delivered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.services import settled
from simulation.idle import settle
from store.models import NotificationRow
from tests.api_helpers import SUPERVISOR, as_user, submit


def _sms(number: str, sent_at: datetime) -> NotificationRow:
    return NotificationRow(
        id=f"test-{uuid.uuid4()}",
        application_no=number,
        at=sent_at,
        recipient="applicant",
        kind="received",
        subject="收件",
        body="收件",
        sent_at=sent_at,
        channel="sms",
        state="sent",
        attempts=1,
    )


async def test_sms_delivered_are_the_days_before_kept_and_today_counted_live(
    api: httpx.AsyncClient,
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Other tests' views of the day are kept in this process: start from none.
    monkeypatch.setattr(settled, "_kept", {})
    number = (await submit(api))["application_no"]
    await settle(env.client.get_workflow_handle(number))
    # `sent_at` is the real time of delivery (the worker's clock), not the engine's.
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        session.add_all([_sms(number, now - timedelta(days=3)), _sms(number, now)])
    boss = await as_user(api, SUPERVISOR)

    async def reported() -> int:
        response = await api.get("/api/supervision/deliveries", headers=boss)
        assert response.status_code == 200, response.text
        return int(response.json()["sms"]["sent"])

    async def in_the_table() -> int:
        async with sessions() as session:
            query = select(func.count()).where(
                NotificationRow.channel == "sms", NotificationRow.state == "sent"
            )
            return int(await session.scalar(query) or 0)

    assert await reported() == await in_the_table()  # every SMS delivered, none twice
    first = await reported()
    async with sessions() as session, session.begin():
        session.add_all([_sms(number, now), _sms(number, now - timedelta(days=3))])
    # Today's delivery shows at once; one dated before the day began was counted with the
    # day's figures already (it can only be one written late: the figures catch up tomorrow).
    assert await reported() == first + 1
