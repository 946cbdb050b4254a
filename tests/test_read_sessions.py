"""Sessions for requests that only read (store.db.read_session_factory): on PostgreSQL each
statement on its own, with no transaction around it, and nothing of that left on the pooled
connection for the sessions that write."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import read_session_factory, session_factory

# Within a transaction now() is the transaction's start, so two statements see the same.
NOW = text("SELECT now()")


async def test_reads_take_no_transaction_and_leave_none_behind(engine: AsyncEngine) -> None:
    reads = read_session_factory(engine)
    if engine.dialect.name != "postgresql":
        # SQLite's driver begins no transaction for a read: the ordinary sessions serve.
        assert reads.kw["bind"] is engine
        return
    async with reads() as session:
        first = (await session.execute(NOW)).scalar_one()
        second = (await session.execute(NOW)).scalar_one()
        assert first != second  # each statement its own transaction
    # The same pooled connection, given to a session that writes, is transactional again.
    async with session_factory(engine)() as session:
        first = (await session.execute(NOW)).scalar_one()
        second = (await session.execute(NOW)).scalar_one()
        assert first == second
