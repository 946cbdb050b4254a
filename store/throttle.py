"""Failed guesses in the database (`ThrottleFailureRow`): counted, recorded and purged.

A failure counts against a key until it expires; a key is counted by an index probe on
(key, expires_at), so the status poll can count its two keys in the same statement that
reads the application (`failures_of`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ScalarSelect, bindparam, delete, func, insert, select

from store.db import Reader, read_by_key
from store.models import ThrottleFailureRow
from store.types import UTCDateTime

_T = ThrottleFailureRow.__table__.c
NOW = bindparam("throttle_now", type_=UTCDateTime())


def failures_of(key_param: str) -> ScalarSelect[int]:
    """The failures of the key bound as `key_param` not yet expired at `throttle_now`."""
    return (
        select(func.count())
        .where(_T.key == bindparam(key_param), _T.expires_at > NOW)
        .scalar_subquery()
    )


_COUNT = read_by_key(select(failures_of("narrow"), failures_of("broad")))
# When a key is over its limit: the expiry after which it is back under it (the failures
# beyond the limit go first: several processes may have recorded some at once).
_FREED_AT = read_by_key(
    select(_T.expires_at)
    .where(_T.key == bindparam("key"), _T.expires_at > NOW)
    .order_by(_T.expires_at)
    .offset(bindparam("beyond"))
    .limit(1)
)


# Reads through run_sync: a connection's own execute insists on awaiting the driver, which a
# read by key on SQLite does not (store/sqlite_driver.py).


async def counts(reader: Reader, narrow: str, broad: str, now: datetime) -> tuple[int, int]:
    params = {"narrow": narrow, "broad": broad, NOW.key: now}
    row = await reader.run_sync(lambda sync: sync.execute(_COUNT, params).one())
    return int(row[0]), int(row[1])


async def freed_at(reader: Reader, key: str, beyond: int, now: datetime) -> datetime | None:
    """When the failures of `key`, `beyond` more than its limit allows (0: as many), fall
    below that limit (None: they already have)."""
    params = {"key": key, "beyond": beyond, NOW.key: now}
    return await reader.run_sync(lambda sync: sync.execute(_FREED_AT, params).scalar())


async def record(reader: Reader, keys: Iterable[str], expires_at: datetime) -> None:
    rows = [{"key": key, "expires_at": expires_at} for key in keys]
    await reader.execute(insert(ThrottleFailureRow), rows)


async def purge(reader: Reader, now: datetime) -> None:
    """Forget the failures that no longer count."""
    await reader.execute(delete(ThrottleFailureRow).where(ThrottleFailureRow.expires_at <= now))
