"""Sending the applicant's notifications by SMS, through the centre's HTTP gateway.

Each message carries its notification's id, so a retried send is recognisable and a gateway
that deduplicates by id delivers it once. Every attempt leaves its trace on the message's
row (attempts, last error), so supervisors see what is pending, sent or given up.

A message is first tried by the write that recorded it (`send_now`, called by the read
model's activity once its transaction is in): one short attempt, no task of its own through
the Temporal server. What that attempt leaves unsent the workflow hands to `send_sms`, an
activity retried with backoff until the message is sent or given up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

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
    select(
        NotificationRow.state,
        NotificationRow.attempts,
        NotificationRow.sms_text,
        ApplicationRow.applicant_phone,
    )
    .join(ApplicationRow, ApplicationRow.application_no == NotificationRow.application_no)
    .where(NotificationRow.id == bindparam("id"))
)


SMS_ATTEMPTS = 8  # then the message is recorded as failed, with its last error


class SmsJob(BaseModel):
    notification_id: str
    max_attempts: int


class SmsGateway(BaseModel):
    """Where SMS go: `TONGBAN_SMS_URL` (and its token). Without a URL nothing can be sent."""

    url: str = ""
    token: str = ""
    timeout_seconds: float = 10.0
    # The first try waits less: the write it follows (and the action that made it) waits too.
    # 0: no first try, every message goes to the retried activity.
    first_try_seconds: float = 3.0
    # After a failed first try, the next messages skip theirs for this long and go straight to
    # the retried activity: a gateway that hangs would otherwise hold every write for its
    # timeout.
    first_try_pause_seconds: float = 30.0


class _NotSent(Exception):
    """An attempt failed; the message's row says why. `last`: it was the last one."""

    def __init__(self, error: str, *, last: bool) -> None:
        super().__init__(error)
        self.last = last


class MessageActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], gateway: SmsGateway) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._http = Outbound(gateway.timeout_seconds)
        self._first_tries_paused_until = 0.0  # time.monotonic()

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
        """One attempt of Temporal's retries: a failure raises, to be retried with backoff,
        until the message's `max_attempts` (counted on its row) are spent."""
        try:
            await self._attempt(
                job.notification_id, job.max_attempts, self._gateway.timeout_seconds
            )
        except _NotSent as exc:
            raise ApplicationError(str(exc), type="SmsNotSent", non_retryable=exc.last) from exc

    async def send_now(self, notification_ids: list[str]) -> list[str]:
        """The first try of each message, just written: the ids left for `send_sms`.

        Never raises: whatever goes wrong here (the gateway, the database) leaves the message
        to the retried activity, which finds it sent if this try got through after all."""
        if not notification_ids:
            return []
        gateway = self._gateway
        if (
            not gateway.url  # the activity records each as failed, and the workflow logs it
            or gateway.first_try_seconds <= 0
            or time.monotonic() < self._first_tries_paused_until
        ):
            return list(notification_ids)
        tries = await asyncio.gather(
            *(
                self._attempt(id_, SMS_ATTEMPTS, gateway.first_try_seconds)
                for id_ in notification_ids
            ),
            return_exceptions=True,
        )
        unsent = [
            id_
            for id_, outcome in zip(notification_ids, tries, strict=True)
            if isinstance(outcome, BaseException)
            and not (isinstance(outcome, _NotSent) and outcome.last)  # given up: not retried
        ]
        if unsent:
            self._first_tries_paused_until = time.monotonic() + gateway.first_try_pause_seconds
        return unsent

    async def _attempt(self, notification_id: str, max_attempts: int, wait_seconds: float) -> None:
        """Send one message once, unless it is sent already; its row counts the attempt."""
        async with self._sessions() as session:
            found = (await session.execute(_MESSAGE, {"id": notification_id})).first()
        if found is None:
            raise ApplicationError("no such notification", non_retryable=True)
        state, attempts, text, phone = found
        if state == DeliveryState.sent.value:
            return  # an earlier attempt got through
        if state == DeliveryState.failed.value:
            raise _NotSent(f"短信已放弃发送（{attempts}次）", last=True)
        attempt = (attempts or 0) + 1
        if not self._gateway.url:
            # Nothing to retry against: the message is recorded as not sent, at once.
            error = "未配置短信网关（TONGBAN_SMS_URL），短信未发送"
            await self._note(
                notification_id,
                attempts=attempt,
                last_error=error,
                state=DeliveryState.failed.value,
                failed_at=datetime.now(UTC),
            )
            raise _NotSent(error, last=True)
        try:
            answer = await self._http.post(
                self._gateway.url,
                json={"id": notification_id, "to": phone, "text": text},
                headers={"Authorization": f"Bearer {self._gateway.token}"}
                if self._gateway.token
                else {},
                seconds=wait_seconds,
            )
            if answer.status_code >= 300:
                raise RuntimeError(f"短信网关返回 {answer.status_code}")
        # Any failure, not only the gateway's: the row is the one count of attempts (Temporal
        # retries without a limit of its own), so an attempt not counted here would never
        # end. Cancellation (a BaseException) is not an attempt's failure.
        except Exception as exc:
            raise await self._failed(notification_id, phone, attempt, max_attempts, exc) from exc
        await self._note(
            notification_id,
            attempts=attempt,
            state=DeliveryState.sent.value,
            sent_at=datetime.now(UTC),
            last_error=None,
        )
        log.info("sms %s sent to %s", notification_id, mask(phone))

    async def _failed(
        self, notification_id: str, phone: str, attempt: int, max_attempts: int, exc: Exception
    ) -> _NotSent:
        """Record the failed attempt on the message's row (failed, if it was the last)."""
        error = mask(str(exc) or type(exc).__name__)[:500]
        last = attempt >= max_attempts
        log.warning(
            "sms %s to %s failed (attempt %d/%d): %s",
            notification_id,
            mask(phone),
            attempt,
            max_attempts,
            error,
        )
        await self._note(
            notification_id,
            attempts=attempt,
            last_error=error,
            **(
                {"state": DeliveryState.failed.value, "failed_at": datetime.now(UTC)}
                if last
                else {}
            ),
        )
        if last:
            return _NotSent(f"短信发送失败（{attempt}次）：{error}", last=True)
        return _NotSent(error, last=False)
