"""容缺受理: accepted with a minor material missing, on the applicant's signed commitment.

The 2026 schedule moved by whole weeks ahead of the test server (National Day: 10-01 to
10-07 off, Saturday 10-10 a make-up working day). 企业开办 accepted at the window on
Wednesday 09-30 at 10:00 without the premises proof (2 working days allowed): due Friday
10-09 17:30 (10-08 and 10-09 are the next working days), before the promise (3 days: the
make-up Saturday 10-10 17:30). Its budget is 7.5 + 8.5 + 8.5 = 24.5 office hours, so its card
turns yellow at 80 % (19.6 h): 10-09 12:36."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from definitions.catalogue import default_catalogue
from domain.actions import AcceptInput, ApproveInput, HandOverInput, MissingMaterialsInput
from domain.actors import Actor, Role
from domain.application import ApplicationInput, MaterialReceipt, MaterialSource, Tolerance
from domain.fields import clean_fields
from domain.matter import Channel
from domain.states import ApplicationState, SlaLevel, StepState
from store import licences as library
from tests.api_helpers import COMPANY_SETUP_FORM
from tests.engine import event_rows, kinds, notification_rows, own_company_results, start
from tests.factories import CLERK, application, staff
from tests.timeline import at, eventually, shifted_official, skip_to, utc
from workflows.matter import MatterWorkflow

APPLICANT = Actor(id="applicant-1", name="张三", role=Role.applicant)
WINDOW = (date(2026, 9, 28), date(2026, 10, 16))


async def _walk_in(env: WorkflowEnvironment) -> tuple[ApplicationInput, timedelta]:
    now = await env.get_current_time()
    calendar, shift = shifted_official(*WINDOW, onto=now.date() + timedelta(days=1))
    await skip_to(env, at(date(2026, 9, 30) + shift, 10))
    matter = default_catalogue().matter("company_setup")
    form = clean_fields(matter.form, COMPANY_SETUP_FORM)
    app = application(
        "company_setup", now=now, calendar=calendar, channel=Channel.window, form=form
    )
    app = app.model_copy(
        update={
            "materials": [m for m in app.materials if m.code != "premises_proof"],
            "tolerance": Tolerance(missing=["premises_proof"], signed=True),
        }
    )
    return app, shift


async def _refused(handle, update, action) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, action)
    return str(refused.value.cause)


async def test_missing_materials_unanswered_end_a_granted_application_and_its_licences(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    app, shift = await _walk_in(env)

    def day(m: int, d: int, hh: int, mm: int = 0):  # type: ignore[no-untyped-def]
        return at(date(2026, m, d) + shift, hh, mm)

    no = app.application_no
    handle = await start(env, worker.task_queue, app)
    status = await handle.query(MatterWorkflow.state)
    outstanding = status.outstanding
    assert outstanding is not None and outstanding.open
    assert outstanding.due == day(10, 9, 17, 30)
    assert status.promised_deadline == day(10, 10, 17, 30)  # the make-up Saturday
    assert [m.code for m in outstanding.missing] == ["premises_proof"]
    # The departments work meanwhile.
    assert {s.state for s in status.steps} == {StepState.open}
    [notice] = [
        n for n in await notification_rows(sessions, no) if n.kind == "accepted_with_missing"
    ]
    assert notice.recipient == "applicant"
    assert (
        "请于" + f"{day(10, 9, 17, 30):%Y-%m-%d} 17:30前补齐：住所（经营场所）使用证明"
        in notice.body
    )
    assert "逾期未补齐的，终止办理" in notice.body

    matter = default_catalogue().matter("company_setup")
    results = own_company_results(matter)
    for step in ("registration", "seal", "invoice"):
        action = ApproveInput(step_code=step, actor=staff(matter.step(step).department),
                              result=results[step])  # fmt: skip
        status = await handle.execute_update(MatterWorkflow.approve, action)
    assert status.state is ApplicationState.granted

    async def licensed() -> list[str]:
        found = (await handle.query(MatterWorkflow.state)).licences
        assert len(found) == 2
        return [licence.number for licence in found]

    numbers = await eventually(licensed)
    hand = HandOverInput(actor=CLERK, method="window", ref="申请人本人")
    assert "容缺材料尚未补齐（住所（经营场所）使用证明）" in await _refused(
        handle, MatterWorkflow.hand_over, hand
    )

    await skip_to(env, day(10, 9, 12, 35))
    assert (await handle.query(MatterWorkflow.state)).outstanding.sla_level is SlaLevel.green  # type: ignore[union-attr]
    await skip_to(env, day(10, 12, 10))
    status = await handle.result()
    assert status.state is ApplicationState.terminated
    assert status.outcome_reason == (
        f"未在容缺承诺期限（{day(10, 9, 17, 30):%Y-%m-%d} 17:30）内补齐材料："
        "住所（经营场所）使用证明"
    )
    assert status.revocation is not None and status.revocation.licences_revoked
    events = await event_rows(sessions, no)
    yellow = [e for e in events if e.kind == "card_raised" and e.payload["scope"] == "missing"]
    assert [e.at.replace(second=0, microsecond=0) for e in yellow] == [utc(day(10, 9, 12, 36))]
    [lapsed] = [e for e in events if e.kind == "missing_lapsed"]
    assert lapsed.at.replace(microsecond=0) == utc(day(10, 9, 17, 30))
    assert kinds(events)[-4:] == [
        "missing_lapsed", "revoked", "licence_revoked", "licence_revoked"
    ], kinds(events)  # fmt: skip
    assert kinds(events).count("licence_revoked") == 2
    async with sessions() as session:
        for number in numbers:
            [row] = await library.find(session, number=number)
            assert row.revoked_at is not None and "容缺承诺期限" in (row.revoke_reason or "")
    notes = await notification_rows(sessions, no)
    applicant = [n.kind for n in notes if n.recipient == "applicant"]
    assert "missing_yellow" in applicant and "terminated" in applicant
    assert applicant.count("licence_revoked") == 2
    assert {n.recipient for n in notes if n.kind == "decision_revoked"} >= {
        "dept:amr",
        "supervisors",
    }


async def test_materials_handed_in_close_the_ledger_and_free_the_hand_over(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    app, shift = await _walk_in(env)
    handle = await start(env, worker.task_queue, app)
    await skip_to(env, at(date(2026, 10, 8) + shift, 10))
    paper = MissingMaterialsInput(
        actor=APPLICANT,
        materials=[MaterialReceipt(code="premises_proof", source=MaterialSource.paper)],
    )
    assert "纸质材料只能在窗口提交" in await _refused(handle, MatterWorkflow.supply_missing, paper)
    other = MissingMaterialsInput(
        actor=APPLICANT,
        materials=[MaterialReceipt(code="articles", source=MaterialSource.upload, ref="f9")],
    )
    assert "不在待补齐的容缺材料中：articles" in await _refused(
        handle, MatterWorkflow.supply_missing, other
    )
    upload = MissingMaterialsInput(
        actor=APPLICANT,
        materials=[MaterialReceipt(code="premises_proof", source=MaterialSource.upload, ref="f7")],
    )
    status = await handle.execute_update(MatterWorkflow.supply_missing, upload)
    assert status.outstanding is not None and not status.outstanding.open
    assert status.outstanding.completed_at is not None
    assert "没有待补齐的容缺材料" in await _refused(handle, MatterWorkflow.supply_missing, upload)
    # Past the old deadline nothing happens: the ledger is closed.
    await skip_to(env, at(date(2026, 10, 9) + shift, 18))
    status = await handle.query(MatterWorkflow.state)
    assert status.state is ApplicationState.in_progress or status.state is ApplicationState.accepted
    notes = [n.kind for n in await notification_rows(sessions, app.application_no)]
    assert "missing_supplied" in notes and "terminated" not in notes


async def test_the_window_accepts_with_materials_missing_only_as_the_matter_allows(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    now = await env.get_current_time()
    online = application("company_setup", now=now, needs_acceptance=True)
    handle = await start(env, worker.task_queue, online)

    def accept(missing: list[str], signed: bool = True) -> AcceptInput:
        return AcceptInput(actor=CLERK, tolerance=Tolerance(missing=missing, signed=signed))

    refused = await _refused(handle, MatterWorkflow.accept, accept(["articles"]))
    assert "公司章程不能容缺（本事项可容缺的材料：住所（经营场所）使用证明）" in refused
    unsigned = await _refused(handle, MatterWorkflow.accept, accept(["premises_proof"], False))
    assert "须由申请人签署容缺承诺书" in unsigned
    status = await handle.execute_update(MatterWorkflow.accept, accept(["premises_proof"]))
    assert status.outstanding is not None and status.outstanding.open

    other = application("property_transfer", now=now, needs_acceptance=True)
    other_handle = await start(env, worker.task_queue, other)
    refused = await _refused(other_handle, MatterWorkflow.accept, accept(["sale_contract"]))
    assert "本事项不适用容缺受理" in refused
