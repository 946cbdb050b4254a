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

from sqlalchemy.ext.asyncio import AsyncSession

from store import throttle as failures
from store.db import Reader


@dataclass
class Attempt:
    """One attempt's keys at one moment, and their failures once counted."""

    narrow: str  # the subject from the client
    broad: str  # anything from the client
    now: datetime
    counts: tuple[int, ...] | None = None
    account: str | None = None  # the subject from anywhere (an account's own limit)

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.narrow, self.broad) + ((self.account,) if self.account else ())

    def params(self) -> dict[str, Any]:
        """The parameters of `store.throttle.failures_of("narrow")` and `("broad")`."""
        return {"narrow": self.narrow, "broad": self.broad, failures.NOW.key: self.now}


class Throttle:
    BROAD_FACTOR = 10
    # An account's failures from every address together (登录失败处理): guessing one
    # password from many addresses is stopped too, at a limit a person's typos never reach.
    ACCOUNT_FACTOR = 3
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

    def attempt(
        self, subject: str, client: str, now: datetime, *, per_account: bool = False
    ) -> Attempt:
        """`subject` guessed from `client` at `now` (the real time, as sessions count it);
        `per_account`: also counted for the subject from any address."""
        narrow, broad = self._key("subject", subject, client), self._key("client", client)
        account = self._key("account", subject) if per_account else None
        return Attempt(narrow, broad, now, account=account)

    async def retry_after(
        self, reader: Reader, attempt: Attempt, *, reserved: bool = False
    ) -> int | None:
        """Seconds to wait if a key of `attempt` is over its limit, else None. `reserved`:
        the attempt itself is among the failures counted (`reserve`)."""
        if attempt.counts is None:
            attempt.counts = await failures.counts(reader, attempt.keys, attempt.now)
        limits = (
            self.allowed,
            self.allowed * self.BROAD_FACTOR,
            self.allowed * self.ACCOUNT_FACTOR,
        )
        own = 1 if reserved else 0
        over = [
            (key, count - own - limit)
            for key, count, limit in zip(attempt.keys, attempt.counts, limits, strict=False)
            if count - own >= limit
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
        await failures.record(reader, attempt.keys, attempt.now + self.window)
        if self._purged_at is None or attempt.now - self._purged_at >= self.PURGE_EVERY:
            self._purged_at = attempt.now
            await failures.purge(reader, attempt.now)

    async def reserve(self, session: AsyncSession, attempt: Attempt) -> int | None:
        """Count `attempt` as failed before it is checked, and commit: guesses sent at once
        then each see the others, where counting only once checked let every one of them
        through on the same count. Seconds to wait if it is one too many; `forgive` takes
        it back once it passes."""
        await self.fail(session, attempt)
        await session.commit()
        attempt.counts = None
        return await self.retry_after(session, attempt, reserved=True)

    async def forgive(self, reader: Reader, attempt: Attempt) -> None:
        """The reserved attempt passed: its failure no longer counts (the caller commits)."""
        await failures.forget(reader, attempt.keys, attempt.now + self.window)
