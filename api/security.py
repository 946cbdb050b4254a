"""Secrets: staff passwords, tokens, applicants' query codes, and throttling of guesses."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# No 0/O, 1/I/L: read out over the phone or copied from paper without mistakes.
QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
QUERY_CODE_LENGTH = 10  # 31^10: about 49 bits


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verifying against this when the user does not exist costs the same time as a real check,
# so response times do not tell which usernames exist.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_query_code() -> str:
    return "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))


def query_code_digest(secret: bytes, code: str) -> str:
    """Keyed digest: a copy of the database (or of Temporal's history) reveals no codes."""
    return hmac.new(secret, code.strip().upper().encode(), hashlib.sha256).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class FailureLimiter:
    """Counts failures per key in a sliding window; refuses further attempts beyond a limit.

    In memory, per process: behind several API processes put a shared limiter (the reverse
    proxy) in front as well.
    """

    def __init__(self, allowed: int, window_seconds: int) -> None:
        self.allowed, self.window = allowed, window_seconds
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return deque()
        return failures

    def retry_after(self, key: str) -> int | None:
        """Seconds to wait if `key` is over the limit, else None."""
        now = time.monotonic()
        failures = self._recent(key, now)
        if len(failures) < self.allowed:
            return None
        return max(1, int(failures[0] + self.window - now) + 1)

    def fail(self, key: str) -> None:
        now = time.monotonic()
        self._failures[key].append(now)
        if len(self._failures) > 50_000:  # keep memory bounded under a flood of keys
            for stale in [k for k in self._failures if not self._recent(k, now)]:
                self._failures.pop(stale, None)


class Throttle:
    """Failed attempts counted per (subject, client), and with a tenfold cap per client.

    Keyed by what is being guessed (a username, an application number) as well as by the
    address, so one person's mistakes do not lock out a whole office behind one NAT address,
    while guessing across many subjects from one address is still stopped.
    """

    BROAD_FACTOR = 10

    def __init__(self, allowed: int, window_seconds: int) -> None:
        self.narrow = FailureLimiter(allowed, window_seconds)
        self.broad = FailureLimiter(allowed * self.BROAD_FACTOR, window_seconds)

    def retry_after(self, subject: str, client: str) -> int | None:
        waits = [
            w
            for w in (
                self.narrow.retry_after(f"{subject}|{client}"),
                self.broad.retry_after(client),
            )
            if w is not None
        ]
        return max(waits, default=None)

    def fail(self, subject: str, client: str) -> None:
        self.narrow.fail(f"{subject}|{client}")
        self.broad.fail(client)
