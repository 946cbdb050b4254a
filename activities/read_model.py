"""The activity that writes each workflow transition into the SQL read model."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain.application import Projection
from store.projection import apply_projection


class ReadModelActivities:
    """Holds the database sessions the activities write with (one per worker)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="record_projection")
    async def record_projection(self, projection: Projection) -> None:
        async with self._sessions() as session, session.begin():
            await apply_projection(session, projection)
