from __future__ import annotations

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.actions import ApproveInput
from domain.states import ApplicationState, StepState
from tests.factories import application, credit_code, staff
from workflows.matter import MatterWorkflow


async def test_company_setup_all_parallel(env: WorkflowEnvironment, worker: Worker) -> None:
    now = await env.get_current_time()
    app = application(now=now)
    handle = await env.client.start_workflow(
        MatterWorkflow.run, app, id=app.application_no, task_queue=worker.task_queue
    )
    status = await handle.query(MatterWorkflow.state)
    assert [s.state for s in status.steps] == [StepState.open] * 3
    await handle.execute_update(
        MatterWorkflow.approve,
        ApproveInput(step_code="registration", actor=staff("amr"), result={"credit_code": credit_code(), "licence_no": "L1"}),
    )
    await handle.execute_update(
        MatterWorkflow.approve, ApproveInput(step_code="seal", actor=staff("psb"), result={"seal_record_no": "S1"})
    )
    await handle.execute_update(
        MatterWorkflow.approve,
        ApproveInput(step_code="invoice", actor=staff("tax"), result={"invoice_type": "数电发票（普通发票）"}),
    )
    result = await handle.result()
    assert result.state is ApplicationState.granted
