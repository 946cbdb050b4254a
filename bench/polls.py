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
from collections.abc import Callable, Coroutine
from typing import Any

import httpx


def _percentiles(latencies: list[float]) -> dict[str, float]:
    latencies = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 2),
    }


async def _poll(client: httpx.AsyncClient, app: tuple[str, str]) -> None:
    number, code = app
    r = await client.get(f"/api/applications/{number}", headers={"X-Query-Code": code})
    r.raise_for_status()


async def capacity(
    base: str, apps: list[tuple[str, str]], pollers: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=pollers)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def poller(i: int) -> None:
            k = i
            while time.perf_counter() < stop_at:
                t0 = time.perf_counter()
                await _poll(client, apps[k % len(apps)])
                latencies.append(time.perf_counter() - t0)
                k += pollers

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
    background: Callable[[asyncio.Event], Coroutine[Any, Any, int]],
) -> dict[str, Any]:
    """Polls at `rate` per second for `seconds` while `background(done)` keeps applications
    flowing until `done` is set (it returns how many it completed meanwhile)."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=400)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def one(k: int, due: float) -> None:
            nonlocal errors
            try:
                await _poll(client, apps[k % len(apps)])
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - due)

        done = asyncio.Event()
        flowing = asyncio.create_task(background(done))
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
        done.set()
        completed = await flowing
    return {
        "rate": rate,
        "served_per_second": round(len(latencies) / elapsed, 1),
        "errors": errors,
        "applications_meanwhile": completed,
        **_percentiles(latencies),
    }
