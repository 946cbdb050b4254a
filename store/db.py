"""Engines and sessions. One URL setting; the async driver is derived from it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, Executable, FromClause, TableClause, event
from sqlalchemy import create_engine as create_blocking_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from store import sqlite_driver

# SQLite through aiosqlite, in one trip to its thread per statement (store/sqlite_driver.py).
_ASYNC_DRIVERS = {"sqlite": f"sqlite+{sqlite_driver.DRIVER}", "postgresql": "postgresql+psycopg"}
_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def _with_driver(url: str | URL, drivers: dict[str, str]) -> URL:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in drivers:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return parsed.set(drivername=drivers[backend])


def async_url(url: str | URL) -> URL:
    return _with_driver(url, _ASYNC_DRIVERS)


def sync_url(url: str | URL) -> URL:
    return _with_driver(url, _SYNC_DRIVERS)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while the worker writes; the busy timeout makes a writer wait
    # for the other process instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# Connections each process keeps open, and never more. The pool's default let ten more open
# beyond its five under a burst, each closed again when handed back: under 50 concurrent
# status polls the API opened 80 PostgreSQL connections a second (a process forked and a
# password check each) and served half what it serves with none opened. A request that finds
# every connection in use waits for one (a 503 with Retry-After past the pool's timeout).
POOL_SIZE = 10


def create_engine(url: str | URL, pool_size: int = POOL_SIZE) -> AsyncEngine:
    target = async_url(url)
    sqlite = target.get_backend_name() == "sqlite"
    # A SQLite database in memory lives in its one connection (SQLAlchemy's StaticPool).
    in_memory = sqlite and target.database in (None, "", ":memory:")
    engine = create_async_engine(
        target,
        pool_pre_ping=not sqlite,
        # A statement's values stay out of its errors, which are logged (an outage's 503) and
        # traced: they are an applicant's name, ID number, phone.
        hide_parameters=True,
        **({} if in_memory else {"pool_size": pool_size, "max_overflow": 0}),
    )
    if sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_sync_engine(url: str | URL) -> Engine:
    """A blocking engine, for batch jobs that need no event loop (the licence import)."""
    target = sync_url(url)
    engine = create_blocking_engine(target, pool_pre_ping=target.get_backend_name() != "sqlite")
    if target.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def read_connections(engine: AsyncEngine) -> Callable[[], AsyncConnection]:
    """Connections for a request that only reads, from the same pool, without the ORM's
    session around them (its transaction bookkeeping cost a status poll a tenth of its
    time). On PostgreSQL each statement runs on its own (autocommit): no BEGIN before a read
    and no ROLLBACK after it, two of a status poll's four round trips. SQLite's driver
    begins no transaction for a read anyway."""
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine.connect


# What a read by key runs on: a request's session, or a connection of `read_connections`.
Reader = AsyncSession | AsyncConnection


S = TypeVar("S", bound=Executable)


def read_by_key(statement: S) -> S:
    """Marks a read of a few rows by an indexed key. On SQLite it then runs in the event
    loop's own thread, with no trip to the connection's (store/sqlite_driver.py); never mark a
    write or a read that scans."""
    return statement.execution_options(**{sqlite_driver.IN_LOOP: True})


def insert_into(dialect: str, table: FromClause) -> Any:
    """The INSERT of `dialect` (its name: "postgresql" or "sqlite"), which takes ON CONFLICT
    (upserts, inserts that skip a row there already): the same on both databases."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(cast(TableClause, table))  # a mapped class's __table__ is typed FromClause
