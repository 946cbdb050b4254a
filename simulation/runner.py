"""Running a scenario: the real `MatterWorkflow` on a time-skipping test server, with the
real definitions and working-day calendar, and a read model of its own.

The test server's clock starts at the real time and only moves forward, and a test session
shares one server between many scenarios. So the whole scenario is moved by whole weeks to
just after the server's clock, onto a calendar moved with it (each real working day and day
off lands on the same weekday, `shift` away), and every time is moved back before it is
shown: what the workflow computes is what it would have computed on the scenario's dates.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from api.engine import submit
from definitions.calendars import default_sources
from definitions.catalogue import default_catalogue
from domain.application import (
    ENGINE,
    ApplicationInput,
    ApplicationStatus,
    MaterialReceipt,
    MaterialSource,
    Tolerance,
)
from domain.calendar import CalendarSnapshot, WorkCalendar
from domain.fields import clean_fields
from domain.licences import LicenceRecord
from domain.matter import Channel
from settings import Settings, get_settings
from simulation.actions import ACTIONS, CLERK, Acting, Refused
from simulation.idle import settle, terminate_when_idle
from simulation.scenario import Scenario, ScenarioAction
from simulation.values import applicant, form_values
from store import licences as library
from store.db import create_engine, session_factory
from store.migrate import upgrade
from store.models import EventRow
from workflows.matter import MatterWorkflow
from workflows.matter_actions import REFUSED

Handle = WorkflowHandle[MatterWorkflow, ApplicationStatus]
WEEK = timedelta(weeks=1)


async def simulate(
    env: WorkflowEnvironment,
    scenario: Scenario,
    *,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Run `scenario` on `env` (a time-skipping environment) and return its outcome.

    Without `sessions`, the read model is a throwaway SQLite file, migrated for the run.
    """
    settings = settings or get_settings()
    if sessions is not None:
        return await _run(env, scenario, sessions, settings)
    async with _throwaway_read_model() as own:
        return await _run(env, scenario, own, settings)


@asynccontextmanager
async def _throwaway_read_model() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    with tempfile.TemporaryDirectory(prefix="tongban-simulate-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'read_model.db'}"
        await asyncio.to_thread(upgrade, url)  # Alembic is synchronous
        engine = create_engine(url)
        try:
            yield session_factory(engine)
        finally:
            await engine.dispose()


class _Run:
    """One scenario's run: its shift in time, its calendar, and how times are shown."""

    def __init__(self, scenario: Scenario, settings: Settings, now: datetime) -> None:
        centre = default_sources().centres[settings.centre]
        self.tz = ZoneInfo(centre.timezone)
        self.scenario = scenario
        self.real = default_sources().snapshot_around(
            settings.centre, scenario.submitted_at.astimezone(self.tz)
        )
        self.shift = shift_after(scenario.submitted_at, now)
        year = scenario.submitted_at.year
        self.calendar = self.real if not self.shift else shifted(self.real, self.shift, year)
        self.token = uuid.uuid4().hex[:12].upper()
        self.application_no = f"SIM{self.token}"

    def on_server(self, instant: datetime) -> datetime:
        return instant + self.shift

    def shown(self, instant: datetime | None) -> str | None:
        if instant is None:
            return None
        real = (instant - self.shift).astimezone(self.tz)
        # The server's clock runs on while an action travels: milliseconds, never a second.
        return real.replace(microsecond=0).isoformat()

    def application(self) -> ApplicationInput:
        sc = self.scenario
        matter = sc.matter
        return ApplicationInput(
            engine=ENGINE,
            application_no=self.application_no,
            matter=matter,
            calendar=self.calendar,
            applicant=applicant(matter, self.token),
            form=clean_fields(matter.form, form_values(matter.form, self.token) | sc.form),
            materials=[
                MaterialReceipt(code=m.code, source=MaterialSource.upload, ref="simulated")
                for m in matter.materials
                if m.code not in sc.missing
            ],
            # 容缺受理 at a walk-in acceptance, the commitment signed; 告知承诺制 as chosen.
            tolerance=Tolerance(missing=sc.missing, signed=True) if sc.missing else None,
            commitment_signed=sc.commitment,
            channel=sc.channel,
            accepted_by=CLERK,
            # Online, the window accepts it later (`accept`); at the window, on the spot.
            needs_acceptance=sc.channel is not Channel.window,
            # No connectors: a simulation pushes nothing to the departments' systems.
            connectors={},
        )

    def provisional(self, status: ApplicationStatus) -> bool:
        """On the moved calendar every year is official: ask the real one instead."""
        if not self.shift:
            return status.deadline_provisional
        start, end = status.accepted_at, status.promised_deadline
        if start is None or end is None:
            return False
        first, last = ((t - self.shift).astimezone(self.tz).date() for t in (start, end))
        return WorkCalendar(self.real).provisional_between(first, last)


def shift_after(instant: datetime, now: datetime) -> timedelta:
    """The whole weeks that move `instant` into the week after `now`: forward when it is in
    the past (the server's clock cannot go back), back when it is far ahead, so that a test
    session's clock is moved on by days, never by a year."""
    weeks = -((instant - now) // WEEK)  # the whole weeks from `instant` to `now`, rounded up
    if instant + weeks * WEEK <= now:
        weeks += 1
    return weeks * WEEK


def shifted(real: CalendarSnapshot, shift: timedelta, year: int) -> CalendarSnapshot:
    """`real` moved by `shift` (whole weeks), its days off and make-up days written out, for
    the years around `year` and those `real` knows.

    Every year it covers becomes official on the moved calendar (provisional years' assumed
    holidays are written out too); `_Run.provisional` answers from the real one.
    """
    assert shift % WEEK == timedelta(0), "only whole weeks keep weekdays"
    calendar = WorkCalendar(real)
    years = [*real.official_years, year]
    first, last = date(min(years) - 1, 1, 1), date(max(years) + 2, 12, 31)
    off: list[date] = []
    on: list[date] = []
    day = first
    while day <= last:
        workday = calendar.is_workday(day)
        if day.weekday() < 5 and not workday:
            off.append(day + shift)
        elif day.weekday() >= 5 and workday:
            on.append(day + shift)
        day += timedelta(days=1)
    return real.model_copy(
        update={
            "official_years": tuple(range((first + shift).year, (last + shift).year + 1)),
            "off_days": tuple(off),
            "on_days": tuple(on),
            "provisional_holidays": (),
            "annual_off_days": (),
        }
    )


async def _run(
    env: WorkflowEnvironment,
    scenario: Scenario,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> dict[str, Any]:
    from worker import build_worker  # the worker module sets up everything it runs

    run = _Run(scenario, settings, await env.get_current_time())
    # A simulation sends no SMS: the message is recorded as not sent, at once.
    quiet = settings.model_copy(update={"sms_url": "", "sms_token": None})
    task_queue = f"simulate-{run.token}"
    refused: list[dict[str, Any]] = []
    async with build_worker(env.client, sessions, task_queue, settings=quiet):
        await _skip_to(env, run.on_server(scenario.submitted_at))
        await _hold_licences(run, sessions)
        status = await submit(env.client, run.application(), task_queue=task_queue)
        handle = env.client.get_workflow_handle_for(MatterWorkflow.run, run.application_no)
        try:
            for action in scenario.actions:
                await _skip_to(env, run.on_server(action.at))
                status = await handle.query(MatterWorkflow.state)
                try:
                    status = await _act(run, handle, action, status)
                except Refused as exc:
                    refused.append(_refusal(run, action, str(exc)))
            await _skip_to(env, run.on_server(scenario.until))
            await settle(handle)
            status = await handle.query(MatterWorkflow.state)
            events = await _events(run, sessions)
        finally:
            # While the worker still runs (see simulation/idle.py).
            await terminate_when_idle(handle, "simulation over")
    outcome: dict[str, Any] = {
        "application": {
            "state": status.state.value,
            "card": status.sla_level.value,
            "promised_deadline": run.shown(status.promised_deadline),
            "legal_deadline": run.shown(status.legal_deadline),
            "provisional": run.provisional(status),
        },
        "steps": {
            s.code: {
                "state": s.state.value,
                "card": s.sla_level.value,
                "deadline": run.shown(s.deadline),
                "decided_at": run.shown(s.decided_at),
            }
            for s in status.steps
        },
        "events": events,
        "refused": refused,
    }
    return outcome | _pledges(run, status)


def _pledges(run: _Run, status: ApplicationStatus) -> dict[str, Any]:
    """容缺受理's ledger and 告知承诺制's verifications, for the scenarios that have them."""
    out: dict[str, Any] = {}
    owed = status.outstanding
    if owed is not None:
        out["missing_materials"] = {
            "materials": [m.code for m in owed.materials],
            "due": run.shown(owed.due),
            "card": owed.sla_level.value,
            "completed_at": run.shown(owed.completed_at),
            "lapsed_at": run.shown(owed.lapsed_at),
        }
    if status.verifications:
        out["verifications"] = {
            v.step_code: {
                "due": run.shown(v.due),
                "card": v.sla_level.value,
                "passed": v.passed,
                "verified_at": run.shown(v.verified_at),
            }
            for v in status.verifications
        }
    return out


async def _hold_licences(run: _Run, sessions: async_sessionmaker[AsyncSession]) -> None:
    """The scenario's licences, held by its applicant, written into the library."""
    if not run.scenario.licences:
        return
    holder = run.application().applicant
    types = default_catalogue().licence_types
    records = [
        LicenceRecord(
            type=x.type,
            number=f"{x.number}-{run.token}",
            holder_id=holder.id_number or holder.credit_code or "",
            holder_name=holder.name,
            issuer="模拟发证机关",
            issued_on=run.scenario.submitted_at.date(),
            valid_until=x.valid_until,
            fields=x.fields,
        )
        for x in run.scenario.licences
    ]
    async with sessions() as session, session.begin():
        await library.issue(
            session,
            records=records,
            holder_kinds={r.type: types[r.type].holder for r in records},
            now=run.on_server(run.scenario.submitted_at),
        )


async def _skip_to(env: WorkflowEnvironment, instant: datetime) -> None:
    now = await env.get_current_time()
    if instant > now:
        await env.sleep(instant - now)


async def _act(
    run: _Run, handle: Handle, action: ScenarioAction, status: ApplicationStatus
) -> ApplicationStatus:
    """Send one action; raise `Refused` with the reason the API or the engine gives."""
    kind = ACTIONS[action.do]
    if kind.open_only and status.state.final:
        # As the API refuses it from the read model, before asking the engine.
        raise Refused(f"该办件{status.state.label}，不能再办理")
    payload = kind.build(
        Acting(
            action=action,
            status=status,
            matter=run.scenario.matter,
            calendar=run.calendar,
            token=run.token,
        )
    )
    try:
        result: ApplicationStatus = await handle.execute_update(kind.update, payload)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == REFUSED:
            raise Refused(cause.message) from exc
        raise
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:  # the workflow has closed
            raise Refused("该办件已办结，不能再办理") from exc
        raise
    return result


def _refusal(run: _Run, action: ScenarioAction, reason: str) -> dict[str, Any]:
    out: dict[str, Any] = {"at": run.shown(run.on_server(action.at)), "do": action.do}
    if action.step is not None:
        out["step"] = action.step
    out["reason"] = reason
    return out


async def _events(run: _Run, sessions: async_sessionmaker[AsyncSession]) -> list[dict[str, Any]]:
    """The audit trail as the read model holds it, with a card's level (and what it is on),
    a sign-off's stages and a 秒批 verdict's rule and facts."""
    async with sessions() as session:
        rows = await session.scalars(
            select(EventRow)
            .where(EventRow.application_no == run.application_no)
            .order_by(EventRow.seq)
        )
        out = []
        for row in rows:
            event: dict[str, Any] = {"at": run.shown(row.at), "kind": row.kind}
            if row.step_code:
                event["step"] = row.step_code
            if row.kind == "card_raised":
                event["level"] = row.payload.get("level")
                event["scope"] = row.payload.get("scope")
            elif row.kind in ("stage_passed", "stage_sent_back"):
                event["stage"] = row.payload.get("stage")
                event["to"] = row.payload.get("next_stage") or row.payload.get("to_stage")
            elif row.kind == "auto_decided":
                # The facts' names, not their values: a licence's number carries the run's token.
                event["rule"] = row.payload.get("rule")
                event["decision"] = row.payload.get("decision")
                event["facts"] = sorted(row.payload.get("facts", {}))
            elif row.kind == "auto_undecided":
                event["why_not"] = row.payload.get("why_not")
            out.append(event)
        return out
