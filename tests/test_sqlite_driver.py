"""The SQLite driver (store/sqlite_driver.py): one trip to aiosqlite's thread per statement,
none for a commit or rollback SQLite would skip, and otherwise what the stock driver does."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import create_engine, read_by_key, session_factory


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every trip to a connection's thread, by what it ran."""
    counted: Counter[str] = Counter()
    original = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        counted[getattr(fn, "__name__", repr(fn))] += 1
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    return counted


async def test_a_read_in_a_session_is_one_trip(engine: AsyncEngine, trips: Counter[str]) -> None:
    sessions = session_factory(engine)
    async with sessions() as session:  # the pool's first connection is made outside the count
        await session.execute(text("SELECT 1"))
    trips.clear()
    async with sessions() as session:
        assert (await session.execute(text("SELECT v FROM t WHERE id = 1"))).all() == []
    assert trips == Counter({"_run": 1})  # no cursor, fetch, close or rollback of its own


async def test_writes_commit_roll_back_and_count_as_before(
    engine: AsyncEngine, trips: Counter[str]
) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
        assert inserted.lastrowid == 1 and inserted.rowcount == 1
        many = await connection.execute(
            text("INSERT INTO t (v) VALUES (:v)"), [{"v": "b"}, {"v": "c"}]
        )
        assert many.rowcount == 2
    assert trips["commit"] == 1

    async with engine.connect() as connection:
        await connection.execute(text("UPDATE t SET v = 'z' WHERE id = 1"))
        await connection.rollback()  # a write is open: this one is a real rollback
    assert trips["rollback"] == 1

    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT id, v FROM t ORDER BY id"))
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "b"), (3, "c")]
        assert list(rows.keys()) == ["id", "v"]


async def test_errors_are_sqlalchemys_and_leave_the_connection_usable(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (v) VALUES ('b')"))
            await connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 1


async def test_a_read_by_key_makes_no_trip(engine: AsyncEngine, trips: Counter[str]) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
    by_key = read_by_key(text("SELECT v FROM t WHERE id = :id"))
    sessions = session_factory(engine)
    async with sessions() as session:
        await session.execute(by_key, {"id": 1})  # the journal mode is asked once per connection
        trips.clear()
        assert (await session.execute(by_key, {"id": 1})).scalar() == "a"
        assert (await session.execute(by_key, {"id": 2})).all() == []
    assert trips == Counter()


async def test_outside_wal_a_read_by_key_takes_the_trip(trips: Counter[str]) -> None:
    """A database not in WAL mode (here, in memory) may make a reader wait for a writer's
    lock: such a read must not run in the event loop's thread."""
    engine = create_engine("sqlite://")
    try:
        async with engine.connect() as connection:
            trips.clear()
            assert (await connection.execute(read_by_key(text("SELECT 7")))).scalar() == 7
        assert trips["_run"] == 1
    finally:
        await engine.dispose()
