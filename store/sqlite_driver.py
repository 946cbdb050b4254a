"""SQLAlchemy's aiosqlite dialect, with one trip to the connection's thread per statement.

aiosqlite runs each SQLite connection in its own thread, and every call it offers is one
round trip to that thread and back to the event loop: about 100-150 µs on this kind of
machine, far more than SQLite needs to read a row by its key. SQLAlchemy's adapter makes
four such trips per statement (open a cursor, execute, fetch the rows, close the cursor)
and one more for each commit or rollback, even when SQLite has no transaction open. A
status poll thus made six trips for one indexed read (see docs/performance.md).

This dialect does the whole statement in one trip, and skips a commit or rollback that
SQLite itself would skip (no transaction open: `sqlite3` then does nothing either). The
result is the same as the stock dialect's; only the number of trips changes.

A statement marked `.execution_options(in_loop=True)` makes no trip at all: SQLite runs it
in the event loop's own thread. That is for reads by key only (a status poll, a token):
SQLite answers them in microseconds, and on a busy machine the trip there and back took
10-100 ms (the thread waits for a core, then for the GIL, and so does the loop to get the
answer back). In WAL mode a read never waits for a writer's lock, so it cannot stall the
loop (save for SQLite's own recovery of the WAL after a crash, once, briefly); on a database
not in WAL mode the option is ignored. Never mark a write, or a read
that scans: either would hold up every other request of the process meanwhile.

It relies on
two private names of aiosqlite (`Connection._execute`, `Connection._conn`), as SQLAlchemy's
own adapter does; aiosqlite is pinned, and tests/test_sqlite_driver.py checks both.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any, cast

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_

# The name the URL carries: sqlite+aiosqlite_onetrip://
DRIVER = "aiosqlite_onetrip"

# The execution option that runs a read by key in the event loop's thread (see above).
IN_LOOP = "in_loop"

_Outcome = tuple[Any, list[Any], int, int | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """In the connection's thread: the statement, its rows and its counts, in one go."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        else:
            cursor.execute(operation, () if parameters is None else parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor: it holds the outcome of its last statement, no aiosqlite cursor."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection):
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    def _trip(self, operation: str, parameters: Any, many: bool) -> None:
        try:
            outcome: _Outcome = await_(
                self._connection._execute(_run, self._connection._conn, operation, parameters, many)
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._keep(outcome)

    def _keep(self, outcome: _Outcome) -> None:
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    def execute_in_loop(self, operation: str, parameters: Any) -> None:
        """The statement, run here in the event loop's thread: no trip (see the module)."""
        if not cast(OneTripConnection, self._adapt_connection).wal():
            return self._trip(operation, parameters, many=False)
        try:
            outcome = _run(self._connection._conn, operation, parameters, many=False)
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._keep(outcome)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._trip(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._trip(operation, seq_of_parameters, many=True)

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_wal",)

    _cursor_cls = OneTripCursor  # type: ignore[assignment]  # the base declares its exact class

    def _in_transaction(self) -> bool:
        # Read in the event loop's thread: sqlite3 checks only that the connection is open,
        # and no statement runs on it meanwhile (SQLAlchemy uses a connection from one task).
        return bool(self._connection._connection and self._connection.in_transaction)

    def wal(self) -> bool:
        """Whether the database is in WAL mode (asked once per connection): only then does a
        read never wait for a lock."""
        try:
            return self._wal
        except AttributeError:
            [(mode,)] = await_(self._connection.execute_fetchall("PRAGMA journal_mode"))
            self._wal: bool = str(mode).lower() == "wal"
            return self._wal

    def rollback(self) -> None:
        if self._in_transaction():
            super().rollback()

    def commit(self) -> None:
        if self._in_transaction():
            super().commit()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


class OneTripDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    def do_execute(self, cursor: Any, statement: str, parameters: Any, context: Any = None) -> None:
        in_loop = context is not None and context.execution_options.get(IN_LOOP)
        if in_loop and isinstance(cursor, OneTripCursor):
            cursor.execute_in_loop(statement, parameters)
        else:
            cursor.execute(statement, parameters)

    @classmethod
    def import_dbapi(cls) -> OneTripDBAPI:
        return OneTripDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(f"sqlite.{DRIVER}", __name__, "OneTripDialect")
