"""Every action a validator must refuse, with its reason; refused updates leave no history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from definitions.catalogue import default_catalogue
from domain.actions import (
    ApproveInput,
    CalendarChangedInput,
    ClaimInput,
    ExtendInput,
    RejectInput,
    ReleaseInput,
    SupplementRequestInput,
    SupplyInput,
    WithdrawInput,
)
from domain.application import SuppliedItem
from domain.matter import FieldSpec, FieldType
from domain.states import StepState
from tests.engine import Handle, approval, start
from tests.factories import APPLICANT, CLERK, SUPERVISOR, application, credit_code, id_number, staff
from tests.timeline import at, next_plain_monday, plain_calendar, skip_to
from workflows.matter import MatterWorkflow
from workflows.matter_actions import REFUSED

_TODAY = date(2030, 1, 7)
HOUSING = staff("housing")
OTHER_HOUSING = staff("housing", name="住建另一人").model_copy(update={"id": "housing-2"})

# (update, input, words the reason must contain)
BAD_ACTIONS: list[tuple[str, Callable[[], Any], str]] = [
    ("approve", lambda: ApproveInput(step_code="nope", actor=HOUSING, result={}), "没有环节 nope"),
    (
        "approve",
        lambda: ApproveInput(
            step_code="registration", actor=staff("realty"), result={"certificate_no": "1"}
        ),
        "等待前置环节",
    ),
    (
        "approve",
        lambda: ApproveInput(
            step_code="contract_filing", actor=staff("tax"), result={"filing_no": "1"}
        ),
        "不属于您的部门",
    ),
    (
        "approve",
        lambda: ApproveInput(step_code="contract_filing", actor=CLERK, result={"filing_no": "1"}),
        "只有承办部门工作人员",
    ),
    (
        "approve",
        lambda: ApproveInput(step_code="contract_filing", actor=HOUSING, result={}),
        "合同备案号必填",
    ),
    (
        "approve",
        lambda: ApproveInput(
            step_code="contract_filing", actor=HOUSING, result={"filing_no": "1", "x": "2"}
        ),
        "x未定义的字段",
    ),
    (
        "approve",
        lambda: ApproveInput(
            step_code="contract_filing", actor=OTHER_HOUSING, result={"filing_no": "1"}
        ),
        "已由housing经办人签收",
    ),
    (
        "approve",
        lambda: ApproveInput(
            step_code="deed_tax", actor=staff("tax"), result={"tax_voucher_no": "1"}
        ),
        "当前为“已通过”",
    ),
    (
        "reject",
        lambda: RejectInput(step_code="contract_filing", actor=HOUSING, reason=" "),
        "必须说明理由",
    ),
    (
        "claim",
        lambda: ClaimInput(step_code="contract_filing", actor=OTHER_HOUSING),
        "已由housing经办人签收",
    ),
    ("claim", lambda: ClaimInput(step_code="contract_filing", actor=HOUSING), "您已签收"),
    (
        "release",
        lambda: ReleaseInput(step_code="contract_filing", actor=OTHER_HOUSING),
        "只有签收人",
    ),
    ("release", lambda: ReleaseInput(step_code="deed_tax", actor=staff("tax")), "未被签收"),
    (
        "request_supplement",
        lambda: SupplementRequestInput(
            step_code="contract_filing", actor=HOUSING, items=[" "], reason="缺材料"
        ),
        "列明",
    ),
    (
        "request_supplement",
        lambda: SupplementRequestInput(
            step_code="contract_filing", actor=HOUSING, items=["合同"], reason=""
        ),
        "说明理由",
    ),
    (
        "supply_supplement",
        lambda: SupplyInput(actor=APPLICANT, items=[SuppliedItem(item="合同")]),
        "没有需要补正",
    ),
    ("withdraw", lambda: WithdrawInput(actor=HOUSING), "只有申请人"),
    (
        "extend",
        lambda: ExtendInput(
            step_code="contract_filing", actor=HOUSING, working_days=1, reason="忙"
        ),
        "只有监督管理人员",
    ),
    (
        "extend",
        lambda: ExtendInput(
            step_code="contract_filing", actor=SUPERVISOR, working_days=0, reason="忙不过来"
        ),
        "至少为1个工作日",
    ),
    (
        "extend",
        lambda: ExtendInput(
            step_code="contract_filing", actor=SUPERVISOR, working_days=11, reason="忙不过来"
        ),
        "上限",
    ),
    (
        "extend",
        lambda: ExtendInput(
            step_code="contract_filing", actor=SUPERVISOR, working_days=1, reason=""
        ),
        "说明理由",
    ),
    (
        "extend",
        lambda: ExtendInput(
            step_code="deed_tax", actor=SUPERVISOR, working_days=1, reason="忙不过来"
        ),
        "不能延期",
    ),
    (
        "calendar_changed",
        lambda: CalendarChangedInput(actor=HOUSING, calendar=plain_calendar(_TODAY)),
        "只有管理人员",
    ),
    (
        "calendar_changed",
        lambda: CalendarChangedInput(
            actor=SUPERVISOR, calendar=plain_calendar(_TODAY, code="other")
        ),
        "不能换成 other",
    ),
]


@pytest.fixture
async def handle(env: WorkflowEnvironment, worker: Worker) -> Handle:
    """A property transfer with deed tax approved and contract filing claimed by HOUSING."""
    app = application("property_transfer", now=await env.get_current_time())
    h = await start(env, worker.task_queue, app)
    await h.execute_update(MatterWorkflow.approve, approval(app.matter, "deed_tax"))
    await h.execute_update(
        MatterWorkflow.claim, ClaimInput(step_code="contract_filing", actor=HOUSING)
    )
    return h


async def _accepted_updates(h: Handle) -> int:
    history = await h.fetch_history()
    return sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    )


async def test_each_bad_action_is_refused_with_its_reason(handle: Handle) -> None:
    accepted_before = await _accepted_updates(handle)
    for name, make, reason in BAD_ACTIONS:
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(name, make())
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == REFUSED, name
        assert reason in cause.message, f"{name}: {cause.message}"
    # A refused update never entered the history.
    assert await _accepted_updates(handle) == accepted_before
    status = await handle.query(MatterWorkflow.state)
    assert status.step("contract_filing").claimed_by == HOUSING


async def test_an_unchanged_calendar_and_actions_after_the_end_are_refused(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    app = application("company_setup", now=await env.get_current_time())
    handle = await start(env, worker.task_queue, app)
    with pytest.raises(WorkflowUpdateFailedError) as same:
        await handle.execute_update(
            MatterWorkflow.calendar_changed,
            CalendarChangedInput(actor=SUPERVISOR, calendar=app.calendar),
        )
    assert "日历没有变化" in str(same.value.cause)
    await handle.execute_update(
        MatterWorkflow.withdraw, WithdrawInput(actor=CLERK, reason="申请人到窗口撤回")
    )
    await handle.result()
    # A closed workflow takes no updates at all; the API answers from the read model.
    with pytest.raises(RPCError):
        await handle.execute_update(MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT))


async def test_a_result_dated_today_at_the_centre_is_accepted_before_8_am(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    """Between 00:00 and 08:00 Beijing time the UTC date is still yesterday. A result field
    holding a date of birth of today (the centre's today, as the API counts it) must pass."""
    base = default_catalogue().matter("company_setup")
    registration = base.step("registration")
    holder = FieldSpec(code="holder_id", label="持证人身份证号码", type=FieldType.id_number)
    steps = [
        s.model_copy(update={"result_fields": [*s.result_fields, holder]})
        if s is registration
        else s
        for s in base.steps
    ]
    matter = base.model_copy(update={"steps": steps})
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    app = application(now=at(monday, 10), calendar=plain_calendar(monday), matter=matter)
    handle = await start(env, worker.task_queue, app)
    tuesday = monday + timedelta(days=1)
    await skip_to(env, at(tuesday, 7))  # 23:00 UTC on Monday
    approval = ApproveInput(
        step_code="registration",
        actor=staff("amr"),
        result={
            "credit_code": credit_code(),
            "licence_no": "L-1",
            "holder_id": id_number(f"{tuesday:%Y%m%d}"),
        },
    )
    status = await handle.execute_update(MatterWorkflow.approve, approval)
    assert status.step("registration").state is StepState.approved
