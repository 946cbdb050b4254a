"""Secrets: staff passwords, tokens, applicants' query codes (their guessing is throttled by
`api.services.throttle`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

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


def keyed_query_code(secret: bytes, *parts: str) -> str:
    """The query code of a submission sent with an Idempotency-Key, derived from the key and
    the request under the deployment's secret: a retry is answered with the same code, and
    the database keeps no code to be read back from a copy of it."""
    message = "\x1f".join(("idempotent-submission", *parts)).encode()
    n = int.from_bytes(hmac.new(secret, message, hashlib.sha256).digest(), "big")
    code = []
    for _ in range(QUERY_CODE_LENGTH):
        n, i = divmod(n, len(QUERY_CODE_ALPHABET))
        code.append(QUERY_CODE_ALPHABET[i])
    return "".join(code)


def query_code_digest(secret: bytes, code: str) -> str:
    """Keyed digest: a copy of the database (or of Temporal's history) reveals no codes."""
    return hmac.new(secret, code.strip().upper().encode(), hashlib.sha256).hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
