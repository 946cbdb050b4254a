"""Sending the applicant's notifications by SMS, through the centre's HTTP gateway.

Each message carries its notification's id, so a retried send is recognisable and a gateway
that deduplicates by id delivers it once. Every attempt leaves its trace on the message's
row (attempts, last error), so supervisors see what is pending, sent or given up.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
from pydantic import BaseModel
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.outbound import Outbound
from domain.notices import DeliveryState
from observability.logs import mask
from store.db import read_by_key
from store.models import ApplicationRow, NotificationRow

log = logging.getLogger("tongban.sms")

# The message, its state and where it goes (notifications belong to applications: a foreign
# key), in one read by key.
_MESSAGE = read_by_key(
    select(NotificationRow.state, NotificationRow.sms_text, ApplicationRow.applicant_phone)
    .join(ApplicationRow, ApplicationRow.application_no == NotificationRow.application_no)
    .where(NotificationRow.id == bindparam("id"))
)


class SmsJob(BaseModel):
    notification_id: str
    max_attempts: int


class SmsGateway(BaseModel):
    """Where SMS go: `TONGBAN_SMS_URL` (and its token). Without a URL nothing can be sent."""

    url: str = ""
    token: str = ""
    timeout_seconds: float = 10.0


class MessageActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], gateway: SmsGateway) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._http = Outbound(gateway.timeout_seconds)

    async def _note(self, notification_id: str, **values: object) -> None:
        # A Core update of the table: the ORM's would look for the row in the session too.
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(NotificationRow.__table__)  # type: ignore[arg-type]
                .where(NotificationRow.id == notification_id)
                .values(**values)
            )

    @activity.defn(name="send_sms")
    async def send_sms(self, job: SmsJob) -> None:
        async with self._sessions() as session:
            found = (await session.execute(_MESSAGE, {"id": job.notification_id})).first()
        if found is None:
            raise ApplicationError("no such notification", non_retryable=True)
        state, text, phone = found
        if state == DeliveryState.sent.value:
            return  # an earlier attempt got through
        attempt = activity.info().attempt
        if not self._gateway.url:
            # Nothing to retry against: the message is recorded as not sent, at once.
            error = "未配置短信网关（TONGBAN_SMS_URL），短信未发送"
            await self._note(
                job.notification_id,
                attempts=attempt,
                last_error=error,
                state=DeliveryState.failed.value,
                failed_at=datetime.now(UTC),
            )
            raise ApplicationError(error, non_retryable=True)
        try:
            answer = await self._http.client.post(
                self._gateway.url,
                json={"id": job.notification_id, "to": phone, "text": text},
                headers={"Authorization": f"Bearer {self._gateway.token}"}
                if self._gateway.token
                else {},
            )
            if answer.status_code >= 300:
                raise RuntimeError(f"短信网关返回 {answer.status_code}")
        except (httpx.HTTPError, RuntimeError) as exc:
            error = mask(str(exc) or type(exc).__name__)[:500]
            last = attempt >= job.max_attempts
            log.warning(
                "sms %s to %s failed (attempt %d/%d): %s",
                job.notification_id,
                mask(phone),
                attempt,
                job.max_attempts,
                error,
            )
            await self._note(
                job.notification_id,
                attempts=attempt,
                last_error=error,
                **(
                    {"state": DeliveryState.failed.value, "failed_at": datetime.now(UTC)}
                    if last
                    else {}
                ),
            )
            if last:
                raise ApplicationError(
                    f"短信发送失败（{attempt}次）：{error}", non_retryable=True
                ) from exc
            raise
        await self._note(
            job.notification_id,
            attempts=attempt,
            state=DeliveryState.sent.value,
            sent_at=datetime.now(UTC),
            last_error=None,
        )
        log.info("sms %s sent to %s", job.notification_id, mask(phone))
