"""Figures of what was settled before a cutoff, counted once a day and kept.

What is settled does not change again: an application completes once, a decided step stays
decided, an SMS delivered stays delivered. So the supervisor's figures count what was
settled before the cutoff (the start of the centre's day, less a margin) once a day per
region, and on every view only what is open or settled since: a view costs the day's work,
not the city's whole history. Each API process keeps its own, bounded. The one exception, a
grant revoked or terminated later (撤销, 终止), changes the figures' `version`: they are
counted again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from api.services.accounts import StaffUser
from api.services.region_scope import level_of

T = TypeVar("T")

# A change settled before the cutoff was written by then: a projection (or a delivery)
# commits within seconds of the change, an hour is margin enough. One settled before the
# cutoff but written later (an outage that long) joins the figures the next day.
SETTLED_MARGIN = timedelta(hours=1)

# (what, database, who sees it, cutoff): the figures. Bounded: start again rather than grow.
_kept: dict[tuple[object, ...], Any] = {}
_SIZE = 256


def cutoff(now: datetime, tz: ZoneInfo) -> datetime:
    """The start of `now`'s day at the centre, less the margin."""
    return datetime.combine(now.astimezone(tz).date(), time(), tz) - SETTLED_MARGIN


async def kept(
    what: str,
    session: AsyncSession,
    user: StaffUser,
    before: datetime,
    count: Callable[[], Awaitable[T]],
    version: object = None,
) -> T:
    """`count()`'s figures of `what` settled before `before`, for what `user` sees: counted
    the first time they are asked for, then kept. `version`: what changes when something
    settled changes all the same (a grant revoked), so that they are counted again."""
    key = (
        what,
        str(session.get_bind().engine.url),
        level_of(user),
        user.region,
        user.actor().id,
        before,
        version,
    )
    if key not in _kept:
        figures = await count()
        if len(_kept) > _SIZE:
            _kept.clear()
        _kept[key] = figures
    found: T = _kept[key]
    return found
