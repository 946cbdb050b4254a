"""Throttling of failed guesses: query codes, passwords, licence holders' names.

Failures are counted per (subject, client), and, ten times as many, per client alone: one
person's mistakes behind a centre's NAT address do not lock out the whole office, while
guessing across many subjects from one address is still stopped. They are counted in the
database (`store.throttle`), so every API process on every host counts the same guesses
(with `tongban api --workers N` a guesser would otherwise have N times the attempts), and a
restart forgets none.

An attempt's keys are HMACs, under the deployment's secret, of what is guessed and from
where; the table holds no username, application number, ID number or address.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from store import throttle as failures
from store.db import Reader


@dataclass
class Attempt:
    """One attempt's two keys at one moment, and their failures once counted."""

    narrow: str  # the subject from the client
    broad: str  # anything from the client
    now: datetime
    counts: tuple[int, int] | None = None

    def params(self) -> dict[str, Any]:
        """The parameters of `store.throttle.failures_of("narrow")` and `("broad")`."""
        return {"narrow": self.narrow, "broad": self.broad, failures.NOW.key: self.now}


class Throttle:
    BROAD_FACTOR = 10
    # Expired failures are deleted by the next failure recorded at least this long after
    # the last deletion (by this process): nothing else has to run for it.
    PURGE_EVERY = timedelta(minutes=1)

    def __init__(
        self,
        kind: str,
        allowed: int,
        window_seconds: int,
        *,
        secret: bytes,
    ) -> None:
        self.kind, self.allowed = kind, allowed
        self.window = timedelta(seconds=window_seconds)
        self._secret = secret
        self._purged_at: datetime | None = None

    def _key(self, *parts: str) -> str:
        # Tagged by what the key counts ("subject", "client"): no subject typed makes its key
        # the key of a client's (the address, the last part, never holds the separator).
        message = "\x1f".join((self.kind, *parts)).encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def attempt(self, subject: str, client: str, now: datetime) -> Attempt:
        """`subject` guessed from `client` at `now` (the real time, as sessions count it)."""
        narrow, broad = self._key("subject", subject, client), self._key("client", client)
        return Attempt(narrow, broad, now)

    async def retry_after(self, reader: Reader, attempt: Attempt) -> int | None:
        """Seconds to wait if either key of `attempt` is over its limit, else None."""
        if attempt.counts is None:
            attempt.counts = await failures.counts(
                reader, attempt.narrow, attempt.broad, attempt.now
            )
        narrow, broad = attempt.counts
        over = [
            (key, count - limit)
            for key, count, limit in (
                (attempt.narrow, narrow, self.allowed),
                (attempt.broad, broad, self.allowed * self.BROAD_FACTOR),
            )
            if count >= limit
        ]
        if not over:
            return None
        waits = [1.0]
        for key, beyond in over:
            freed = await failures.freed_at(reader, key, beyond, attempt.now)
            if freed is not None:
                waits.append((freed - attempt.now).total_seconds())
        return max(1, math.ceil(max(waits)))

    async def fail(self, reader: Reader, attempt: Attempt) -> None:
        """Record a failed attempt; the caller commits it."""
        await failures.record(reader, (attempt.narrow, attempt.broad), attempt.now + self.window)
        if self._purged_at is None or attempt.now - self._purged_at >= self.PURGE_EVERY:
            self._purged_at = attempt.now
            await failures.purge(reader, attempt.now)
