"""The services one API process holds: settings, database, engine, catalogue, calendars.

Built once at start-up (`api.app`) and handed to routes by `api.deps`; service functions take
it as an argument, so they can be called from routes, pages and tests alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from api.engine import EngineGateway
from api.services.accounts import real_now
from api.services.status_answers import StatusAnswers
from api.services.throttle import Throttle
from definitions.calendars import CalendarSources
from definitions.catalogue import Catalogue
from domain.regions import RegionTree
from settings import Settings


async def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    # For requests that only read (store.db.read_connections): the status poll.
    reads: Callable[[], AsyncConnection]
    engine: EngineGateway
    catalogue: Catalogue
    regions: RegionTree
    calendars: CalendarSources
    secret: bytes
    # Failed guesses, counted in the database for every process (api.services.throttle):
    # query codes; passwords and clients' secrets; anonymous submissions refused for a
    # licence in another name (api.services.intake).
    lookups: Throttle
    logins: Throttle
    submissions: Throttle
    # The status poll's answers, by the row each was made from.
    answers: StatusAnswers = field(default_factory=StatusAnswers)
    # What "now" is for deadlines and records. Tests use the time-skipping server's clock.
    clock: Callable[[], Awaitable[datetime]] = system_clock
    # The real time of sign-ins and sessions (token lifetime, idle expiry): not the
    # engine's, which the tests skip days ahead. Tests of idle expiry set it by hand.
    session_clock: Callable[[], datetime] = real_now

    @property
    def idle_limit(self) -> timedelta:
        return timedelta(minutes=self.settings.idle_minutes)

    # The hand-made matters' versions the catalogue's entries were last brought in step
    # with: when the versions in force change (a new one takes effect), they are again.
    entries_in_step_with: tuple[tuple[str, int], ...] | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.calendars.centres[self.settings.centre].timezone)

    async def today(self) -> date:
        """Today at the centre (for birth dates that cannot be in the future)."""
        return (await self.clock()).astimezone(self.tz).date()
