"""Status polls: what the stack serves, closed loop and open loop.

Closed loop (`capacity`): N pollers each send the next poll as soon as the last is answered;
requests per second is what the stack can serve. Open loop (`open_loop`): polls are sent on a
fixed schedule whatever the answers, while applications keep flowing, and each latency is
counted from when its poll was due, not from when it could be sent, so a stalled server shows
in the figures instead of slowing the load down (coordinated omission).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any
from urllib.parse import urlsplit

# uvicorn closes a kept-alive connection idle for 5 s; the bench lets one go a little sooner,
# as HTTP clients do, so that a poll is never sent down a connection being closed.
KEEP_ALIVE = 4.0


class PollError(Exception):
    """A poll answered with anything but 200, or a connection that failed."""


class Connection:
    """One kept-alive HTTP/1.1 connection, sending status polls one at a time.

    The bench shares two cores with the stack it measures. httpx spent about as much CPU on
    each poll as the API did (243 polls/s through httpx, 428/s through this, against the same
    API), so the figures measured the client; this writes the request line and reads the
    answer by its Content-Length, and nothing more."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, base: str) -> Connection:
        url = urlsplit(base)
        reader, writer = await asyncio.open_connection(url.hostname, url.port or 80)
        return cls(reader, writer)

    async def poll(self, app: tuple[str, str]) -> None:
        number, code = app
        self.writer.write(
            f"GET /api/applications/{number} HTTP/1.1\r\nHost: bench\r\n"
            f"X-Query-Code: {code}\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        if head[9:12] != b"200":
            raise PollError(head.split(b"\r\n", 1)[0].decode())

    def close(self) -> None:
        self.writer.close()


def _percentiles(latencies: list[float]) -> dict[str, float]:
    latencies = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 2),
    }


async def capacity(
    base: str, apps: list[tuple[str, str]], pollers: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def poller(i: int) -> None:
        connection = await Connection.open(base)
        try:
            k = i
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                await connection.poll(apps[k % len(apps)])
                latencies.append(time.perf_counter() - t0)
                k += pollers
        finally:
            connection.close()

    await asyncio.gather(*(poller(i) for i in range(pollers)))
    return {
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / seconds, 1),
        **_percentiles(latencies),
    }


async def open_loop(
    base: str,
    apps: list[tuple[str, str]],
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    """Polls at `rate` per second for `seconds`, each latency counted from when the poll was
    due (whatever else runs meanwhile is the caller's: see bench.flow)."""
    latencies: list[float] = []
    errors = 0
    # Kept alive between polls, with when each was last used; a new one when none is free.
    idle: list[tuple[Connection, float]] = []
    connections = asyncio.Semaphore(400)  # past that, a due poll waits (and its wait counts)

    async def free_connection() -> Connection:
        while idle:
            connection, since = idle.pop()
            if time.perf_counter() - since < KEEP_ALIVE:
                return connection
            connection.close()  # the server may have closed it: not a failed poll
        return await Connection.open(base)

    async def one(k: int, due: float) -> None:
        nonlocal errors
        async with connections:
            connection = None
            try:
                connection = await free_connection()
                await connection.poll(apps[k % len(apps)])
                idle.append((connection, time.perf_counter()))
            except (OSError, asyncio.IncompleteReadError, PollError):
                errors += 1
                if connection is not None:
                    connection.close()
        latencies.append(time.perf_counter() - due)

    started = time.perf_counter()
    sent: list[asyncio.Task[None]] = []
    for k in range(int(rate * seconds)):
        due = started + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent.append(asyncio.create_task(one(k, due)))
    await asyncio.gather(*sent)
    elapsed = time.perf_counter() - started
    for connection, _ in idle:
        connection.close()
    return {
        "rate": rate,
        "served_per_second": round(len(latencies) / elapsed, 1),
        "errors": errors,
        **_percentiles(latencies),
    }
