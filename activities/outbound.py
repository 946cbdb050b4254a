"""The worker's HTTP client for what leaves the process: SMS, department pushes, the feed.

One pooled client per activity object, made on first use (inside the worker's event loop)
and kept: a new `httpx.AsyncClient` builds a fresh SSL context, some 10 ms of CPU, and one
per message was the largest cost the profiler found in the worker under load. Keeping it
also keeps connections alive to a gateway or department system that is called again and
again.

Each request has a deadline on the whole of it (`post`): httpx's timeouts are per phase
(waiting for a pooled connection, connecting, writing, each read), so a receiver trickling
its answer kept a request going past its activity's timeout, and the attempt Temporal had
given up on ran on beside its retry.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


class Outbound:
    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = timeout_seconds
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        return self._client

    async def post(
        self, url: str, *, seconds: float | None = None, **kwargs: Any
    ) -> httpx.Response:
        """POST, given up (TimeoutError) once `seconds` (the client's timeout by default)
        have passed since it began, whatever phase it is in."""
        limit = self._timeout if seconds is None else seconds
        async with asyncio.timeout(limit):
            return await self.client.post(url, timeout=limit, **kwargs)
