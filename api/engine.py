"""The API's side of the workflow engine: submitting applications and sending actions.

Every failure is turned into what the caller can act on: a validator's refusal becomes a 409
with its reason, an unreachable or overloaded engine a 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from api.errors import ENGINE_DOWN, EngineUnreachable, conflict, unavailable
from domain.actions import AftercareInput
from domain.application import ApplicationInput, ApplicationStatus
from workflows.matter import MatterWorkflow
from workflows.matter_actions import NUMBERING_DONE, REFUSED

log = logging.getLogger("tongban.api.engine")
T = TypeVar("T")
A = TypeVar("A", bound=BaseModel)
# An update of MatterWorkflow taking an action of type A, named by reference.
UpdateMethod = UpdateMethodMultiParam[[MatterWorkflow, A], ApplicationStatus]

_UNREACHABLE = ENGINE_DOWN


async def submit(client: Client, app: ApplicationInput, *, task_queue: str) -> ApplicationStatus:
    """Start the application's workflow, or find the one already started under its number.

    Returns once the read model shows the acceptance. A number is never reused, not even
    after its application has closed.
    """
    start = WithStartWorkflowOperation(
        MatterWorkflow.run,
        app,
        id=app.application_no,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
    try:
        return await client.execute_update_with_start_workflow(
            MatterWorkflow.acceptance, start_workflow_operation=start
        )
    except (WorkflowAlreadyStartedError, RPCError) as exc:
        if isinstance(exc, RPCError) and exc.status is not RPCStatusCode.ALREADY_EXISTS:
            raise
        with contextlib.suppress(Exception):
            await start.workflow_handle()  # retrieve the start's own failure: it is this one
    # The application closed already: its number stays its own.
    handle = client.get_workflow_handle_for(MatterWorkflow.run, app.application_no)
    return await handle.query(MatterWorkflow.state)


class EngineGateway:
    """Connects to Temporal on first use, so the API serves reads while Temporal is down."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[Client]],
        *,
        task_queue: str,
        timeout: float,
        client: Client | None = None,
    ) -> None:
        self._connect = connect
        self._client = client
        self._lock = asyncio.Lock()
        self.task_queue = task_queue
        self.timeout = timeout

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await asyncio.wait_for(self._connect(), self.timeout)
                    except Exception as exc:
                        log.warning("Temporal unreachable: %s", exc)
                        raise EngineUnreachable("办理系统暂时无法连接，请稍后重试") from exc
        return self._client

    async def healthy(self) -> bool:
        try:
            client = await self.client()
            return await asyncio.wait_for(client.service_client.check_health(), 5)
        except Exception:
            return False

    async def _call(self, call: Callable[[Client], Awaitable[T]]) -> T:
        client = await self.client()
        try:
            return await asyncio.wait_for(call(client), self.timeout)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type == REFUSED:
                raise conflict(cause.message) from exc
            raise
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
            raise unavailable(
                "办理系统繁忙，请稍后重试（使用同一幂等键重复提交不会重复办理）", 10
            ) from exc
        except RPCError as exc:
            if exc.status in _UNREACHABLE:
                raise unavailable("办理系统暂时无法连接，请稍后重试") from exc
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise conflict("该办件已办结，不能再办理") from exc
            raise

    async def note_aftercare(
        self, application_no: str, action: AftercareInput, *, update_id: str
    ) -> bool:
        """Record a rating or its follow-up in the workflow, which numbers the event among
        its own; False if it has recorded its last event (closing, or closed: NOT_FOUND, not
        a 409 here), and the caller writes the event itself, after the workflow's last."""

        async def call(client: Client) -> bool:
            handle = client.get_workflow_handle_for(MatterWorkflow.run, application_no)
            try:
                await handle.execute_update(MatterWorkflow.note_aftercare, action, id=update_id)
            except WorkflowUpdateFailedError as exc:
                cause = exc.cause
                if isinstance(cause, ApplicationError) and cause.type == NUMBERING_DONE:
                    return False
                raise
            except RPCError as exc:
                if exc.status is RPCStatusCode.NOT_FOUND:  # closed: no update reaches it
                    return False
                raise
            return True

        return await self._call(call)

    async def submit(self, app: ApplicationInput) -> ApplicationStatus:
        return await self._call(lambda c: submit(c, app, task_queue=self.task_queue))

    async def update(
        self,
        application_no: str,
        update: UpdateMethod[A],
        action: A,
        *,
        update_id: str | None = None,
    ) -> ApplicationStatus:
        """Send one action as the workflow's own typed update (`MatterWorkflow.approve`, ...);
        returns the state once the read model shows it. An update sent again under the same
        `update_id` is not run again: the caller gets the first one's outcome."""

        async def call(client: Client) -> ApplicationStatus:
            handle = client.get_workflow_handle_for(MatterWorkflow.run, application_no)
            return await handle.execute_update(update, action, id=update_id)

        return await self._call(call)
