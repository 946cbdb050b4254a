"""Signed HTTP deliveries, as the Standard Webhooks spec has them (`webhook-id`,
`webhook-timestamp`, `webhook-signature`): a receiver verifies each with the shared secret
and recognises a retried delivery by its id."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from activities.outbound import Outbound

SECRET_PREFIX = "whsec_"


def secret_problem(secret: str) -> str | None:
    """Why `secret` is not a Standard Webhooks secret (`whsec_` + base64), or None."""
    if not secret.startswith(SECRET_PREFIX):
        return "the secret is whsec_ followed by base64 (e.g. from `openssl rand -base64 32`)"
    try:
        Webhook(secret)
    except Exception:
        return "the part after whsec_ is not base64"
    return None


def signed_headers(
    secret: str | None, message_id: str, body: str, now: datetime | None = None
) -> dict[str, str]:
    sent = (now or datetime.now(UTC)).astimezone(UTC)
    headers = {"webhook-id": message_id, "webhook-timestamp": str(int(sent.timestamp()))}
    if secret:
        headers["webhook-signature"] = Webhook(secret).sign(message_id, sent, body)
    return headers


async def post_signed(
    outbound: Outbound,
    url: str,
    *,
    secret: str | None,
    message_id: str,
    body: str,
    content_type: str = "application/json",
) -> httpx.Response:
    headers = signed_headers(secret, message_id, body) | {"content-type": content_type}
    return await outbound.post(url, content=body.encode(), headers=headers)
