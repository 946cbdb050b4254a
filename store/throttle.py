"""Failed guesses in the database (`ThrottleFailureRow`): counted, recorded and purged.

A failure counts against a key until it expires; a key is counted by an index probe on
(key, expires_at), so the status poll can count its two keys in the same statement that
reads the application (`failures_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

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


def _count(n: int) -> Any:
    """The failures of `n` keys bound as k0, k1, ...: one statement, an index probe each."""
    return read_by_key(select(*(failures_of(f"k{i}") for i in range(n))))


_COUNTS = {n: _count(n) for n in (2, 3)}
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


async def counts(reader: Reader, keys: Sequence[str], now: datetime) -> tuple[int, ...]:
    statement = _COUNTS[len(keys)] if len(keys) in _COUNTS else _count(len(keys))
    params: dict[str, Any] = {f"k{i}": key for i, key in enumerate(keys)} | {NOW.key: now}
    row = await reader.run_sync(lambda sync: sync.execute(statement, params).one())
    return tuple(int(n) for n in row)


async def freed_at(reader: Reader, key: str, beyond: int, now: datetime) -> datetime | None:
    """When the failures of `key`, `beyond` more than its limit allows (0: as many), fall
    below that limit (None: they already have)."""
    params = {"key": key, "beyond": beyond, NOW.key: now}
    return await reader.run_sync(lambda sync: sync.execute(_FREED_AT, params).scalar())


async def record(reader: Reader, keys: Iterable[str], expires_at: datetime) -> None:
    rows = [{"key": key, "expires_at": expires_at} for key in keys]
    await reader.execute(insert(ThrottleFailureRow), rows)


async def forget(reader: Reader, keys: Iterable[str], expires_at: datetime) -> None:
    """Take back one failure of each key recorded to expire at `expires_at` (an attempt
    counted before its check, which then passed)."""
    t = ThrottleFailureRow
    for key in keys:
        one = select(t.id).where(t.key == key, t.expires_at == expires_at).limit(1)
        await reader.execute(delete(t).where(t.id.in_(one.scalar_subquery())))


async def purge(reader: Reader, now: datetime) -> None:
    """Forget the failures that no longer count."""
    await reader.execute(delete(ThrottleFailureRow).where(ThrottleFailureRow.expires_at <= now))
