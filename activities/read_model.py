"""The activity that writes each workflow transition into the SQL read model, and gives the
SMS it recorded their first try once the transaction is in."""

from __future__ import annotations

from datetime import datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.messages import MessageActivities
from definitions.notice_templates import Templates, default_templates
from domain.application import Projection
from store.projection import apply_projection


class ReadModelActivities:
    """Holds the database sessions the activities write with (one per worker), and the
    words of the notifications."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        messages: MessageActivities,
        templates: Templates | None = None,
        *,
        tz: tzinfo | None = None,
    ) -> None:
        self._sessions = sessions
        self._templates = templates or default_templates()
        self._messages = messages
        self._tz = tz  # the centre's: whose day the statistics count in

    @activity.defn(name="record_projection")
    async def record_projection(self, projection: Projection) -> list[str] | None:
        """Write the transition; then, if asked (`send_sms`), try each of its SMS once: the
        ids left unsent, for the workflow's retried activity. None when not asked (what every
        history recorded before engine 3 holds).

        Sending from here saves each message an activity task and the workflow task that
        follows it, through the Temporal server and back. Retried, this write is written
        again to the same rows and a message already sent is not sent again."""
        async with self._sessions() as session, session.begin():
            today = datetime.now(self._tz).date() if self._tz else None
            await apply_projection(session, projection, self._templates, today=today)
        if not projection.send_sms:
            return None
        return await self._messages.send_now(projection.send_sms)
