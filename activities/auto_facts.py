"""秒批: the licence facts a step's rules read, looked up in the library by an activity.

Read only, so retrying it is harmless; its answer is kept in the workflow's history, so the
rules are applied to exactly what it found, on replay too.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from domain.auto_rules import FactsJob, LicenceFact
from domain.licences import LicenceStatus
from store import licences as library


class AutoFactsActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="gather_auto_facts")
    async def gather_auto_facts(self, job: FactsJob) -> list[LicenceFact]:
        """For each query, the holder's newest licence of the type valid on the day the
        step opened (at the centre), or none."""
        today = job.on
        found = []
        async with self._sessions() as session:
            for query in job.licences:
                fact = LicenceFact(type=query.type, holder=query.holder)
                for row in await library.held_by(session, holder_id=query.holder, type=query.type):
                    if library.status(row, today) is LicenceStatus.valid:
                        fact = LicenceFact(
                            type=query.type, holder=query.holder, number=row.number,
                            digest=row.digest, valid_until=row.valid_until, fields=row.fields,
                        )  # fmt: skip
                        break
                found.append(fact)
        return found
