"""Engines and sessions (store/db.py): a pool that never opens more connections than its size,
and connections for requests that only read (on PostgreSQL each statement on its own, with no
transaction around it, and nothing of that left on the pooled connection)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from store.db import create_engine, read_connections, session_factory

# Within a transaction now() is the transaction's start, so two statements see the same.
NOW = text("SELECT now()")


async def test_reads_take_no_transaction_and_leave_none_behind(engine: AsyncEngine) -> None:
    reads = read_connections(engine)
    if engine.dialect.name != "postgresql":
        # SQLite's driver begins no transaction for a read: plain connections serve.
        async with reads() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
        return
    async with reads() as connection:
        first = (await connection.execute(NOW)).scalar_one()
        second = (await connection.execute(NOW)).scalar_one()
        assert first != second  # each statement its own transaction
    # The same pooled connection, given to a session that writes, is transactional again.
    async with session_factory(engine)() as session:
        first = (await session.execute(NOW)).scalar_one()
        second = (await session.execute(NOW)).scalar_one()
        assert first == second


async def test_the_pool_opens_no_connection_beyond_its_size(tmp_path: Path) -> None:
    """A burst waits for a connection handed back instead of opening (and then closing) one
    more: on PostgreSQL each is a new server process."""
    engine = create_engine(f"sqlite:///{tmp_path / 'pool.db'}", pool_size=2)
    try:
        async with engine.connect() as first, engine.connect() as second:
            await first.execute(text("SELECT 1"))
            await second.execute(text("SELECT 1"))
            with pytest.raises(TimeoutError):
                # Never granted while both are held: the wait is cut short, not timed.
                await asyncio.wait_for(engine.connect().start(), timeout=0.5)
        async with engine.connect() as again:  # handed back: there is one again
            assert (await again.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
