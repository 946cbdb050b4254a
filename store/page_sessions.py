"""Page sessions in the database (`PageSessionRow`): found, written, ended and purged.

A row is found by the SHA-256 of the token its browser holds, and only while it has not
expired: an expired row is never brought back, its browser starts a new session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update

from store.db import Reader, read_by_key
from store.models import PageSessionRow
from store.types import UTCDateTime

_S = PageSessionRow.__table__.c
_FIND = read_by_key(
    select(_S.data, _S.expires_at, _S.ends_at).where(
        _S.key == bindparam("key"), _S.expires_at > bindparam("now", type_=UTCDateTime())
    )
)


async def find(reader: Reader, key: str, now: datetime) -> tuple[str, datetime, datetime] | None:
    """The session's JSON, expiry and absolute end, if it is still live at `now`."""
    params = {"key": key, "now": now}
    row = await reader.run_sync(lambda sync: sync.execute(_FIND, params).one_or_none())
    return None if row is None else (str(row.data), row.expires_at, row.ends_at)


async def create(
    reader: Reader, key: str, data: str, expires_at: datetime, ends_at: datetime
) -> None:
    await reader.execute(
        insert(PageSessionRow).values(key=key, data=data, expires_at=expires_at, ends_at=ends_at)
    )


async def keep(reader: Reader, key: str, data: str, expires_at: datetime, *, held: str) -> bool:
    """Write the session's new contents and expiry if its row still holds `held`; False if
    it does not (changed by another request meanwhile, or gone)."""
    done = await reader.execute(
        update(PageSessionRow)
        .where(PageSessionRow.key == key, PageSessionRow.data == held)
        .values(data=data, expires_at=expires_at)
    )
    return bool(getattr(done, "rowcount", 0))


async def touch(reader: Reader, key: str, expires_at: datetime) -> bool:
    """Move the session's expiry on (it was used), whatever it holds by now; False if its
    row is gone."""
    done = await reader.execute(
        update(PageSessionRow).where(PageSessionRow.key == key).values(expires_at=expires_at)
    )
    return bool(getattr(done, "rowcount", 0))


async def end(reader: Reader, key: str, *, held: str | None = None) -> bool:
    """End the session (only if its row still holds `held`, when given); False if not."""
    ended = delete(PageSessionRow).where(PageSessionRow.key == key)
    if held is not None:
        ended = ended.where(PageSessionRow.data == held)
    done = await reader.execute(ended)
    return bool(getattr(done, "rowcount", 0))


async def purge(reader: Reader, now: datetime) -> None:
    """Forget the sessions that have expired."""
    await reader.execute(delete(PageSessionRow).where(PageSessionRow.expires_at <= now))
