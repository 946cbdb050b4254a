"""Turning read-model rows into the views the API returns (times in the centre's zone)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from api.schemas import (
    ApplicationView,
    CorrectionView,
    NextAction,
    StepView,
    TaskView,
)
from definitions.catalogue import Catalogue
from definitions.schema import MatterDefinition
from domain.states import ApplicationState, StepState
from store.models import ApplicationRow, CorrectionRow, StepRow


def local(instant: datetime | None, tz: ZoneInfo) -> datetime | None:
    return instant.astimezone(tz) if instant else None


def pinned(row: ApplicationRow) -> MatterDefinition:
    """The definition the application was accepted under (not today's catalogue)."""
    return MatterDefinition.model_validate(row.definition)


def step_view(step: StepRow, catalogue: Catalogue, tz: ZoneInfo, *, with_result: bool) -> StepView:
    state = StepState(step.state)
    return StepView(
        code=step.code,
        name=step.name,
        department=step.department,
        department_name=catalogue.department_name(step.department),
        state=state.value,
        state_label=state.label,
        sla_level=step.sla_level,
        opened_at=local(step.opened_at, tz),
        deadline=local(step.deadline, tz),
        deadline_provisional=step.deadline_provisional,
        paused=step.paused,
        decided_at=local(step.decided_at, tz),
        result=step.result if with_result else {},
        reason=step.reason,
    )


def correction_view(row: CorrectionRow, tz: ZoneInfo) -> CorrectionView:
    return CorrectionView(
        notice_no=row.notice_no,
        opened_at=local(row.opened_at, tz) or row.opened_at,
        items=list(row.items),
        reasons=[{"step_code": r["step_code"], "reason": r["reason"]} for r in row.requests],
        answered_at=local(row.answered_at, tz),
    )


def next_action(row: ApplicationRow, open_correction: CorrectionRow | None) -> NextAction:
    state = ApplicationState(row.state)
    if open_correction is not None:
        items = "、".join(open_correction.items)
        return NextAction(
            code="supply_correction",
            text=f"请一次性补正以下材料：{items}。补正期间办理时限暂停计算。",
        )
    if state is ApplicationState.granted:
        if row.delivery == "express":
            return NextAction(code="receive_express", text="办理结果将通过快递寄送，请注意查收。")
        return NextAction(code="collect_result", text="请携带身份证件到综合窗口领取办理结果。")
    if state.final:
        return NextAction(code="none", text="本申请已办结，无需操作。")
    return NextAction(code="wait", text="各部门正在并联办理，无需操作，请留意短信通知。")


def application_view(
    row: ApplicationRow,
    steps: list[StepRow],
    corrections: list[CorrectionRow],
    catalogue: Catalogue,
    tz: ZoneInfo,
) -> ApplicationView:
    state = ApplicationState(row.state)
    open_notice = next((c for c in corrections if c.answered_at is None and not c.cancelled), None)
    order = {s.code: i for i, s in enumerate(pinned(row).steps)}
    return ApplicationView(
        application_no=row.application_no,
        matter_code=row.matter_code,
        matter_name=row.matter_name,
        state=state.value,
        state_label=state.label,
        sla_level=row.sla_level,
        channel=row.channel,
        delivery=row.delivery,
        applicant_name=row.applicant_name,
        accepted_at=local(row.accepted_at, tz) or row.accepted_at,
        promised_deadline=local(row.promised_deadline, tz),
        deadline_provisional=row.deadline_provisional,
        paused=row.paused,
        completed_at=local(row.completed_at, tz),
        outcome_reason=row.outcome_reason,
        steps=[
            step_view(s, catalogue, tz, with_result=state is ApplicationState.granted)
            for s in sorted(steps, key=lambda s: order.get(s.code, 99))
        ],
        correction=correction_view(open_notice, tz) if open_notice else None,
        next_action=next_action(row, open_notice),
    )


def task_view(step: StepRow, app: ApplicationRow, tz: ZoneInfo) -> TaskView:
    state = StepState(step.state)
    spec = pinned(app).step(step.code)
    return TaskView(
        id=step.id,
        application_no=step.application_no,
        matter_code=app.matter_code,
        matter_name=app.matter_name,
        step_code=step.code,
        step_name=step.name,
        department=step.department,
        state=state.value,
        state_label=state.label,
        sla_level=step.sla_level,
        deadline=local(step.deadline, tz),
        deadline_provisional=step.deadline_provisional,
        paused=step.paused,
        working_days_left=step.working_days_left,
        claimed_by=step.claimed_by_name,
        accepted_at=local(app.accepted_at, tz) or app.accepted_at,
        result_fields=[f.model_dump(mode="json") for f in spec.result_fields],
    )
