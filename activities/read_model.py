"""The activity that writes each workflow transition into the SQL read model."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from definitions.notice_templates import Templates, default_templates
from domain.application import Projection
from store.projection import apply_projection


class ReadModelActivities:
    """Holds the database sessions the activities write with (one per worker), and the
    words of the notifications."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], templates: Templates | None = None
    ) -> None:
        self._sessions = sessions
        self._templates = templates or default_templates()

    @activity.defn(name="record_projection")
    async def record_projection(self, projection: Projection) -> None:
        async with self._sessions() as session, session.begin():
            await apply_projection(session, projection, self._templates)
