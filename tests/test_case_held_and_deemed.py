"""Rules of holding, deeming and ordering checked on the case itself (no engine):
- a supervisor takes a waiting step (a special procedure, a correction) from an absent
  claimer, so the application is not held for good with its clocks stopped;
- a supervision order follows its step to the department it is rerouted to;
- an opinion-only step is deemed approved when its own clock runs out, whatever card it
  holds, and not while it awaits the applicant's correction (engine 5);
- an application withdrawn before acceptance shows no deadline (engine 5)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel

from definitions.catalogue import default_catalogue
from domain.actions import (
    ApproveInput,
    OrderAnswerInput,
    ReleaseInput,
    RerouteInput,
    ReturnStepInput,
    SpecialProcedureEndInput,
    SpecialProcedureInput,
    SupervisionOrderInput,
    SupplementRequestInput,
    SupplyInput,
    WithdrawInput,
)
from domain.application import SuppliedItem
from domain.matter import MatterDefinition, SpecialProcedureKind
from domain.states import ApplicationState, SlaLevel, StepState
from tests.factories import APPLICANT, SUPERVISOR, application, staff
from tests.timeline import at, plain_calendar
from workflows.case import (
    acceptance,
    corrections,
    orders,
    routing,
    special_procedures,
    steps,
    supervision,
    withdrawal,
)
from workflows.case.core import Case, Transition

A = TypeVar("A", bound=BaseModel)
MONDAY = date(2026, 11, 9)  # plain_calendar: every weekday a working day, 09:00-17:30


def _case(matter: MatterDefinition, *, accept: bool = True) -> Case:
    app = application(
        matter.code, now=at(MONDAY, 10), calendar=plain_calendar(MONDAY), matter=matter
    )
    case = Case(app, at(MONDAY, 10))
    case.deems_on_own_clock = case.knows_before_acceptance = case.orders_follow_steps = True
    if accept:
        acceptance.start(case, at(MONDAY, 10))
    return case


def _matter(code: str, **changes: object) -> MatterDefinition:
    return default_catalogue().matter(code).model_copy(update=changes)


def _do(case: Case, transition: Transition[A], action: A, when: datetime) -> None:
    problem = transition.problem(case, action, when)
    assert problem is None, problem
    transition.apply(case, action, when)
    supervision.supervise(case, when)


def _state(case: Case, code: str) -> StepState:
    return case.status.step(code).state


def _day(case: Case, n: int) -> date:
    return case.calendar.add_workdays(MONDAY, n)


def test_a_supervisor_frees_a_special_procedure_from_its_absent_starter() -> None:
    case = _case(_matter("utility_connection"))
    first, second = staff("urban", "甲"), staff("urban", "乙")
    second = second.model_copy(update={"id": "urban-2"})
    hearing = SpecialProcedureInput(
        step_code="road_opening", actor=first, kind=SpecialProcedureKind.hearing,
        working_days=2, reason="须举行听证",
    )  # fmt: skip
    _do(case, special_procedures.START, hearing, at(MONDAY, 11))
    later = at(MONDAY + timedelta(days=7), 10)
    end = SpecialProcedureEndInput(step_code="road_opening", actor=second, outcome="听证完毕")
    assert "甲" in (special_procedures.END.problem(case, end, later) or "")
    # Only the claimer or a supervisor: a colleague cannot take it.
    colleague = ReleaseInput(step_code="road_opening", actor=second)
    assert steps.RELEASE.problem(case, colleague, later) is not None
    _do(case, steps.RELEASE, ReleaseInput(step_code="road_opening", actor=SUPERVISOR), later)
    assert _state(case, "road_opening") is StepState.special
    assert case.status.step("road_opening").claimed_by is None
    assert case.promised.paused  # still the hearing's: freeing it ends nothing
    _do(case, special_procedures.END, end, later)
    assert _state(case, "road_opening") is StepState.open and not case.promised.paused


def test_a_supervision_order_follows_its_step_when_it_is_rerouted() -> None:
    case = _case(_matter("utility_connection"))
    when = at(_day(case, 4), 11)
    supervision.supervise(case, when)
    assert case.status.step("water").sla_level is SlaLevel.yellow
    order = SupervisionOrderInput(
        step_code="water", actor=SUPERVISOR, working_days=2, demand="请加快办理"
    )
    _do(case, orders.ORDER, order, when)
    water = staff("water")
    _do(
        case,
        routing.RETURN,
        ReturnStepInput(step_code="water", actor=water, reason="不属于本单位职责"),
        when,
    )
    reroute = RerouteInput(
        step_code="water", actor=SUPERVISOR, department="power", reason="改派供电"
    )
    case.take_records()
    _do(case, routing.REROUTE, reroute, when)
    _, notices = case.take_records()
    assert ("dept:power", "supervision_order") in {(n.recipient, n.kind) for n in notices}
    assert case.status.orders[0].department == "power"
    answer = OrderAnswerInput(step_code="water", actor=water, order_no=1, answer="已转交")
    assert orders.ANSWER.problem(case, answer, when) is not None
    by_power = answer.model_copy(update={"actor": staff("power")})
    _do(case, orders.ANSWER, by_power, when)
    assert not case.status.orders[0].open


def test_a_late_opened_opinion_step_is_deemed_on_its_own_clock_after_the_serious_card() -> None:
    """Gas opens only once power approves (day 19, near the legal limit); the legal limit
    gives every step the serious card, which used to stop gas from ever earning the red
    card that deems it: it stayed open for good."""
    base = _matter("utility_connection")
    gas_after_power = [
        s.model_copy(update={"needs": ["power"]}) if s.code == "gas" else s for s in base.steps
    ]
    case = _case(base.model_copy(update={"steps": gas_after_power}))
    when = at(_day(case, 19), 11)
    supervision.supervise(case, when)
    _do(
        case,
        steps.APPROVE,
        ApproveInput(step_code="power", actor=staff("power"), result={"scheme_no": "P1"}),
        when,
    )
    gas = case.status.step("gas")
    assert _state(case, "gas") is StepState.open
    supervision.supervise(case, at(_day(case, 21), 10))
    assert gas.sla_level is SlaLevel.serious and _state(case, "gas") is StepState.open
    assert gas.clock is not None
    deadline = gas.clock.reading(case.calendar, at(_day(case, 21), 10)).deadline
    assert deadline is not None
    # The workflow wakes at its deadline, which no card of its own sets any more.
    assert supervision.next_wake(case, at(_day(case, 21), 10)) <= deadline  # type: ignore[operator]
    supervision.supervise(case, deadline)
    assert _state(case, "gas") is StepState.deemed_approved


def test_no_deemed_consent_while_the_step_awaits_the_applicant_s_correction() -> None:
    """A matter whose corrections do not stop the clock: gas asked the applicant for a
    document and may not decide until it comes; its silence meanwhile is not consent. Back
    in hand past its limit, it is deemed."""
    case = _case(_matter("utility_connection", supplement_pauses_clock=False))
    ask = SupplementRequestInput(
        step_code="gas", actor=staff("gas"), items=["用气负荷表"], reason="缺少用气负荷表"
    )
    _do(case, corrections.REQUEST, ask, at(MONDAY, 11))
    late = at(_day(case, 6), 18)
    supervision.supervise(case, late)
    assert _state(case, "gas") is StepState.correction
    assert case.status.step("gas").sla_level is SlaLevel.red
    assert case.status.state is not ApplicationState.granted
    supply = SupplyInput(
        actor=APPLICANT, items=[SuppliedItem(item="用气负荷表", ref="upload:load.pdf")]
    )
    _do(case, corrections.SUPPLY, supply, late + timedelta(minutes=5))
    assert _state(case, "gas") is StepState.deemed_approved


def test_an_application_withdrawn_before_acceptance_shows_no_deadline() -> None:
    case = _case(_matter("company_setup", needs_acceptance=True), accept=False)
    acceptance.receive(case, at(MONDAY, 10))
    _do(
        case, withdrawal.WITHDRAW, WithdrawInput(actor=APPLICANT, reason="不再办理"), at(MONDAY, 11)
    )
    case.refresh(at(MONDAY, 11))
    status = case.status
    assert status.state is ApplicationState.withdrawn and status.accepted_at is None
    assert status.promised_deadline is None and status.legal_deadline is None
