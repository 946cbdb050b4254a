"""分级签署 (承办 → 审核 → 批准) on the time-skipping server: utility_connection's road opening
permit, signed at three levels inside the urban management bureau.

Office hours 9:00–17:30 on plain weekdays. Accepted Monday 10:00, the road opening (3 working
days) is due Thursday 17:30: a budget of 7.5 + 8.5 × 3 = 33 office hours, yellow at 80 %
(26.4 h: Thursday 10:54). The stages are the department's own time, so the clock runs
through every one of them and through a send-back: the deadline never moves and the card
turns yellow on Thursday at 10:54 while the step waits for 批准.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.actions import (
    ApproveInput,
    ClaimInput,
    ExtensionRequestInput,
    RerouteInput,
    ReturnStepInput,
    SpecialProcedureInput,
    StagePassInput,
    StageSendBackInput,
    SupplementRequestInput,
)
from domain.actors import SignoffRole
from domain.matter import SpecialProcedureKind
from domain.states import SlaLevel, StepState
from tests.engine import cards, event_rows, notification_rows, start_on_a_plain_monday, valid_result
from tests.factories import SUPERVISOR, application, signer, staff
from tests.timeline import at, eventually, plain_calendar, skip_to, utc
from workflows.case import acceptance, routing, signoff
from workflows.case.core import Case
from workflows.matter import MatterWorkflow

HANDLER = signer("urban", SignoffRole.handler)
REVIEWER = signer("urban", SignoffRole.reviewer)
APPROVER = signer("urban", SignoffRole.approver)
STEP = "road_opening"


async def _refused(handle, update, action) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, action)
    return str(refused.value.cause)


def _pass(actor, opinion: str = "同意") -> StagePassInput:  # type: ignore[no-untyped-def]
    return StagePassInput(step_code=STEP, actor=actor, opinion=opinion)


async def test_three_levels_sign_a_step_whose_clock_runs_throughout(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handle, app, monday = await start_on_a_plain_monday(
        env, worker.task_queue, "utility_connection"
    )
    no, matter = app.application_no, app.matter

    def day(n: int) -> date:
        return monday + timedelta(days=n)

    status = await handle.query(MatterWorkflow.state)
    road = status.step(STEP)
    assert (road.stage, road.stage_name, road.stage_role) == ("handle", "承办", SignoffRole.handler)
    assert road.deadline == at(day(3), 17, 30)

    # Refusals, each before anything is recorded.
    approve = ApproveInput(step_code=STEP, actor=HANDLER, result=valid_result(matter, STEP))
    assert "须逐级签署至“批准”后方可作出审批决定" in await _refused(
        handle, MatterWorkflow.approve, approve
    )
    assert "需由具有承办权限的人员办理" in await _refused(
        handle, MatterWorkflow.pass_stage, _pass(staff("urban"))
    )
    assert "需由具有承办权限的人员办理" in await _refused(
        handle, MatterWorkflow.pass_stage, _pass(REVIEWER)
    )
    assert "承办意见必须填写" in await _refused(
        handle, MatterWorkflow.pass_stage, _pass(HANDLER, " ")
    )
    back = StageSendBackInput(step_code=STEP, actor=HANDLER, reason="退回")
    assert "是第一级" in await _refused(handle, MatterWorkflow.send_back_stage, back)
    claim = ClaimInput(step_code=STEP, actor=REVIEWER)
    assert "需由具有承办权限的人员办理" in await _refused(handle, MatterWorkflow.claim, claim)

    await skip_to(env, at(day(0), 11))
    await handle.execute_update(MatterWorkflow.claim, ClaimInput(step_code=STEP, actor=HANDLER))
    status = await handle.execute_update(
        MatterWorkflow.pass_stage, _pass(HANDLER, "现场踏勘符合条件，拟同意")
    )
    road = status.step(STEP)
    # Back in the department's inbox for the next level: the handler's claim ended.
    assert (road.stage, road.state, road.claimed_by) == ("review", StepState.open, None)
    [waiting] = [n for n in await notification_rows(sessions, no) if n.kind == "stage_waiting"]
    assert waiting.recipient == "dept:urban"
    assert waiting.subject == "待审核：城市道路挖掘（开口）审批（审核）"
    assert f"环节办理期限 {day(3):%Y-%m-%d} 17:30" in waiting.body

    # Separation of duties: whoever signed 承办 signs no other level of the step, even if
    # he holds that level now.
    promoted = HANDLER.model_copy(update={"signoff_role": SignoffRole.reviewer})
    assert "同一人不得签署同一环节的两个阶段" in await _refused(
        handle, MatterWorkflow.pass_stage, _pass(promoted)
    )

    await skip_to(env, at(day(1), 10))
    await handle.execute_update(MatterWorkflow.pass_stage, _pass(REVIEWER, "同意承办意见"))
    await skip_to(env, at(day(2), 10))
    no_reason = StageSendBackInput(step_code=STEP, actor=APPROVER, reason="")
    assert "退回上一级必须说明理由" in await _refused(
        handle, MatterWorkflow.send_back_stage, no_reason
    )
    status = await handle.execute_update(
        MatterWorkflow.send_back_stage,
        StageSendBackInput(step_code=STEP, actor=APPROVER, reason="夜间施工的交通组织方案需复核"),
    )
    assert status.step(STEP).stage == "review"
    [sent_back] = [n for n in await notification_rows(sessions, no) if n.kind == "stage_sent_back"]
    assert sent_back.subject == "退回审核：城市道路挖掘（开口）审批"
    assert "夜间施工的交通组织方案需复核" in sent_back.body
    approve_early = approve.model_copy(update={"actor": APPROVER})
    assert "当前为“审核”阶段" in await _refused(handle, MatterWorkflow.approve, approve_early)

    await skip_to(env, at(day(2), 14))
    # The reviewer redoes his own level.
    await handle.execute_update(MatterWorkflow.pass_stage, _pass(REVIEWER, "已复核，同意"))
    assert "是最后一级" in await _refused(handle, MatterWorkflow.pass_stage, _pass(APPROVER))

    await skip_to(env, at(day(3), 11))

    async def yellow() -> None:
        events = await event_rows(sessions, no)
        assert cards(events, STEP) == ["yellow"]
        [raised] = [e for e in events if e.kind == "card_raised" and e.step_code == STEP]
        assert raised.at.replace(second=0, microsecond=0) == utc(at(day(3), 10, 54))

    await eventually(yellow)
    status = await handle.execute_update(MatterWorkflow.approve, approve_early)
    road = status.step(STEP)
    assert road.state is StepState.approved and road.decided_by == APPROVER
    assert road.deadline == at(day(3), 17, 30)  # never moved by the stages
    assert road.sla_level is SlaLevel.yellow
    assert [(s.stage, s.actor.id, s.sent_back) for s in road.signoffs] == [
        ("handle", HANDLER.id, False),
        ("review", REVIEWER.id, False),
        ("sign", APPROVER.id, True),
        ("review", REVIEWER.id, False),
    ]
    events = [e for e in await event_rows(sessions, no) if e.step_code == STEP]
    assert [e.kind for e in events if e.kind.startswith("stage_")] == [
        "stage_passed", "stage_passed", "stage_sent_back", "stage_passed",
    ]  # fmt: skip
    passed = next(e for e in events if e.kind == "stage_passed")
    assert passed.payload["opinion"] == "现场踏勘符合条件，拟同意"
    assert passed.payload["next_stage_name"] == "审核"


async def test_a_step_without_stages_is_decided_as_before(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    handle, app, _ = await start_on_a_plain_monday(env, worker.task_queue, "utility_connection")
    status = await handle.query(MatterWorkflow.state)
    assert status.step("water").stage is None
    refusal = _pass(signer("water", SignoffRole.handler)).model_copy(update={"step_code": "water"})
    assert "不分级签署" in await _refused(handle, MatterWorkflow.pass_stage, refusal)
    status = await handle.execute_update(
        MatterWorkflow.approve,
        ApproveInput(
            step_code="water", actor=staff("water"), result=valid_result(app.matter, "water")
        ),
    )
    assert status.step("water").state is StepState.approved


def test_a_rerouted_staged_step_starts_again_at_the_first_level() -> None:
    """改派 of a staged step: the new department signs its own levels, from 承办; the
    opinions signed before stay on record."""
    monday = date(2026, 11, 2)
    now = at(monday, 10)
    case = Case(application("utility_connection", now=now, calendar=plain_calendar(monday)), now)
    acceptance.start(case, now)
    for transition, action in (
        (signoff.PASS, _pass(HANDLER)),
        (routing.RETURN, ReturnStepInput(step_code=STEP, actor=REVIEWER, reason="非本部门")),
        (routing.REROUTE, RerouteInput(step_code=STEP, actor=SUPERVISOR, department="amr")),
    ):
        assert transition.problem(case, action, now) is None  # type: ignore[arg-type]
        transition.apply(case, action, now)  # type: ignore[arg-type]
    road = case.status.step(STEP)
    assert (road.department, road.stage, road.state) == ("amr", "handle", StepState.open)
    assert [s.stage for s in road.signoffs] == ["handle"]


async def test_only_the_level_a_step_waits_at_may_stop_it_or_send_it_away(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    """Past 承办, the handler may no longer ask for a correction, return the step, start a
    special procedure or ask for more time: each would stop or move a step that waits for
    its 审核 (engine generation 6). The reviewer may."""
    handle, _, _ = await start_on_a_plain_monday(env, worker.task_queue, "utility_connection")
    await handle.execute_update(MatterWorkflow.pass_stage, _pass(HANDLER, "拟同意"))
    asks = [
        (MatterWorkflow.request_supplement, SupplementRequestInput(
            step_code=STEP, actor=HANDLER, items=["开挖方案"], reason="方案不全需补正")),
        (MatterWorkflow.return_step, ReturnStepInput(
            step_code=STEP, actor=HANDLER, reason="不属于本部门职责范围")),
        (MatterWorkflow.start_special, SpecialProcedureInput(
            step_code=STEP, actor=HANDLER, kind=SpecialProcedureKind.hearing, working_days=5,
            reason="需组织听证")),
        (MatterWorkflow.request_extension, ExtensionRequestInput(
            step_code=STEP, actor=HANDLER, working_days=1, reason="现场复勘")),
    ]  # fmt: skip
    for update, action in asks:
        assert "需由具有审核权限的人员办理" in await _refused(handle, update, action)
    reviewer = SupplementRequestInput(
        step_code=STEP, actor=REVIEWER, items=["开挖方案"], reason="方案不全需补正"
    )
    status = await handle.execute_update(MatterWorkflow.request_supplement, reviewer)
    assert status.step(STEP).state is StepState.correction
