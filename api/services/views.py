"""Turning read-model rows into the views the API returns (times in the centre's zone)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from api.schemas import (
    ApplicationView,
    CorrectionReason,
    CorrectionView,
    ExtensionRequestView,
    LicenceIssued,
    NextAction,
    OrderView,
    OutstandingView,
    OwedMaterialView,
    RatingView,
    RevocationView,
    SpecialProcedureView,
    StageView,
    StepView,
    SuppliedView,
    TaskView,
    VerificationView,
)
from definitions.catalogue import Catalogue
from domain.application import (
    ApplicationStatus,
    CorrectionNotice,
    ExtensionRequest,
    OutstandingMaterials,
    Revocation,
    SpecialProcedure,
    StepStatus,
    SupervisionOrder,
    Verification,
)
from domain.calendar import CalendarSnapshot, WorkCalendar
from domain.issuing import IssuedLicence, IssueOutcome
from domain.matter import Channel, MatterDefinition, StepSpec
from domain.ratings import RatingLevel
from domain.states import ApplicationState, SlaLevel, StepState
from store.models import ApplicationRow, StepRow

T = TypeVar("T")


def local(instant: datetime | None, tz: ZoneInfo) -> datetime | None:
    return instant.astimezone(tz) if instant else None


class _Pinned(Generic[T]):
    """What is built from documents pinned into application rows, built once per process.

    Thousands of rows share a handful of definitions and calendars, so an inbox would
    otherwise validate the same document for every row. The key names the version; the whole
    document is compared as well, so two documents under one name never mix.
    """

    def __init__(self, build: Callable[[dict[str, Any]], T], size: int = 256) -> None:
        self.build = build
        self.size = size
        self._built: dict[Hashable, list[tuple[dict[str, Any], T]]] = {}

    def get(self, key: Hashable, document: dict[str, Any]) -> T:
        versions = self._built.setdefault(key, [])
        for seen, built in versions:
            if seen == document:
                return built
        if len(self._built) > self.size:
            self._built.clear()  # a bounded cache: start again rather than grow
            versions = self._built[key] = []
        built = self.build(document)
        versions.append((document, built))
        return built


_definitions = _Pinned(MatterDefinition.model_validate)
_calendars = _Pinned(lambda doc: WorkCalendar(CalendarSnapshot.model_validate(doc)))


def pinned(row: ApplicationRow) -> MatterDefinition:
    """The definition the application was accepted under (not today's catalogue)."""
    return _definitions.get((row.matter_code, row.matter_version), row.definition)


def pinned_calendar(row: ApplicationRow) -> WorkCalendar:
    """The working-day calendar the application's deadlines are counted on."""
    key = (row.calendar.get("code"), row.status.get("calendar_version"))
    return _calendars.get(key, row.calendar)


def step_view(
    step: StepStatus, catalogue: Catalogue, tz: ZoneInfo, *, with_result: bool
) -> StepView:
    return StepView(
        code=step.code,
        name=step.name,
        department=step.department,
        department_name=catalogue.department_name(step.department),
        state=step.state,
        state_label=step.state.label,
        sla_level=step.sla_level,
        opened_at=local(step.opened_at, tz),
        deadline=local(step.deadline, tz),
        deadline_provisional=step.deadline_provisional,
        paused=step.paused,
        decided_at=local(step.decided_at, tz),
        result=step.result if with_result else {},
        reason=step.reason,
        push=step.push.label if step.push else None,
        stage_name=step.stage_name if step.state.active else None,
    )


def stage_view(spec: StepSpec, stage_code: str | None) -> StageView | None:
    for i, stage in enumerate(spec.stages):
        if stage.code == stage_code:
            return StageView(
                code=stage.code, name=stage.name, role=stage.role, role_label=stage.role.label,
                number=i + 1, of=len(spec.stages), last=i == len(spec.stages) - 1,
            )  # fmt: skip
    return None


def correction_view(notice: CorrectionNotice, tz: ZoneInfo) -> CorrectionView:
    return CorrectionView(
        notice_no=notice.notice_no,
        opened_at=local(notice.opened_at, tz) or notice.opened_at,
        items=notice.items,
        reasons=[CorrectionReason(step_code=r.step_code, reason=r.reason) for r in notice.requests],
        answered_at=local(notice.answered_at, tz),
        answer_due=local(notice.answer_due, tz) if notice.open else None,
        supplied=[
            SuppliedView(item=i.item, source=i.source.value, ref=i.ref, note=i.note)
            for i in notice.supplied
        ],
    )


def special_procedure_view(procedure: SpecialProcedure, tz: ZoneInfo) -> SpecialProcedureView:
    return SpecialProcedureView(
        procedure_no=procedure.procedure_no,
        kind=procedure.kind,
        kind_label=procedure.kind.label,
        working_days=procedure.working_days,
        reason=procedure.reason,
        started_by=procedure.started_by.name,
        started_at=procedure.started_at.astimezone(tz),
        due=local(procedure.due, tz),
        sla_level=procedure.sla_level,
        outcome=procedure.outcome,
        ended_by=procedure.ended_by.name if procedure.ended_by else None,
        ended_at=local(procedure.ended_at, tz),
        open=procedure.open,
    )


def order_view(order: SupervisionOrder, tz: ZoneInfo) -> OrderView:
    return OrderView(
        order_no=order.order_no,
        department=order.department,
        demand=order.demand,
        answer_days=order.answer_days,
        issued_by=order.issued_by.name,
        issued_at=order.issued_at.astimezone(tz),
        due=local(order.due, tz),
        sla_level=order.sla_level,
        answer=order.answer,
        answered_by=order.answered_by.name if order.answered_by else None,
        answered_at=local(order.answered_at, tz),
        open=order.open,
        cancelled=order.cancelled,
    )


def step_procedures(
    status: ApplicationStatus, step_code: str, tz: ZoneInfo
) -> tuple[list[SpecialProcedureView], list[OrderView]]:
    """The special procedures (特别程序) and supervision orders (督办单) of one step."""
    return (
        [
            special_procedure_view(p, tz)
            for p in status.special_procedures
            if p.step_code == step_code
        ],
        [order_view(o, tz) for o in status.orders if o.step_code == step_code],
    )


def next_action(status: ApplicationStatus, delivery: str, tz: ZoneInfo) -> NextAction:
    notice = status.correction
    if notice is not None:
        after = (
            "补正期间办理时限暂停计算。"
            if status.accepted_at
            else "补正齐全后，综合窗口将在5个工作日内作出受理决定。"
        )
        return NextAction(
            code="supply_correction",
            text=f"请一次性补正以下材料：{'、'.join(notice.items)}。{after}",
        )
    owed = status.outstanding
    if owed is not None and owed.open and owed.missing:
        names = "、".join(m.name for m in owed.missing)
        due = f"{owed.due.astimezone(tz):%Y-%m-%d %H:%M}" if owed.due else "期限内"
        return NextAction(
            code="supply_missing",
            text=f"容缺受理：请于 {due} 前补齐{names}；逾期未补齐的，申请将被终止"
            f"{'，已发放的证照将被注销' if status.state is ApplicationState.granted else ''}。",
        )
    if status.revocation is not None:
        return NextAction(
            code="none", text=f"许可决定已{status.state.label[1:]}：{status.revocation.reason}"
        )
    if status.state is ApplicationState.granted:
        if delivery == "express":
            return NextAction(code="receive_express", text="办理结果将通过快递寄送，请注意查收。")
        return NextAction(code="collect_result", text="请携带身份证件到综合窗口领取办理结果。")
    if status.state.final:
        return NextAction(code="none", text="本申请已办结，无需操作。")
    if status.state is ApplicationState.received:
        return NextAction(
            code="wait", text="申请已提交，综合窗口正在审查材料，受理后各部门开始并联办理。"
        )
    return NextAction(code="wait", text="各部门正在并联办理，无需操作，请留意短信通知。")


def application_view(
    status: ApplicationStatus,
    *,
    applicant_name: str,
    channel: str,
    delivery: str,
    catalogue: Catalogue,
    tz: ZoneInfo,
) -> ApplicationView:
    """From the status snapshot the workflow last wrote: one row answers a status poll."""
    granted = status.state is ApplicationState.granted
    return ApplicationView(
        application_no=status.application_no,
        matter_code=status.matter_code,
        matter_name=status.matter_name,
        state=status.state,
        state_label=status.state.label,
        sla_level=status.sla_level,
        channel=Channel(channel),
        delivery=delivery,
        applicant_name=applicant_name,
        received_at=status.received.astimezone(tz),
        accepted_at=local(status.accepted_at, tz),
        acceptance_due=local(status.acceptance_due, tz),
        promised_deadline=local(status.promised_deadline, tz),
        deadline_provisional=status.deadline_provisional,
        paused=status.paused,
        completed_at=local(status.completed_at, tz),
        outcome_reason=status.outcome_reason,
        steps=[step_view(s, catalogue, tz, with_result=granted) for s in status.steps],
        correction=correction_view(status.correction, tz) if status.correction else None,
        next_action=next_action(status, delivery, tz),
        licences=licences_view(status.licences, status.revocation),
        delivery_deadline=local(status.delivery.deadline, tz) if status.delivery else None,
        outstanding=outstanding_view(status.outstanding, tz) if status.outstanding else None,
        on_commitment=status.on_commitment,
        verifications=[
            verification_view(v, status.steps, catalogue, tz) for v in status.verifications
        ],
        revocation=(
            revocation_view(status.revocation, status.licences, tz) if status.revocation else None
        ),
    )


def licences_view(
    licences: list[IssuedLicence], revocation: Revocation | None
) -> list[LicenceIssued]:
    revoked = revocation is not None and revocation.licences_revoked
    return [
        LicenceIssued(
            type=x.type,
            type_name=x.type_name,
            number=x.number,
            issued=x.outcome is not IssueOutcome.refused,
            problem=x.problem,
            verify_url=(
                f"/licences/{quote(x.number)}?type={x.type}"
                if x.outcome is not IssueOutcome.refused
                else None
            ),
            revoked=revoked and x.outcome is not IssueOutcome.refused,
            replaced=x.superseded.number if x.superseded else None,
        )
        for x in licences
    ]


def outstanding_view(owed: OutstandingMaterials, tz: ZoneInfo) -> OutstandingView:
    return OutstandingView(
        materials=[
            OwedMaterialView(
                code=m.code,
                name=m.name,
                handed_in=m.supplied is not None,
                handed_in_at=local(m.supplied_at, tz),
                source=m.supplied.source if m.supplied else None,
                handed_in_by=m.supplied_by.name if m.supplied_by else None,
            )
            for m in owed.materials
        ],
        missing=[m.name for m in owed.missing],
        accepted_at=owed.accepted_at.astimezone(tz),
        accepted_by=owed.accepted_by.name,
        due=local(owed.due, tz),
        sla_level=owed.sla_level,
        open=owed.open,
        completed_at=local(owed.completed_at, tz),
        lapsed_at=local(owed.lapsed_at, tz),
        cancelled=owed.cancelled,
    )


_OUTCOME_LABELS = {
    "pending": "核查中",
    "passed": "核查通过",
    "failed": "核查不符",
    "cancelled": "已取消",
}


def verification_view(
    v: Verification, steps: list[StepStatus], catalogue: Catalogue, tz: ZoneInfo
) -> VerificationView:
    names = {s.code: s.name for s in steps}
    if v.passed is not None:
        outcome = "passed" if v.passed else "failed"
    else:
        outcome = "cancelled" if v.cancelled else "pending"
    return VerificationView(
        step_code=v.step_code,
        step_name=names.get(v.step_code, v.step_code),
        department=v.department,
        department_name=catalogue.department_name(v.department),
        opened_at=v.opened_at.astimezone(tz),
        due=local(v.due, tz),
        sla_level=v.sla_level,
        outcome=outcome,
        outcome_label=_OUTCOME_LABELS[outcome],
        findings=v.findings,
        verified_by=v.verified_by.name if v.verified_by else None,
        verified_at=local(v.verified_at, tz),
    )


def revocation_view(
    revocation: Revocation, licences: list[IssuedLicence], tz: ZoneInfo
) -> RevocationView:
    return RevocationView(
        state=revocation.state,
        state_label=revocation.state.label,
        reason=revocation.reason,
        at=revocation.at.astimezone(tz),
        by=revocation.by.name,
        licences_revoked=revocation.licences_revoked,
        licences=[x for x in licences_view(licences, revocation) if x.issued],
    )


class RatingFields(Protocol):
    """A rating's columns, as a `RatingRow` or a row of them read on their own."""

    level: str
    reason: str
    rated_at: datetime
    follow_up_due: datetime | None
    followed_up_at: datetime | None


def rating_view(row: RatingFields) -> RatingView:
    return RatingView(
        level=RatingLevel(row.level),
        label=RatingLevel(row.level).label,
        reason=row.reason,
        rated_at=row.rated_at,
        follow_up_due=row.follow_up_due,
        followed_up_at=row.followed_up_at,
    )


def working_days_left(step: StepRow, app: ApplicationRow, now: datetime) -> float | None:
    """Counted now, not when the row was written: a running clock moves between writes.
    A paused or closed step keeps the value it stopped at."""
    if step.paused or step.deadline is None or not StepState(step.state).active:
        return step.working_days_left
    calendar = pinned_calendar(app)
    if now <= step.deadline:
        return round(calendar.office_time(now, step.deadline) / calendar.day_length, 2)
    return -round(calendar.office_time(step.deadline, now) / calendar.day_length, 2)


def extension_request_view(
    document: dict[str, Any] | None, tz: ZoneInfo
) -> ExtensionRequestView | None:
    if document is None:
        return None
    request = ExtensionRequest.model_validate(document)
    return ExtensionRequestView(
        working_days=request.working_days,
        reason=request.reason,
        requested_by=request.requested_by.name,
        requested_at=request.requested_at.astimezone(tz),
    )


def task_view(
    step: StepRow, app: ApplicationRow, tz: ZoneInfo, now: datetime, catalogue: Catalogue
) -> TaskView:
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
        state=state,
        state_label=state.label,
        sla_level=SlaLevel(step.sla_level),
        deadline=local(step.deadline, tz),
        deadline_provisional=step.deadline_provisional,
        paused=step.paused,
        working_days_left=working_days_left(step, app, now),
        claimed_by=step.claimed_by_name,
        accepted_at=local(app.accepted_at, tz) or app.received_at,
        result_fields=list(spec.result_fields),
        extension_request=extension_request_view(step.extension_request, tz),
        stage=stage_view(spec, step.stage),
        **_pledges(step, app, tz, catalogue),
    )


def _pledges(
    step: StepRow, app: ApplicationRow, tz: ZoneInfo, catalogue: Catalogue
) -> dict[str, Any]:
    """The task's verification, and its application's owed materials and revocation: read
    from the status document only where it has them (an inbox lists many tasks)."""
    document = app.status
    out: dict[str, Any] = {}
    mine = [v for v in document.get("verifications") or [] if v.get("step_code") == step.code]
    if mine:
        steps = [StepStatus.model_validate(s) for s in document.get("steps") or []]
        out["verification"] = verification_view(
            Verification.model_validate(mine[-1]), steps, catalogue, tz
        )
    if document.get("outstanding"):
        owed = OutstandingMaterials.model_validate(document["outstanding"])
        out["outstanding"] = outstanding_view(owed, tz)
    if document.get("revocation"):
        revocation = Revocation.model_validate(document["revocation"])
        licences = [IssuedLicence.model_validate(x) for x in document.get("licences") or []]
        out["revocation"] = revocation_view(revocation, licences, tz)
    return out
