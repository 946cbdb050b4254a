"""`MatterWorkflow`: one application, its department steps in parallel, under deadline timers.

The workflow is the wiring around a `Case`: it turns Temporal Updates into case actions
(each checked first by a validator, so a refused action leaves no history; the updates are in
`workflows/matter_actions.py`), sleeps until the next card can fall due, after every
transition writes the read model through an activity before the update returns, so the
caller sees a consistent state, and starts what leaves the process: licences, SMS, pushes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from activities.auto_facts import AutoFactsActivities
    from activities.departments import DepartmentActivities, PushJob
    from activities.licences import LicenceActivities
    from activities.messages import SMS_ATTEMPTS, MessageActivities, SmsJob
    from activities.read_model import ReadModelActivities
    from domain.actions import (
        RefuseAcceptanceInput,
    )
    from domain.application import ApplicationInput, ApplicationStatus, Projection
    from domain.auto_rules import LicenceFact
    from domain.issuing import IssueInput, RevokeResult
    from domain.notices import NoticeChannel, channel_for
    from domain.states import ApplicationState, StepState
    from workflows import search_attributes as sa
    from workflows.case import (
        acceptance,
        auto_decision,
        calendar_change,
        licences,
        pushes,
        revocation,
        supervision,
    )
    from workflows.case.core import Case, Transition
    from workflows.matter_actions import MatterActions

# workflow.patched() id: licences issued and the result's delivery watched after the grant.
AFTER_GRANT = "licences-and-delivery"
# workflow.patched() id: SMS to the applicant, day-before reminders, pushes to departments.
DELIVERING = "messages-reminders-pushes"
# workflow.patched() id: a correction notice's answer deadline (补正期限) and its timer.
CORRECTION_DEADLINE = "correction-answer-deadline"
# workflow.patched() id: fewer workflow tasks and actions per application. The read model and
# the licences are written by local activities, inside the workflow task that made the
# transition (see `_commit`), and the card timer is kept while its time does not change.
LEAN = "local-writes-steady-timer"
# workflow.patched() id: 容缺受理 and 告知承诺制, their clocks, and revoking a decision.
PLEDGES = "tolerance-and-commitment"
# workflow.patched() id: 秒批, a step's rules applied (through an activity) when it opens.
AUTO_DECISION = "auto-decision"
# workflow.patched() id: an action's transition written to the read model by an activity
# scheduled once the workflow task that took the action is recorded (see `_act`).
RECORDED_FIRST = "action-recorded-before-written"

# No maximum_attempts: the message's row counts the attempts (SmsJob.max_attempts) and the
# last one fails non-retryable. A count of Temporal's own would also spend attempts the row
# never saw (a worker killed mid-send, the database down), and give up leaving it pending.
_SMS_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10), maximum_interval=timedelta(minutes=30)
)
# A department's system may be down for a day: the push is retried until it answers.
_PUSH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10), maximum_interval=timedelta(minutes=10)
)
A = TypeVar("A", bound=BaseModel)
I = TypeVar("I")  # noqa: E741 (an activity's input)
R = TypeVar("R")

_PROJECTION_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)


@workflow.defn
class MatterWorkflow(MatterActions):
    @workflow.init
    def __init__(self, app: ApplicationInput) -> None:
        self._case = Case(app, workflow.now())
        self._lock = asyncio.Lock()
        self._changed = False
        self._projected_application = False
        self._projected_calendar = app.calendar.version
        self._search: dict[str, object] = {}
        self._deliveries: set[asyncio.Task[None]] = set()  # SMS being sent
        self._pushes: dict[str, asyncio.Task[None]] = {}  # tasks being pushed, by step
        self._pushing: dict[str, PushJob] = {}  # the job each of those pushes
        self._lean = False  # decided by run(), before its first commit
        self._recorded_first = False  # likewise
        self._sms_in_write = False  # likewise: the write gives its SMS their first try
        self._reminds_when_due = False  # likewise: a reminder written when it falls due
        self._numbering_done = False  # set once the workflow records nothing more
        self._timer: asyncio.Task[None] | None = None  # the card timer, when one runs
        self._timer_at: datetime | None = None  # and when it fires
        self._deciding: set[asyncio.Task[None]] = set()  # 秒批 under way
        # Pushes started per step (the history replays them in the same order).
        self._pushed_before: dict[str, int] = {}

    @property
    def _status(self) -> ApplicationStatus:
        return self._case.status

    @workflow.run
    async def run(self, app: ApplicationInput) -> ApplicationStatus:
        if app.engine >= 1:
            # Started under engine 1: every change below is on, without asking. Each
            # patched() call leaves a marker and upserts the TemporalChangeVersion search
            # attribute, a billed action of its own: six per application.
            self._case.delivers = self._case.answer_deadlines = self._lean = True
            self._case.pledges = self._case.auto_decides = True
            # Engine 2 writes an action once the server has recorded it (`_act`); engine 1
            # histories were recorded writing it at once, and ask.
            self._recorded_first = app.engine >= 2 or workflow.patched(RECORDED_FIRST)
            # Engine 3 gives an SMS its first try in the write that recorded it (`_commit`).
            self._sms_in_write = app.engine >= 3
            # Engine 4 supervises a returned step for those who reroute it (supervision).
            self._case.returned_to_routing = app.engine >= 4
            # Engine 5 deems an opinion-only step on its own clock (supervision), shows no
            # deadline before acceptance (Case.refresh) and lets the window ask for a
            # correction then (corrections).
            self._case.deems_on_own_clock = app.engine >= 5
            self._case.knows_before_acceptance = app.engine >= 5
            self._case.orders_follow_steps = app.engine >= 5
            self._case.strict_licences = app.engine >= 6
            self._case.stages_bind_all = app.engine >= 6
            # Engine 7 writes a reminder (and a push's alarm) when it falls due, not with
            # the next event, which could be the red card a day later (`_supervise`),
            self._reminds_when_due = app.engine >= 7
            # And keeps a completed application's deadlines as they were (Case.refresh),
            # and a pause begun once a clock has run out does not move its deadline.
            self._case.keeps_completed_deadlines = app.engine >= 7
            if app.engine >= 7:
                case = self._case
                case.exact_clocks = case.promised.exact = case.legal.exact = True
        else:
            # Histories recorded before messages were delivered sent none: replayed, they
            # still send none (patched() is False there).
            self._case.delivers = workflow.patched(DELIVERING)
            # Likewise, histories recorded before correction deadlines set no such timer.
            self._case.answer_deadlines = workflow.patched(CORRECTION_DEADLINE)
            # Histories recorded before it wrote by (remote) activities and renewed the timer
            # after every action.
            self._lean = workflow.patched(LEAN)
            # And before 容缺受理 and 告知承诺制: no ledger of theirs, no clock to wake for.
            self._case.pledges = workflow.patched(PLEDGES)
            # And histories recorded before 秒批 applied no rules to their steps.
            self._case.auto_decides = workflow.patched(AUTO_DECISION)
            # And before an action was written only once recorded.
            self._recorded_first = workflow.patched(RECORDED_FIRST)
        async with self._lock:
            now = workflow.now()
            if app.refusal:
                refusal = RefuseAcceptanceInput(actor=app.accepted_by, reason=app.refusal)
                acceptance.refuse(self._case, refusal, now)
            elif app.needs_acceptance:
                acceptance.receive(self._case, now)
            else:
                acceptance.start(self._case, now, missing=app.tolerance)
            await self._commit()
        await self._supervise(until=lambda: self._status.state.final)
        # Histories recorded before licences and delivery ended at the decision.
        granted = self._status.state is ApplicationState.granted
        if granted and (app.engine >= 1 or workflow.patched(AFTER_GRANT)):
            await self._issue_licences()
            # Open while the result awaits delivery, materials accepted missing are owed or
            # a verification of a commitment runs (either may still undo the decision).
            await self._supervise(until=lambda: not self._watching())
        if self._timer is not None:
            self._timer.cancel()  # no card falls due on a closed case
        for push in self._pushes.values():
            push.cancel()  # the case is closed: its open tasks were cancelled with it
        await workflow.wait_condition(
            lambda: not self._deliveries and not self._pushes and not self._deciding
        )
        # Nothing of its own is recorded from here (a licence revoked, a push acknowledged
        # came before): a rating sent now is written by the API, after the last event.
        self._numbering_done = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._status

    def _watching(self) -> bool:
        """After the grant: something still watches the decision."""
        return calendar_change.watched(self._case.status)

    async def _supervise(self, until: Callable[[], bool]) -> None:
        """Raise the cards as they fall due until `until` holds."""
        while not until():
            await self._sleep_until(supervision.next_wake(self._case, workflow.now()))
            async with self._lock:
                supervision.supervise(self._case, workflow.now())
                if self._case.events or (self._reminds_when_due and self._case.notifications):
                    await self._commit()
                    await self._revoke_licences()

    async def _revoke_licences(self) -> None:
        """A decision undone after the grant: its licences revoked in the library, by an
        activity that is idempotent (a licence revoked already, by an earlier attempt, counts
        as revoked) and retried until the library answers. Called under the lock."""
        job = revocation.pending(self._case)
        if job is None:
            return
        result = RevokeResult(revoked=[])
        if job.licences:
            result = await self._write(
                LicenceActivities.revoke_licences, job, timedelta(seconds=60)
            )
        revocation.record(self._case, result, workflow.now())
        await self._commit()

    async def _issue_licences(self) -> None:
        """证照生成: the licences the grant issues, written by an activity that is idempotent
        and retried until the library takes them."""
        drafts = licences.drafts(self._case)
        if not drafts or self._status.state is not ApplicationState.granted:
            return
        result = await self._write(
            LicenceActivities.issue_licences,
            IssueInput(application_no=self._status.application_no, drafts=drafts),
            timedelta(seconds=60),
        )
        async with self._lock:
            licences.record(self._case, result, workflow.now())
            await self._commit()

    async def _write(
        self,
        activity: Callable[[Any, I], Awaitable[R]],
        job: I,
        limit: timedelta,
        *,
        recorded_first: bool = False,
    ) -> R:
        """Write to our own database (the read model, the licence library: issuing and
        revoking): idempotent, and retried until the database takes it.

        A local activity runs in this worker within the workflow task that made the
        transition: no activity task goes through the server and back, and the history
        keeps a marker instead of a copy of the whole projection. Past a minute of retries it
        waits between workflow tasks; on replay its input is rebuilt and it is not run again.

        It writes before the server has recorded that task. What a task replays from (a
        start, a timer fired, an activity's result) is recorded before it runs, so a task
        lost with the server is run again to the same transition and the same write. An
        update is not: the server records it only with the task's completion, and loses it
        with that task. `recorded_first` writes by an activity instead, scheduled by the
        task's completion and so never before the server has it.
        """
        if self._lean and not recorded_first:
            return await workflow.execute_local_activity_method(
                activity, job, start_to_close_timeout=limit, retry_policy=_PROJECTION_RETRY
            )
        return await workflow.execute_activity_method(
            activity, job, start_to_close_timeout=limit, retry_policy=_PROJECTION_RETRY
        )

    async def _sleep_until(self, wake: datetime | None) -> None:
        """Wait for the next card to fall due, or for an action that may move it."""
        self._changed = False
        timeout = None if wake is None else wake - workflow.now()
        if timeout is not None and timeout <= timedelta(0):
            return
        if not self._lean:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._changed, timeout=timeout)
            return
        # Most actions leave the next card where it was (a claim, one of several approvals
        # due alike): the timer already running is kept instead of cancelled and renewed.
        if self._timer_at != wake and self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if timeout is not None and self._timer is None:
            self._timer = asyncio.create_task(asyncio.sleep(timeout.total_seconds()))
            self._timer_at = wake
        timer = self._timer
        await workflow.wait_condition(lambda: self._changed or (timer is not None and timer.done()))
        if timer is not None and timer.done():
            self._timer = self._timer_at = None

    async def _commit(self, *, recorded_first: bool = False) -> None:
        """Write the transition to the read model and make it visible to Temporal's UI
        (`recorded_first`: see `_write`)."""
        self._status.revision += 1
        self._case.refresh(workflow.now())
        events, notifications = self._case.take_records()
        calendar = self._case.app.calendar
        sms = [
            note.id
            for note in notifications
            if self._case.delivers and channel_for(note.recipient) is NoticeChannel.sms
        ]
        projection = Projection(
            status=self._status,
            application=None if self._projected_application else self._case.app,
            calendar=calendar if calendar.version != self._projected_calendar else None,
            events=events,
            notifications=notifications,
            send_sms=sms if self._sms_in_write else [],
        )
        unsent = await self._write(
            ReadModelActivities.record_projection,
            projection,
            timedelta(seconds=30),
            recorded_first=recorded_first,
        )
        self._projected_application = True
        self._projected_calendar = calendar.version
        self._publish()
        # Before engine 3 the write sent nothing (and answered None): every SMS is retried.
        self._deliver(sms if unsent is None else unsent)
        for code in self._case.take_auto_due():
            task = asyncio.create_task(self._auto_decide(code))
            self._deciding.add(task)
            task.add_done_callback(self._deciding.discard)
        for code, push in self._pushes.items():
            state = self._status.step(code).state
            if not state.active or state is StepState.returned:
                push.cancel()  # decided, cancelled or sent back: nothing left to hand over

    def _deliver(self, sms: list[str]) -> None:
        """Start what leaves the process once the read model holds it: the applicant's SMS
        (those the write left unsent) and the pushes of new tasks, each an activity of its
        own running alongside."""
        if not self._case.delivers:
            return
        for notification_id in sms:
            task = asyncio.create_task(self._send_sms(notification_id))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        for code in self._case.take_pushes():
            step = self._status.step(code)
            connector = self._case.app.connectors[step.department]
            job = PushJob(
                application_no=self._status.application_no,
                step_code=code,
                department=step.department,
                url=connector.url,
                push_no=self._pushed_before.get(code, 0),
            )
            self._pushed_before[code] = job.push_no + 1
            self._pushing[code] = job
            self._pushes[code] = asyncio.create_task(self._push(job))

    async def _auto_decide(self, code: str) -> None:
        """秒批: the licence facts the step's rules read (an activity: the library is I/O),
        then the rules applied under the lock."""
        job = auto_decision.job(self._case, code, workflow.now())
        licences: list[LicenceFact] | None = []
        if job.licences:
            try:
                licences = await workflow.execute_activity_method(
                    AutoFactsActivities.gather_auto_facts,
                    job,
                    start_to_close_timeout=timedelta(seconds=30),
                    # Retried as our writes are, but not for ever: the step waits for no one
                    # meanwhile, so past this its department decides it (auto_decision.decide).
                    schedule_to_close_timeout=auto_decision.FACTS_LOOKUP_LIMIT,
                    retry_policy=_PROJECTION_RETRY,
                )
            except ActivityError:
                licences = None
        async with self._lock:
            auto_decision.decide(self._case, code, licences, workflow.now())
            await self._commit()
        self._changed = True

    async def _send_sms(self, notification_id: str) -> None:
        try:
            await workflow.execute_activity_method(
                MessageActivities.send_sms,
                SmsJob(notification_id=notification_id, max_attempts=SMS_ATTEMPTS),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=_SMS_RETRY,
            )
        except ActivityError:
            # Given up after its attempts: the message's row says so, with the last error.
            workflow.logger.warning("SMS %s not delivered", notification_id)

    async def _push(self, job: PushJob) -> None:
        try:
            await workflow.execute_activity_method(
                DepartmentActivities.push_task,
                job,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=_PUSH_RETRY,
            )
        except (ActivityError, asyncio.CancelledError):
            self._pushed(job)
            return
        if not self._pushed(job):
            return  # the step went to another department meanwhile
        async with self._lock:
            pushes.acknowledged(self._case, job.step_code, workflow.now())
            await self._commit()
        self._changed = True

    def _pushed(self, job: PushJob) -> bool:
        """Forget a finished push; False if it was not the step's current one.

        A step re-routed (改派) is pushed again to its new department while the push to the
        old one may still be winding down: only the current job's entry is removed."""
        if self._pushing.get(job.step_code) is not job:
            return False
        del self._pushing[job.step_code]
        del self._pushes[job.step_code]
        return True

    def _publish(self) -> None:
        st = self._status
        wanted: dict[str, object] = {
            sa.APPLICATION_NO.name: st.application_no,
            sa.MATTER_CODE.name: st.matter_code,
            sa.APPLICATION_STATE.name: st.state.value,
            sa.SLA_LEVEL.name: st.sla_level.value,
            sa.OVERDUE_STEPS.name: st.overdue_steps,
            sa.PROMISED_DEADLINE.name: st.promised_deadline,
        }
        if wanted != self._search:
            updates: list[SearchAttributeUpdate[Any]] = [
                sa.APPLICATION_NO.value_set(st.application_no),
                sa.MATTER_CODE.value_set(st.matter_code),
                sa.APPLICATION_STATE.value_set(st.state.value),
                sa.SLA_LEVEL.value_set(st.sla_level.value),
                sa.OVERDUE_STEPS.value_set(st.overdue_steps),
            ]
            # No deadline before acceptance; once set it only moves, so it is never unset.
            if st.promised_deadline:
                updates.append(sa.PROMISED_DEADLINE.value_set(st.promised_deadline))
            workflow.upsert_search_attributes(updates)
            self._search = wanted
        workflow.set_current_details(self._details())

    def _details(self) -> str:
        st = self._status
        lines = [
            f"**{st.matter_name}** {st.application_no}: {st.state.label}, {st.sla_level.label}",
            f"承诺办结: {st.promised_deadline:%Y-%m-%d %H:%M} UTC" if st.promised_deadline else "",
        ]
        lines += [
            f"- {s.name} ({s.department}): {s.state.label}, {s.sla_level.value}" for s in st.steps
        ]
        return "\n".join(line for line in lines if line)

    async def _act(self, transition: Transition[A], action: A) -> ApplicationStatus:
        """Run one action under the lock: re-check (a timer may have moved the case), apply,
        write the read model, and wake the main loop to recompute its timer.

        The write waits until the server has recorded the update (`_write`): the read model
        never shows an action the workflow may yet lose, which a caller retrying it would be
        refused for, and the lock keeps every other write (a local activity, with the whole
        state) behind it."""
        async with self._lock:
            self._check(transition, action)
            transition.apply(self._case, action, workflow.now())
            await self._commit(recorded_first=self._recorded_first)
            await self._revoke_licences()
        self._changed = True
        return self._status

    # --- the state, and the submission's own update ----------------------------------------

    @workflow.query
    def state(self) -> ApplicationStatus:
        return self._status

    @workflow.update
    async def acceptance(self) -> ApplicationStatus:
        """The state once the acceptance is in the read model.

        Submitting is update-with-start of this update, so the caller gets the application
        back only when status polls can already find it.
        """
        await workflow.wait_condition(lambda: self._projected_application)
        return self._status
