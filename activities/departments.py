"""Pushing a department's task to its own back-office system (the department activity).

When a step opens for a department with a connector, the task goes to the department's URL:
the application, the step and its deadline, the form, the materials (licences by number and
digest) and where to answer (the same API the workbench uses). The activity is retried until
the department acknowledges it (any 2xx); each attempt is kept on the step's row, so
supervisors see a push that keeps failing. The delivery id is stable per step, so a system
that deduplicates by it takes each task once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.outbound import Outbound
from activities.webhooks import post_signed
from domain.states import StepState
from store.models import ApplicationRow, MaterialRow, StepRow

log = logging.getLogger("tongban.push")


class PushJob(BaseModel):
    application_no: str
    step_code: str
    department: str
    url: str
    # The step's how-manieth push (改派 pushes it again, maybe to a department that had it
    # before): a push of its own for a receiver that deduplicates by `webhook-id`.
    push_no: int = 0

    @property
    def message_id(self) -> str:
        first = f"{self.application_no}/{self.step_code}/task"
        return f"{first}/{self.push_no}" if self.push_no else first


class DepartmentActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        secrets: Mapping[str, str],
        public_url: str = "",
        timeout_seconds: float = 15.0,
    ) -> None:
        self._sessions = sessions
        self._secrets = secrets
        self._public_url = public_url.rstrip("/")
        self._http = Outbound(timeout_seconds)

    async def _task_document(self, job: PushJob) -> tuple[int, dict[str, Any]] | None:
        """The task as the department's system receives it; None if the step is no longer
        that department's (rerouted since: a retry of the old push must not send it)."""
        async with self._sessions() as session:
            step = await session.scalar(
                select(StepRow).where(
                    StepRow.application_no == job.application_no, StepRow.code == job.step_code
                )
            )
            app = await session.get(ApplicationRow, job.application_no)
            assert step is not None and app is not None  # the projection wrote them first
            if step.department != job.department:
                return None
            materials = await session.scalars(
                select(MaterialRow).where(MaterialRow.application_no == job.application_no)
            )
            document = {
                "application_no": app.application_no,
                "matter": {"code": app.matter_code, "name": app.matter_name},
                "task": {
                    "id": step.id,
                    "step": step.code,
                    "name": step.name,
                    "department": step.department,
                    "opened_at": step.opened_at.isoformat() if step.opened_at else None,
                    "deadline": step.deadline.isoformat() if step.deadline else None,
                    "answer_at": f"{self._public_url}/api/tasks/{step.id}",
                },
                "applicant": {
                    "name": app.applicant_name,
                    "kind": app.applicant_kind,
                    "id": app.applicant_id,
                    "phone": app.applicant_phone,
                },
                "form": app.form,
                "materials": [
                    {
                        "code": m.code,
                        "name": m.name,
                        "source": m.source,
                        "ref": m.ref,
                        "digest": m.digest or None,
                        "verified": m.verified,
                    }
                    for m in materials
                ],
            }
            return step.id, document

    async def _note(self, job: PushJob, step_id: int, **values: object) -> None:
        """The push's state on its step, unless the step went to another department while
        the push was under way (its new push's state is the one to show), or was returned
        (its push was cancelled: nothing is being pushed)."""
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(StepRow)
                .where(
                    StepRow.id == step_id,
                    StepRow.department == job.department,
                    StepRow.state != StepState.returned.value,
                )
                .values(**values)
            )

    @activity.defn(name="push_task")
    async def push_task(self, job: PushJob) -> None:
        found = await self._task_document(job)
        if found is None:
            log.info("push of %s/%s to %s dropped: the step was rerouted", job.application_no,
                     job.step_code, job.department)  # fmt: skip
            return
        step_id, document = found
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        attempt = activity.info().attempt
        try:
            answer = await post_signed(
                self._http,
                job.url,
                secret=self._secrets.get(job.department),
                message_id=job.message_id,
                body=body,
            )
            if answer.status_code >= 300:
                raise RuntimeError(f"部门系统返回 {answer.status_code}")
        # Any failure, not only the system's answer (a connector's URL httpx cannot parse is no
        # HTTPError): the push is retried without end, and supervisors must see why.
        # Cancellation (a BaseException) is not a failure of the push.
        except Exception as exc:
            error = (str(exc) or type(exc).__name__)[:500]
            log.warning("push of %s/%s failed (attempt %d): %s", job.application_no,
                        job.step_code, attempt, error)  # fmt: skip
            await self._note(
                job, step_id, push_state="failing", push_attempts=attempt, push_error=error
            )
            raise
        await self._note(
            job,
            step_id,
            push_state="acknowledged",
            push_attempts=attempt,
            push_error=None,
            pushed_at=datetime.now(UTC),
        )
