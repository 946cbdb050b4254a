"""告知承诺制: decided at acceptance on the applicant's written commitment, then verified.

清税注销 under the commitment (definitions/scenarios/matters/tax_deregistration_commitment.yaml),
on the 2026 schedule moved by whole weeks ahead of the test server. Accepted at the window on
Monday 09-28 at 10:00: granted at once, the clearance certificate issued; the tax bureau's
verification has 10 working days: 09-29, 09-30, then (National Day off) 10-08, 10-09, the
make-up Saturday 10-10, 10-12 ... 10-16, so it is due Friday 10-16 at 17:30. Its budget is
7.5 + 10 × 8.5 = 92.5 office hours: yellow at 80 % (74 h: 7.5 + 7 × 8.5 = 67 h to the close
of 10-13, then 7 h) on 10-14 at 16:00, red at 10-16 17:30."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.actions import VerificationInput
from domain.application import Applicant, ApplicationInput
from domain.matter import Channel, MatterDefinition
from domain.states import ApplicationState, SlaLevel, StepState
from store import licences as library
from tests.engine import event_rows, kinds, notification_rows, start
from tests.factories import application, credit_code, staff
from tests.timeline import at, eventually, shifted_official, skip_to, utc
from workflows.matter import MatterWorkflow

MATTER_FILE = Path("definitions/scenarios/matters/tax_deregistration_commitment.yaml")
WINDOW = (date(2026, 9, 21), date(2026, 10, 23))


def commitment_matter() -> MatterDefinition:
    return MatterDefinition.model_validate(yaml.safe_load(MATTER_FILE.read_text("utf-8")))


async def _accepted(env: WorkflowEnvironment) -> tuple[ApplicationInput, timedelta]:
    now = await env.get_current_time()
    calendar, shift = shifted_official(*WINDOW, onto=now.date() + timedelta(days=1))
    await skip_to(env, at(date(2026, 9, 28) + shift, 10))
    code = credit_code(f"91340500MA{uuid.uuid4().hex[:6].upper()}")
    form = {
        "taxpayer_name": "马鞍山承诺示例有限公司",
        "taxpayer_credit_code": code,
        "reason": "解散",
    }
    app = application(
        matter=commitment_matter(), now=now, calendar=calendar, channel=Channel.window,
        form=form, commitment_signed=True,
        applicant=Applicant(name=form["taxpayer_name"], credit_code=code, phone="0555-2345678"),
    )  # fmt: skip
    return app, shift


def _day(shift: timedelta, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return at(date(2026, m, d) + shift, hh, mm)


async def _refused(handle, update, action) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, action)
    return str(refused.value.cause)


def _verdict(passed: bool, findings: str, who: str = "tax") -> VerificationInput:
    return VerificationInput(
        step_code="clearance", actor=staff(who), passed=passed, findings=findings
    )


async def test_a_broken_commitment_revokes_the_decision_and_its_licence(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    app, shift = await _accepted(env)
    no = app.application_no
    handle = await start(env, worker.task_queue, app)
    status = await handle.query(MatterWorkflow.state)
    assert status.state is ApplicationState.granted and status.on_commitment
    step = status.step("clearance")
    assert step.state is StepState.verifying and step.decided_by is not None
    assert step.decided_by.role.value == "system"
    [verification] = status.verifications
    assert verification.due == _day(shift, 10, 16, 17, 30)
    assert step.deadline == verification.due  # the department's inbox sorts by it

    async def licensed() -> str:
        found = (await handle.query(MatterWorkflow.state)).licences
        assert len(found) == 1 and found[0].outcome.value == "issued", found
        return found[0].number

    number = await eventually(licensed)
    assert "只有承办部门工作人员" in await _refused(
        handle, MatterWorkflow.verify, _verdict(False, "x").model_copy(
            update={"actor": staff("tax").model_copy(update={"role": "clerk"})}
        )
    )  # fmt: skip
    assert "不属于您的部门" in await _refused(
        handle, MatterWorkflow.verify, _verdict(False, "x", "amr")
    )
    assert "必须写明核查情况" in await _refused(handle, MatterWorkflow.verify, _verdict(False, " "))

    await skip_to(env, _day(shift, 10, 12, 10))
    status = await handle.execute_update(
        MatterWorkflow.verify, _verdict(False, "经核查，该纳税人尚有未缴销的发票")
    )
    assert status.state is ApplicationState.revoked
    assert status.outcome_reason == "清税核查发现与承诺不符：经核查，该纳税人尚有未缴销的发票"
    assert status.step("clearance").state is StepState.rejected
    assert status.revocation is not None and status.revocation.licences_revoked
    final = await handle.result()
    assert final.state is ApplicationState.revoked
    async with sessions() as session:
        [row] = await library.find(session, number=number)
        assert row.revoked_at is not None and "未缴销的发票" in (row.revoke_reason or "")
    events = kinds(await event_rows(sessions, no))
    assert events[:6] == [
        "accepted", "approved_on_commitment", "verification_opened", "granted", "licence_issued",
        "verification_failed",
    ]  # fmt: skip
    assert events[6:] == ["revoked", "licence_revoked"]
    notes = await notification_rows(sessions, no)
    applicant = [n for n in notes if n.recipient == "applicant"]
    assert [n.kind for n in applicant][-2:] == ["revoked", "licence_revoked"]
    granted = next(n for n in applicant if n.kind == "granted_on_commitment")
    assert f"{_day(shift, 10, 16, 17, 30):%Y-%m-%d} 17:30前核查" in granted.body
    assert {n.recipient for n in notes if n.kind == "verification_opened"} == {"dept:tax"}


async def test_a_verification_has_its_own_clock_and_card_and_a_pass_closes_it(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    app, shift = await _accepted(env)
    no = app.application_no
    handle = await start(env, worker.task_queue, app)
    await skip_to(env, _day(shift, 10, 19, 10))

    async def carded() -> list[tuple[str, datetime]]:
        raised = [
            (e.payload["level"], e.at.replace(second=0, microsecond=0))
            for e in await event_rows(sessions, no)
            if e.kind == "card_raised" and e.payload.get("scope") == "verification"
        ]
        assert [level for level, _ in raised] == ["yellow", "red"]
        return raised

    raised = await eventually(carded)
    assert raised == [
        ("yellow", utc(_day(shift, 10, 14, 16))),
        ("red", utc(_day(shift, 10, 16, 17, 30))),
    ]
    notes = await notification_rows(sessions, no)
    assert {n.recipient for n in notes if n.kind == "verification_red"} == {
        "dept:tax",
        "supervisors",
    }
    status = await handle.query(MatterWorkflow.state)
    assert status.verifications[0].sla_level is SlaLevel.red and status.verifications[0].open
    status = await handle.execute_update(
        MatterWorkflow.verify, _verdict(True, "税款、发票已核实结清")
    )
    assert status.state is ApplicationState.granted
    assert status.step("clearance").state is StepState.approved
    assert not status.verifications[0].open and status.verifications[0].passed
    again = await _refused(handle, MatterWorkflow.verify, _verdict(True, "再次核查"))
    assert "没有进行中的承诺核查" in again
