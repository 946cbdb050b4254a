"""The worker's HTTP client for what leaves the process: SMS, department pushes, the feed.

One pooled client per activity object, made on first use (inside the worker's event loop)
and kept: a new `httpx.AsyncClient` builds a fresh SSL context, some 10 ms of CPU, and one
per message was the largest cost the profiler found in the worker under load. Keeping it
also keeps connections alive to a gateway or department system that is called again and
again. Each call still sets its own timeout.
"""

from __future__ import annotations

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
