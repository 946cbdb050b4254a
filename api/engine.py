"""The API's side of the workflow engine: submitting applications and sending actions."""

from __future__ import annotations

import contextlib

from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.application import ApplicationInput, ApplicationStatus
from workflows.matter import MatterWorkflow


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
