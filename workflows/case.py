"""The state of one application and every transition it can make (pure, deterministic).

`MatterWorkflow` owns a `Case` and feeds it time and actions; the case changes its status and
queues the events and notifications that the next projection writes. Keeping this free of
Temporal calls keeps the workflow class to the wiring (updates, timers, activities).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.actions import (
    ApproveInput,
    CalendarChangedInput,
    ClaimInput,
    ExtendInput,
    ExtensionRefusalInput,
    ExtensionRequestInput,
    RefuseAcceptanceInput,
    RejectInput,
    ReleaseInput,
    SupplementRequestInput,
    SupplyInput,
    WithdrawInput,
)
from domain.actors import SYSTEM, Actor
from domain.application import (
    ApplicationInput,
    ApplicationStatus,
    CorrectionNotice,
    CorrectionRequest,
    ExtensionRequest,
    StepStatus,
)
from domain.calendar import WorkCalendar
from domain.clock import Clock, ClockReading
from domain.events import Event, Notification
from domain.matter import OnOverdue
from domain.states import ApplicationState, SlaLevel, StepState

APPLICANT = "applicant"
SUPERVISORS = "supervisors"
WINDOW = "window"

# 行政许可法 Art 32: an application not refused nor sent back for correction within five
# (working) days of receipt counts as accepted from the day it was received.
ACCEPTANCE_LIMIT_DAYS = 5


def department(code: str) -> str:
    return f"dept:{code}"


def department_head(code: str) -> str:
    return f"dept_head:{code}"


def leader(code: str) -> str:
    return f"leader:{code}"


class Case:
    def __init__(self, app: ApplicationInput, now: datetime) -> None:
        self.app = app
        self.matter = app.matter
        self.calendar = WorkCalendar(app.calendar)
        self.events: list[Event] = []
        self.notifications: list[Notification] = []
        self._seq = 0
        self._notes = 0
        self.promised = Clock(started_at=now, limit_days=self.matter.promised_limit_days)
        self.legal = Clock(started_at=now, limit_days=self.matter.legal_limit_days)
        self.own_card = SlaLevel.green  # the matter's own card, apart from its steps'
        self.status = ApplicationStatus(
            application_no=app.application_no,
            matter_code=self.matter.code,
            matter_name=self.matter.name,
            matter_version=self.matter.version,
            state=ApplicationState.received if app.needs_acceptance else ApplicationState.accepted,
            received_at=now,
            accepted_at=None if app.needs_acceptance else now,
            steps=[
                StepStatus(code=s.code, name=s.name, department=s.department, needs=list(s.needs))
                for s in self.matter.steps
            ],
            calendar_code=app.calendar.code,
            calendar_version=app.calendar.version,
        )

    # --- records ------------------------------------------------------------------------

    def record(
        self,
        now: datetime,
        kind: str,
        actor: Actor = SYSTEM,
        step: str | None = None,
        **payload: Any,
    ) -> None:
        self._seq += 1
        self.events.append(
            Event(seq=self._seq, at=now, kind=kind, actor=actor, step_code=step, payload=payload)
        )

    def notify(
        self, now: datetime, recipient: str, kind: str, subject: str, body: str = ""
    ) -> None:
        self._notes += 1
        self.notifications.append(
            Notification(
                id=f"{self.app.application_no}/{self._notes}",
                at=now,
                recipient=recipient,
                kind=kind,
                subject=f"[{self.app.application_no} {self.matter.name}] {subject}",
                body=body,
            )
        )

    def take_records(self) -> tuple[list[Event], list[Notification]]:
        events, notes = self.events, self.notifications
        self.events, self.notifications = [], []
        return events, notes

    # --- lifecycle ----------------------------------------------------------------------

    def receive(self, now: datetime) -> None:
        """收件: submitted online; the window decides on acceptance, no clock runs yet."""
        due = self.calendar.deadline(now, ACCEPTANCE_LIMIT_DAYS).at
        self.status.acceptance_due = due
        self.record(
            now,
            "received",
            self.app.accepted_by,
            channel=self.app.channel.value,
            materials=[m.model_dump(mode="json") for m in self.app.materials],
            calendar=self.calendar.snapshot.version,
            acceptance_due=due.isoformat(),
        )
        local_due = self.calendar.local(due)
        self.notify(
            now,
            APPLICANT,
            "received",
            "已收件，等待受理",
            f"综合窗口将于{local_due:%Y-%m-%d %H:%M}前完成受理审查，逾期视为受理。",
        )
        self.notify(now, WINDOW, "received", "网上申请待受理")

    def accept(
        self,
        now: datetime,
        actor: Actor | None = None,
        *,
        since: datetime | None = None,
        kind: str = "accepted",
    ) -> None:
        """受理: the clocks start (at `since` when acceptance is deemed from receipt)."""
        start = since or now
        if self.status.state is ApplicationState.received:
            self.promised = Clock(started_at=start, limit_days=self.matter.promised_limit_days)
            self.legal = Clock(started_at=start, limit_days=self.matter.legal_limit_days)
            self.status.state = ApplicationState.accepted
            self.status.accepted_at = start
            self.status.acceptance_due = None
        self.record(
            now,
            kind,
            actor or self.app.accepted_by,
            channel=self.app.channel.value,
            materials=[m.model_dump(mode="json") for m in self.app.materials],
            calendar=self.calendar.snapshot.version,
        )
        self.notify(now, APPLICANT, "accepted", "已受理", self._deadline_text())
        # Steps get their whole limit from the moment they reach the departments, even when
        # the matter's own clock was backdated to receipt.
        self.open_ready_steps(now)
        self.refresh(now)

    def refuse_acceptance(self, now: datetime, action: RefuseAcceptanceInput) -> None:
        reason = action.reason.strip()
        self._finish(now, ApplicationState.not_accepted, reason)
        self.status.acceptance_due = None
        self.record(now, "not_accepted", action.actor, reason=reason)
        self.notify(now, APPLICANT, "not_accepted", "不予受理", reason)

    def open_ready_steps(self, now: datetime) -> None:
        done = {s.code for s in self.status.steps if s.state.done}
        for step in self.status.steps:
            if step.state is StepState.waiting and set(step.needs) <= done:
                spec = self.matter.step(step.code)
                step.state = StepState.open
                step.opened_at = now
                step.clock = Clock(started_at=now, limit_days=spec.limit_days)
                self.record(now, "step_opened", step=step.code, limit_days=spec.limit_days)
                self.notify(now, department(step.department), "task", f"新待办：{step.name}")

    def _touch(self) -> None:
        """A department started work: 已受理 becomes 办理中."""
        if self.status.state is ApplicationState.accepted:
            self.status.state = ApplicationState.in_progress

    def _finish(self, now: datetime, state: ApplicationState, reason: str | None = None) -> None:
        for clock in self._running_clocks():
            clock.resume(now)  # a closed case keeps no clock stopped
        for step in self.status.steps:
            if not step.state.final:
                step.state = StepState.cancelled
                self.record(now, "step_cancelled", step=step.code)
                if step.opened_at:
                    self.notify(
                        now, department(step.department), "cancelled", f"已取消：{step.name}"
                    )
        self.status.state = state
        self.status.outcome_reason = reason
        self.status.completed_at = now
        if self.status.correction:
            self.status.correction.cancelled = True

    def _complete_if_done(self, now: datetime) -> None:
        if all(s.state.done for s in self.status.steps):
            self._finish(now, ApplicationState.granted)
            results = {s.code: s.result for s in self.status.steps if s.result}
            self.record(now, "granted", results=results)
            self.notify(
                now, APPLICANT, "granted", "已办结", "您的申请已办结，请按约定方式领取结果。"
            )

    # --- department actions -------------------------------------------------------------

    def claim(self, now: datetime, action: ClaimInput) -> None:
        step = self.status.step(action.step_code)
        step.state = StepState.claimed
        step.claimed_by = action.actor
        self._touch()
        self.record(now, "claimed", action.actor, step.code)

    def release(self, now: datetime, action: ReleaseInput) -> None:
        step = self.status.step(action.step_code)
        step.state = StepState.open
        step.claimed_by = None
        self.record(now, "released", action.actor, step.code)

    def _decide(self, now: datetime, step: StepStatus, actor: Actor, state: StepState) -> None:
        step.state = state
        step.claimed_by = step.claimed_by or actor
        step.decided_by = actor
        step.decided_at = now
        self._touch()

    def approve(self, now: datetime, action: ApproveInput) -> None:
        step = self.status.step(action.step_code)
        self._decide(now, step, action.actor, StepState.approved)
        step.result = dict(action.result)
        self.record(
            now, "approved", action.actor, step.code, result=step.result, comment=action.comment
        )
        self.open_ready_steps(now)
        self._complete_if_done(now)

    def reject(self, now: datetime, action: RejectInput) -> None:
        step = self.status.step(action.step_code)
        self._decide(now, step, action.actor, StepState.rejected)
        step.reason = action.reason.strip()
        self.record(now, "rejected", action.actor, step.code, reason=step.reason)
        self._finish(now, ApplicationState.refused, step.reason)
        self.record(now, "refused", action.actor, step.code, reason=step.reason)
        self.notify(now, APPLICANT, "refused", "不予许可", f"{step.name}：{step.reason}")

    def request_supplement(self, now: datetime, action: SupplementRequestInput) -> None:
        step = self.status.step(action.step_code)
        step.state = StepState.correction
        step.claimed_by = step.claimed_by or action.actor
        self._touch()
        request = CorrectionRequest(
            step_code=step.code,
            items=[i.strip() for i in action.items if i.strip()],
            reason=action.reason.strip(),
            requested_by=action.actor,
            requested_at=now,
        )
        notice = self.status.correction
        if notice is None:
            notice = CorrectionNotice(
                notice_no=len(self.status.corrections) + 1, opened_at=now, requests=[]
            )
            self.status.corrections.append(notice)
            self.status.state = ApplicationState.correction
            if self.matter.supplement_pauses_clock:
                self.promised.pause(now, "correction")
                self.legal.pause(now, "correction")
        notice.requests.append(request)
        if self.matter.supplement_pauses_clock and step.clock:
            step.clock.pause(now, "correction")
        self.record(
            now,
            "correction_requested",
            action.actor,
            step.code,
            notice_no=notice.notice_no,
            items=request.items,
            reason=request.reason,
        )
        self.notify(
            now,
            APPLICANT,
            "correction",
            f"补正告知（第{notice.notice_no}号）",
            "请一次性补正以下材料：" + "；".join(notice.items),
        )

    # --- applicant actions --------------------------------------------------------------

    def supply(self, now: datetime, action: SupplyInput) -> None:
        notice = self.status.correction
        assert notice is not None  # checked by refusals.supply
        notice.answered_at = now
        notice.supplied = list(action.items)
        self.status.state = ApplicationState.in_progress
        self.promised.resume(now)
        self.legal.resume(now)
        for step in self.status.steps:
            if step.state is StepState.correction:
                step.state = StepState.claimed if step.claimed_by else StepState.open
                if step.clock:
                    step.clock.resume(now)
                self.notify(
                    now, department(step.department), "supplied", f"补正材料已提交：{step.name}"
                )
        self.record(
            now,
            "correction_supplied",
            action.actor,
            notice_no=notice.notice_no,
            items=[i.model_dump(mode="json") for i in action.items],
            note=action.note,
        )

    def withdraw(self, now: datetime, action: WithdrawInput) -> None:
        self._finish(now, ApplicationState.withdrawn, action.reason.strip() or None)
        self.record(now, "withdrawn", action.actor, reason=action.reason)

    # --- supervision --------------------------------------------------------------------

    def request_extension(self, now: datetime, action: ExtensionRequestInput) -> None:
        step = self.status.step(action.step_code)
        step.extension_request = ExtensionRequest(
            working_days=action.working_days,
            reason=action.reason.strip(),
            requested_by=action.actor,
            requested_at=now,
        )
        self.record(
            now,
            "extension_requested",
            action.actor,
            step.code,
            working_days=action.working_days,
            reason=action.reason.strip(),
        )
        self.notify(
            now, SUPERVISORS, "extension", f"延期申请：{step.name}{action.working_days}个工作日"
        )

    def refuse_extension(self, now: datetime, action: ExtensionRefusalInput) -> None:
        step = self.status.step(action.step_code)
        request = step.extension_request
        step.extension_request = None
        self.record(
            now,
            "extension_refused",
            action.actor,
            step.code,
            requested_days=request.working_days if request else None,
            reason=action.reason.strip(),
        )
        self.notify(now, department(step.department), "extension", f"延期申请未获批准：{step.name}")

    def extend(self, now: datetime, action: ExtendInput) -> None:
        step = self.status.step(action.step_code)
        assert step.clock is not None
        request, step.extension_request = step.extension_request, None
        before = step.clock.reading(self.calendar, now).deadline
        step.clock.extend(action.working_days)
        # The matter's limits follow its most extended step (行政许可法 Art 42).
        longest = max(s.clock.extension_days for s in self.status.steps if s.clock)
        self.promised.extend_to(longest)
        self.legal.extend_to(longest)
        after = step.clock.reading(self.calendar, now).deadline
        self.record(
            now,
            "extended",
            action.actor,
            step.code,
            working_days=action.working_days,
            reason=action.reason.strip(),
            requested_days=request.working_days if request else None,
            deadline_before=before.isoformat() if before else None,
            deadline_after=after.isoformat() if after else None,
        )
        self.notify(
            now,
            APPLICANT,
            "extended",
            f"办理期限延长{action.working_days}个工作日",
            f"{step.name}：{action.reason.strip()}",
        )
        self.notify(now, department(step.department), "extended", f"已批准延期：{step.name}")

    def change_calendar(self, now: datetime, action: CalendarChangedInput) -> None:
        before = self.status.promised_deadline
        old = self.calendar.snapshot.version
        self.app = self.app.model_copy(update={"calendar": action.calendar})
        self.calendar = WorkCalendar(action.calendar)
        self.status.calendar_version = action.calendar.version
        self.refresh(now)
        self.record(
            now,
            "calendar_changed",
            action.actor,
            calendar_before=old,
            calendar_after=action.calendar.version,
            deadline_before=before.isoformat() if before else None,
            deadline_after=(
                self.status.promised_deadline.isoformat() if self.status.promised_deadline else None
            ),
        )

    def _running_clocks(self) -> list[Clock]:
        steps = [s.clock for s in self.status.steps if s.clock and s.state.active]
        return [self.promised, self.legal, *steps]

    def _yellow_due(self, reading: ClockReading) -> bool:
        policy = self.matter.warning
        if reading.share_used >= policy.yellow_share:
            return True
        return (
            policy.yellow_days_left is not None
            and reading.working_days_left <= policy.yellow_days_left
        )

    def supervise(self, now: datetime) -> None:
        """Raise every card that is due, once each, and act on overdue steps."""
        if self.status.state.final:
            return
        if self.status.state is ApplicationState.received:
            due = self.status.acceptance_due
            if due is None or now < due:
                return
            self.accept(now, SYSTEM, since=self.status.received_at, kind="deemed_accepted")
        legal = self.legal.reading(self.calendar, now)
        legal_over = not self.legal.paused and legal.remaining <= timedelta(0)
        promised = self.promised.reading(self.calendar, now)
        if not self.promised.paused:
            if self.own_card.rank < SlaLevel.yellow.rank and self._yellow_due(promised):
                self.own_card = SlaLevel.yellow
                self.record(now, "card_raised", level="yellow", scope="matter")
                self.notify(now, SUPERVISORS, "yellow", "黄牌预警：办件临近承诺时限")
            if self.own_card.rank < SlaLevel.red.rank and promised.remaining <= timedelta(0):
                self.own_card = SlaLevel.red
                self.record(now, "card_raised", level="red", scope="matter")
                self.notify(now, SUPERVISORS, "red", "红牌：办件超过承诺时限")
        if legal_over and self.own_card.rank < SlaLevel.serious.rank:
            self.own_card = SlaLevel.serious
            self.record(now, "card_raised", level="serious", scope="matter")
            self.notify(now, SUPERVISORS, "serious", "严重超时：办件超过法定时限")
        for step in self.status.steps:
            if step.state.active and step.clock:
                self._supervise_step(now, step, step.clock.reading(self.calendar, now), legal_over)
        self.open_ready_steps(now)
        self._complete_if_done(now)
        self.refresh(now)

    def _raise(self, now: datetime, step: StepStatus, level: SlaLevel) -> None:
        step.sla_level = level
        self.record(now, "card_raised", step=step.code, level=level.value, scope="step")

    def _supervise_step(
        self, now: datetime, step: StepStatus, reading: ClockReading, legal_over: bool
    ) -> None:
        spec = self.matter.step(step.code)
        running = reading.running_since is not None
        if running and step.sla_level.rank < SlaLevel.yellow.rank and self._yellow_due(reading):
            self._raise(now, step, SlaLevel.yellow)
            self.notify(
                now, department(step.department), "yellow", f"黄牌预警：{step.name}临近办理时限"
            )
        if (
            running
            and step.sla_level.rank < SlaLevel.red.rank
            and reading.remaining <= timedelta(0)
        ):
            self._raise(now, step, SlaLevel.red)
            if spec.on_overdue is OnOverdue.deem_approved:
                step.state = StepState.deemed_approved
                step.decided_at = now
                self.record(now, "deemed_approved", step=step.code)
                self.notify(
                    now, department(step.department), "deemed", f"逾期未反馈，视为同意：{step.name}"
                )
                return
            self._escalate(
                now,
                step,
                SlaLevel.red,
                department_head(step.department),
                "红牌督办：{}超过办理时限",
            )
        if legal_over and step.sla_level.rank < SlaLevel.serious.rank:
            self._raise(now, step, SlaLevel.serious)
            self._escalate(
                now, step, SlaLevel.serious, leader(step.department), "严重超时：{}超过法定时限"
            )

    def _escalate(
        self, now: datetime, step: StepStatus, level: SlaLevel, head: str, subject: str
    ) -> None:
        """督办: up the chain (department head, then the leader in charge) and to supervisors."""
        to = [head, SUPERVISORS]
        self.record(now, "escalated", step=step.code, level=level.value, to=to)
        for recipient in to:
            self.notify(now, recipient, level.value, subject.format(step.name))

    def refresh(self, now: datetime) -> None:
        """Recompute deadlines and the worst card from the ledgers."""
        if self.status.state is ApplicationState.received:
            return  # no clock runs before acceptance
        promised = self.promised.reading(self.calendar, now)
        legal = self.legal.reading(self.calendar, now)
        st = self.status
        st.paused = self.promised.paused
        if promised.deadline:
            st.promised_deadline = promised.deadline
        if legal.deadline:
            st.legal_deadline = legal.deadline
        st.deadline_provisional = promised.provisional
        st.working_days_left = round(promised.working_days_left, 2)
        st.extension_days = self.promised.extension_days
        st.promised_clock = self.promised
        st.legal_clock = self.legal
        for step in st.steps:
            if step.clock and step.state.active:
                r = step.clock.reading(self.calendar, now)
                step.paused = step.clock.paused
                if r.deadline:
                    step.deadline = r.deadline
                step.deadline_provisional = r.provisional
                step.working_days_left = round(r.working_days_left, 2)
                step.extension_days = step.clock.extension_days
            elif step.state.final:
                step.paused = False
                step.extension_request = None
        if not st.state.final:
            st.sla_level = SlaLevel.highest([self.own_card, *(s.sla_level for s in st.steps)])

    def next_wake(self, now: datetime) -> datetime | None:
        """The earliest instant at which some card may become due."""
        if self.status.state.final:
            return None
        if self.status.state is ApplicationState.received:
            return self.status.acceptance_due
        candidates: list[datetime] = []
        clocks: list[tuple[Clock, SlaLevel]] = [(self.promised, self.own_card)]
        clocks += [(s.clock, s.sla_level) for s in self.status.steps if s.clock and s.state.active]
        for clock, card in clocks:
            if clock.paused:
                continue
            r = clock.reading(self.calendar, now)
            if card.rank < SlaLevel.yellow.rank:
                candidates.append(self._yellow_at(now, r))
            if card.rank < SlaLevel.red.rank and r.deadline:
                candidates.append(r.deadline)
        if not self.legal.paused:
            legal = self.legal.reading(self.calendar, now)
            if legal.deadline and self.own_card.rank < SlaLevel.serious.rank:
                candidates.append(legal.deadline)
        return min(candidates, default=None)

    def _yellow_at(self, now: datetime, r: ClockReading) -> datetime:
        policy = self.matter.warning
        share_at = self.calendar.advance(now, r.budget * policy.yellow_share - r.used)
        if policy.yellow_days_left is None:
            return share_at
        left = self.calendar.day_length * policy.yellow_days_left
        return min(share_at, self.calendar.advance(now, r.remaining - left))

    def _deadline_text(self) -> str:
        deadline = self.promised.reading(self.calendar, self.promised.started_at).deadline
        if deadline is None:
            return ""
        local = self.calendar.local(deadline)
        return f"承诺办结时间：{local:%Y-%m-%d %H:%M}"
