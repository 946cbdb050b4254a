"""秒批 on the time-skipping server: utility_connection's gas step is agreed by its rule when
the applicant holds a valid planning permit in the library and needs at most 50 m³/h. The
verdict records the rule and exactly the facts it read; when the rules cannot decide, the
step goes to the gas company as before, with the reason recorded.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from definitions.catalogue import default_catalogue
from domain.actions import ClaimInput
from domain.actors import AUTO
from domain.application import Applicant, ApplicationStatus
from domain.matter import AutoDecision, AutoRule, Condition, RuleOp
from domain.states import ApplicationState, StepState
from store import licences as library
from tests.engine import Handle, event_rows, notification_rows, start
from tests.factories import application, credit_code, staff
from tests.licence_helpers import issue_licences, record
from tests.timeline import at, eventually, next_plain_monday, plain_calendar, skip_to
from workflows.case.auto_decision import FACTS_LOOKUP_FAILED, FACTS_LOOKUP_LIMIT
from workflows.matter import MatterWorkflow


def _company() -> Applicant:
    digits = "".join(c for c in uuid.uuid4().hex if c.isdigit())[:6].rjust(6, "0")
    return Applicant(
        name="马鞍山燃气测试有限公司", credit_code=credit_code(f"91340500MA{digits}"),
        phone="13800000000",
    )  # fmt: skip


async def _apply(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: async_sessionmaker[AsyncSession],
    *,
    form: dict[str, object],
    permit: date | bool | None = True,
    matter_code: str = "utility_connection",
    **overrides: object,
) -> tuple[Handle, str, str]:
    """Apply on a plain Monday at 10:00; `permit`: the applicant holds a planning permit
    (valid until that day, if a date; none if False)."""
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    company = _company()
    holder = company.credit_code or ""
    number = f"建字第{uuid.uuid4().hex[:10]}号"
    if permit is not False:
        valid_until = permit if isinstance(permit, date) else None
        await issue_licences(
            sessions,
            [
                record(
                    "planning_permit", holder, company.name, number=number,
                    valid_until=valid_until, project_name="示范园区二期",
                    project_address="马鞍山市经开区示例大道12号",
                )
            ],
        )  # fmt: skip
    app = application(
        matter_code, now=at(monday, 10), calendar=plain_calendar(monday), applicant=company,
        form=form, **overrides,
    )  # fmt: skip
    return await start(env, worker.task_queue, app), app.application_no, number


async def _gas_settled(handle: Handle) -> ApplicationStatus:
    async def settled() -> ApplicationStatus:
        status = await handle.query(MatterWorkflow.state)
        assert not status.step("gas").auto_pending and status.step("gas").auto is not None
        return status

    return await eventually(settled)


async def test_the_rule_agrees_and_records_the_facts_it_read(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handle, no, number = await _apply(env, worker, sessions, form={"gas_demand": 20})
    status = await _gas_settled(handle)
    gas = status.step("gas")
    assert gas.state is StepState.approved and gas.decided_by == AUTO
    assert gas.decided_at and gas.opened_at  # decided the moment it opened (within a second)
    assert (gas.decided_at - gas.opened_at).total_seconds() < 1
    assert gas.auto is not None and gas.auto.rule == "小型用气项目" and gas.auto.rule_no == 1
    events = await event_rows(sessions, no)
    [verdict] = [e for e in events if e.kind == "auto_decided"]
    assert verdict.actor_id == AUTO.id and verdict.step_code == "gas"
    assert verdict.payload["decision"] == "approve"
    facts = verdict.payload["facts"]
    assert set(facts) == {"licence.planning_permit", "form.gas_demand"}  # exactly these
    assert facts["form.gas_demand"] == 20
    assert facts["licence.planning_permit"]["number"] == number
    assert facts["licence.planning_permit"]["digest"]
    [approved] = [e for e in events if e.kind == "approved" and e.step_code == "gas"]
    assert approved.actor_id == AUTO.id and approved.payload["comment"].startswith("建设工程")
    notes = await notification_rows(sessions, no)
    [told] = [n for n in notes if n.kind == "auto_decided"]
    assert told.recipient == "dept:gas" and told.subject == "秒批通过：燃气管网接入意见"
    # The gas company never had the task: no new-task notice for it.
    assert not [n for n in notes if n.kind == "task_opened" and n.recipient == "dept:gas"]
    # The others went to people as usual.
    assert status.step("water").state is StepState.open


async def test_rules_that_cannot_decide_send_the_step_to_people(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # Too much gas: the rule's condition is false.
    handle, no, _ = await _apply(env, worker, sessions, form={"gas_demand": 80})
    gas = (await _gas_settled(handle)).step("gas")
    assert gas.state is StepState.open and gas.auto is not None and not gas.auto.decided
    assert (
        gas.auto.why_not[0]
        == "规则1（小型用气项目）：条件 form.gas_demand le 50 不成立（实际：80）"
    )
    [undecided] = [e for e in await event_rows(sessions, no) if e.kind == "auto_undecided"]
    assert undecided.payload["why_not"] == gas.auto.why_not
    assert [n.recipient for n in await notification_rows(sessions, no) if n.kind == "task_opened"]
    # ... and the gas company claims it as any task.
    claimed = await handle.execute_update(
        MatterWorkflow.claim, ClaimInput(step_code="gas", actor=staff("gas"))
    )
    assert claimed.step("gas").state is StepState.claimed

    # A fact missing (the demand not stated): the rule cannot say, so people decide.
    handle, _, _ = await _apply(env, worker, sessions, form={})
    gas = (await _gas_settled(handle)).step("gas")
    assert gas.state is StepState.open and gas.auto is not None
    assert gas.auto.why_not == [
        "规则1（小型用气项目）：缺少事实 form.gas_demand，规则无法判断，转人工办理"
    ]

    # No permit, or one expired before the step opened: no rule applies.
    for permit in (False, date(2020, 1, 1)):
        handle, _, _ = await _apply(env, worker, sessions, form={"gas_demand": 20}, permit=permit)
        gas = (await _gas_settled(handle)).step("gas")
        assert gas.state is StepState.open and gas.auto is not None
        assert "licence.planning_permit present 不成立" in gas.auto.why_not[0]


async def test_a_rejecting_rule_refuses_the_application(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A rule may reject: then the one reasoned rejection refuses the application, as a
    department's would, and the other steps are cancelled."""
    shipped = default_catalogue().matter("utility_connection")
    too_much = AutoRule(
        name="超出管网能力",
        when=[Condition(fact="form.gas_demand", op=RuleOp.gt, value=500)],
        decide="reject",
        reason="用气需求超过区域管网能力，不予接入",
    )
    gas = shipped.step("gas")
    auto = AutoDecision(rules=[too_much, *(gas.auto.rules if gas.auto else [])])
    steps = [s.model_copy(update={"auto": auto}) if s.code == "gas" else s for s in shipped.steps]
    matter = shipped.model_copy(update={"steps": steps})
    handle, no, _ = await _apply(env, worker, sessions, form={"gas_demand": 800}, matter=matter)

    async def refused() -> ApplicationStatus:
        status = await handle.query(MatterWorkflow.state)
        assert status.state is ApplicationState.refused
        return status

    status = await eventually(refused)
    assert status.step("gas").state is StepState.rejected
    assert status.outcome_reason == "用气需求超过区域管网能力，不予接入"
    assert status.step("water").state is StepState.cancelled
    [verdict] = [e for e in await event_rows(sessions, no) if e.kind == "auto_decided"]
    assert verdict.payload["facts"] == {"form.gas_demand": 800}
    assert verdict.payload["rule_no"] == 1 and verdict.payload["decision"] == "reject"


async def test_a_library_that_cannot_be_read_leaves_the_step_to_people(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The facts' look-up is retried, but not for ever: past FACTS_LOOKUP_LIMIT the step
    goes to its department with the reason, instead of waiting on the library for good."""
    calls = 0

    async def broken(*_args: object, **_kwargs: object) -> list[object]:
        nonlocal calls
        calls += 1
        raise RuntimeError("licence library unreadable")

    monkeypatch.setattr(library, "held_by", broken)
    handle, no, _ = await _apply(env, worker, sessions, form={"gas_demand": 20})

    async def tried() -> None:
        assert calls >= 1

    await eventually(tried)
    await env.sleep(FACTS_LOOKUP_LIMIT + timedelta(minutes=1))
    gas = (await _gas_settled(handle)).step("gas")
    assert gas.state is StepState.open and gas.auto is not None and not gas.auto.decided
    assert gas.auto.why_not == [FACTS_LOOKUP_FAILED]
    assert calls > 1  # retried before giving up
    [undecided] = [e for e in await event_rows(sessions, no) if e.kind == "auto_undecided"]
    assert undecided.payload["why_not"] == [FACTS_LOOKUP_FAILED]
    # The gas company has the task as any other.
    assert [
        n
        for n in await notification_rows(sessions, no)
        if n.kind == "task_opened" and n.recipient == "dept:gas"
    ]
