"""The `Case`: an application's status, its clocks and the records its transitions leave.

`MatterWorkflow` owns a `Case` and feeds it time and actions through the procedures of this
package; the case changes its status and queues the events and notifications that the next
projection writes. Nothing here calls Temporal, so every transition is a plain function that
tests can run without a server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from domain.actors import SYSTEM, Actor
from domain.application import ApplicationInput, ApplicationStatus, Delivery, StepStatus, TaskPush
from domain.calendar import WorkCalendar
from domain.clock import Clock
from domain.events import APPLICANT, Event, EventKind, Notification, department
from domain.notices import NOTICE_VARIABLES
from domain.states import ApplicationState, SlaLevel, StepState

A = TypeVar("A", bound=BaseModel)

# 行政许可法 Art 32: an application not refused nor sent back for correction within this
# many working days of its receipt (complete) counts as accepted.
ACCEPTANCE_LIMIT_DAYS = 5


class Case:
    def __init__(self, app: ApplicationInput, now: datetime) -> None:
        self.app = app
        self.matter = app.matter
        self.calendar = WorkCalendar(app.calendar)
        self.events: list[Event] = []
        self.notifications: list[Notification] = []
        self.pushes: list[str] = []  # steps opened for a department with its own system
        self._seq = 0
        self._notes = 0
        # Until acceptance these only hold the limits; acceptance restarts them.
        self.promised = Clock(started_at=now, limit_days=self.matter.promised_limit_days)
        self.legal = Clock(started_at=now, limit_days=self.matter.legal_limit_days)
        self.own_card = SlaLevel.green  # the matter's own card, apart from its steps'
        # Day-before reminders and pushes to departments' systems: for workflows started
        # since they exist (see MatterWorkflow).
        self.delivers = False
        # 补正期限: for workflows started since correction deadlines exist.
        self.answer_deadlines = False
        # 容缺受理 and 告知承诺制: for workflows started since they exist.
        self.pledges = False
        # 秒批: for workflows started since steps may be decided by rules (see MatterWorkflow).
        self.auto_decides = False
        self.auto_due: list[str] = []  # steps opened whose rules are to be applied
        # 退单待改派: a returned step's cards go to those who reroute it, not to the
        # department that gave it back (engine generation 4, see MatterWorkflow).
        self.returned_to_routing = False
        # Engine generation 5 (see MatterWorkflow): an opinion-only step is deemed approved
        # when its own clock runs out, whatever card it already holds, and not while it
        # awaits the applicant's correction.
        self.deems_on_own_clock = False
        # Engine generation 5: the time before acceptance is known as such: an application
        # closed then shows no deadline, and the window may ask for a correction then.
        self.knows_before_acceptance = False
        # Engine generation 5: an open supervision order follows its step when rerouted.
        self.orders_follow_steps = False
        # Engine generation 6: 秒批's rules cite the licence a field came from, and read no
        # licence of an empty holder (domain.auto_rules.evaluate).
        self.strict_licences = False
        # Engine generation 6: every department action on a staged step is its current
        # stage's (signoff.holder_problem).
        self.stages_bind_all = False
        # Engine generation 7: a completed application's promised and legal deadlines stay
        # as they were when it completed (Case.refresh).
        self.keeps_completed_deadlines = False
        self._deadlines_final = False  # refreshed once since the case completed
        # Engine generation 7: the clocks that pause (the promised, the legal, the steps')
        # are exact: a pause begun once one has run out does not move its deadline.
        self.exact_clocks = False
        self.status = ApplicationStatus(
            application_no=app.application_no,
            matter_code=self.matter.code,
            matter_name=self.matter.name,
            matter_version=self.matter.version,
            state=ApplicationState.received,
            received_at=now,
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
        kind: EventKind,
        actor: Actor = SYSTEM,
        step: str | None = None,
        **payload: Any,
    ) -> None:
        self._seq += 1
        self.events.append(
            Event(seq=self._seq, at=now, kind=kind, actor=actor, step_code=step, payload=payload)
        )

    def notify(self, now: datetime, recipient: str, notice: str, **values: str) -> None:
        """Leave `notice` for `recipient`, with the values its template needs (every notice
        also has the application's number and the matter's name)."""
        allowed = NOTICE_VARIABLES.get(notice)
        if allowed is None or not set(values) <= allowed:
            raise ValueError(
                f"notice {notice!r} takes {sorted(allowed or ())}, not {sorted(values)}"
            )
        self._notes += 1
        common = {"application_no": self.app.application_no, "matter_name": self.matter.name}
        self.notifications.append(
            Notification(
                id=f"{self.app.application_no}/{self._notes}",
                at=now,
                recipient=recipient,
                kind=notice,
                values=common | values,
            )
        )

    def when(self, instant: datetime | None) -> str:
        """An instant as people read it at the centre."""
        return f"{self.calendar.local(instant):%Y-%m-%d %H:%M}" if instant else "—"

    def take_records(self) -> tuple[list[Event], list[Notification]]:
        events, notes = self.events, self.notifications
        self.events, self.notifications = [], []
        return events, notes

    def take_pushes(self) -> list[str]:
        pushes, self.pushes = self.pushes, []
        return pushes

    def take_auto_due(self) -> list[str]:
        due, self.auto_due = self.auto_due, []
        return due

    # --- what every procedure shares ----------------------------------------------------

    def open_ready_steps(self, now: datetime) -> None:
        done = {s.code for s in self.status.steps if s.state.done}
        for step in self.status.steps:
            if step.state is StepState.waiting and set(step.needs) <= done:
                spec = self.matter.step(step.code)
                step.state = StepState.open
                step.opened_at = now
                step.clock = Clock(
                    started_at=now, limit_days=spec.limit_days, exact=self.exact_clocks
                )
                if spec.stages:  # 分级签署: it starts at its first stage (承办)
                    first = spec.stages[0]
                    step.stage, step.stage_name, step.stage_role = (
                        first.code,
                        first.name,
                        first.role,
                    )
                self.record(now, EventKind.step_opened, step=step.code, limit_days=spec.limit_days)
                if spec.auto is not None and self.auto_decides:
                    # 秒批: its rules come first; it reaches people only if they cannot decide.
                    step.auto_pending = True
                    self.auto_due.append(step.code)
                    continue
                self.announce(now, step)

    def announce(self, now: datetime, step: StepStatus) -> None:
        """A step reaches its department: pushed to its own system, told in its inbox."""
        connector = self.app.connectors.get(step.department)
        if connector is not None and self.delivers:
            alarm = timedelta(minutes=connector.alarm_after_minutes)
            step.push = TaskPush(due=now + alarm)
            self.pushes.append(step.code)
        deadline = step.clock.reading(self.calendar, now).deadline if step.clock else None
        self.notify(
            now, department(step.department), "task_opened", step_name=step.name,
            deadline=self.when(deadline),
        )  # fmt: skip

    def touch(self) -> None:
        """A department started work: 已受理 becomes 办理中."""
        if self.status.state is ApplicationState.accepted:
            self.status.state = ApplicationState.in_progress

    def finish(self, now: datetime, state: ApplicationState, reason: str | None = None) -> None:
        for clock in self.running_clocks():
            clock.resume(now)  # a closed case keeps no clock stopped
        for step in self.status.steps:
            if not step.state.final:
                step.state = StepState.cancelled
                # A step that never reached its department leaves nothing to record.
                if step.opened_at:
                    self.record(now, EventKind.step_cancelled, step=step.code)
                    self.notify(
                        now, department(step.department), "task_cancelled", step_name=step.name
                    )
        self.status.state = state
        self.status.outcome_reason = reason
        self.status.completed_at = now
        if self.status.correction:
            self.status.correction.cancelled = True
        # What ran on a step ends with the case: an order can no longer be answered (nobody
        # acts on a closed case), a procedure no longer holds a clock. Only the state changes,
        # no event and no notice, so histories recorded before replay to the same commands.
        for order in self.status.orders:
            if order.open:
                order.cancelled = True
        for procedure in self.status.special_procedures:
            if procedure.open:
                procedure.ended_at, procedure.ended_by = now, SYSTEM
                procedure.outcome = f"办件{state.label}，特别程序随之结束"
        outstanding = self.status.outstanding
        if outstanding and outstanding.open and state is not ApplicationState.granted:
            outstanding.cancelled = True  # nothing is owed for a case that ended otherwise

    def complete_if_done(self, now: datetime) -> None:
        if all(s.state.done for s in self.status.steps):
            self.finish(now, ApplicationState.granted)
            # Art 44: the decision starts the clock for the result to reach the applicant.
            delivery = Clock(started_at=now, limit_days=self.matter.delivery_limit_days)
            self.status.delivery = Delivery(
                clock=delivery, deadline=delivery.reading(self.calendar, now).deadline
            )
            results = {s.code: s.result for s in self.status.steps if s.result}
            self.record(now, EventKind.granted, results=results)
            self.notify(now, APPLICANT, "granted")

    def running_clocks(self) -> list[Clock]:
        steps = [s.clock for s in self.status.steps if s.clock and s.state.active]
        return [self.promised, self.legal, *steps]

    def acceptance_period_end(self, start: datetime) -> datetime:
        """When an application complete at `start` is accepted by law if not decided."""
        return self.calendar.deadline(start, ACCEPTANCE_LIMIT_DAYS).at

    def complete_since(self) -> datetime | None:
        """When the application's materials were received complete (Art 32): at receipt, or
        with the answer to a correction asked before acceptance."""
        answered = [n.answered_at for n in self.status.corrections if n.answered_at]
        return max(answered, default=self.status.received_at)

    def _refresh_answer_due(self, now: datetime) -> None:
        notice = self.status.correction
        if notice and notice.answer_clock:
            notice.answer_due = notice.answer_clock.reading(self.calendar, now).deadline

    def refresh(self, now: datetime) -> None:
        """Recompute deadlines and the worst card from the ledgers."""
        if self.status.state is ApplicationState.received:
            since = self.complete_since()
            if self.knows_before_acceptance and since:  # a new calendar moves the period
                self.status.acceptance_due = self.acceptance_period_end(since)
            return  # no clock runs before acceptance
        if self.status.state is ApplicationState.not_accepted:
            return  # refused at acceptance: no clock ever ran
        if self.knows_before_acceptance and self.status.accepted_at is None:
            self._refresh_answer_due(now)  # a correction asked before acceptance has one
            return  # corrected, or withdrawn, before acceptance: no clock ran
        promised = self.promised.reading(self.calendar, now)
        legal = self.legal.reading(self.calendar, now)
        st = self.status
        st.paused = self.promised.paused
        # Completed, the application was on time or not by its deadlines as they stood: a
        # calendar published while its result is still delivered (or a commitment verified)
        # moved them, and the on-time figure with them.
        if not self._deadlines_final:
            if promised.deadline:
                st.promised_deadline = promised.deadline
            if legal.deadline:
                st.legal_deadline = legal.deadline
            st.deadline_provisional = promised.provisional
            st.working_days_left = round(promised.working_days_left, 2)
            st.extension_days = self.promised.extension_days
        # The refresh of the completion itself counts its clocks as resumed (Case.finish).
        self._deadlines_final = self.keeps_completed_deadlines and st.completed_at is not None
        self._refresh_answer_due(now)
        for order in st.orders:
            if order.open:
                order.due = order.clock.reading(self.calendar, now).deadline
        for procedure in st.special_procedures:
            if procedure.open:
                procedure.due = procedure.clock.reading(self.calendar, now).deadline
        if st.outstanding and st.outstanding.open:
            st.outstanding.due = st.outstanding.clock.reading(self.calendar, now).deadline
        if st.delivery and not st.delivery.done:
            st.delivery.deadline = st.delivery.clock.reading(self.calendar, now).deadline
        for verification in st.verifications:
            if verification.open:
                # The step's row carries its verification's deadline and card: the
                # department's inbox sorts and colours it by them.
                verification.due = verification.clock.reading(self.calendar, now).deadline
                step = st.step(verification.step_code)
                step.deadline = verification.due
                step.sla_level = verification.sla_level
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


@dataclass(frozen=True)
class Transition(Generic[A]):
    """An action on a case: why it may not be taken now (None when it may), and taking it.

    The workflow runs `problem` in the update's validator (a refused action leaves no
    history) and again under its lock before `apply`, since a timer may have moved the case
    in between.
    """

    problem: Callable[[Case, A, datetime], str | None]
    apply: Callable[[Case, A, datetime], None]
