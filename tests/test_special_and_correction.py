"""A special procedure and a correction both stop the matter's clocks: whichever ends first
leaves them stopped until the other ends too (one ledger pause, not two)."""

from __future__ import annotations

from datetime import date, timedelta

from domain.actions import (
    SpecialProcedureEndInput,
    SpecialProcedureInput,
    SupplementRequestInput,
    SupplyInput,
)
from domain.application import SuppliedItem
from domain.matter import SpecialProcedureKind
from tests.factories import APPLICANT, application, staff
from tests.timeline import at, next_plain_monday, plain_calendar
from workflows.case import acceptance, corrections, special_procedures
from workflows.case.core import Case


def test_the_matter_clock_waits_for_both_the_correction_and_the_special_procedure() -> None:
    monday = next_plain_monday(at(date(2026, 11, 1), 10))
    app = application("utility_connection", now=at(monday, 10), calendar=plain_calendar(monday))
    case = Case(app, at(monday, 10))
    acceptance.start(case, at(monday, 10))
    t = at(monday, 11)
    special = SpecialProcedureInput(
        step_code="road_opening",
        actor=staff("urban"),
        kind=SpecialProcedureKind.hearing,
        working_days=3,
        reason="涉及相邻权利人重大利益",
    )
    assert special_procedures.START.problem(case, special, t) is None
    special_procedures.START.apply(case, special, t)
    ask = SupplementRequestInput(
        step_code="water", actor=staff("water"), items=["管线图"], reason="缺少管线图"
    )
    corrections.REQUEST.apply(case, ask, t + timedelta(hours=1))
    assert case.promised.paused and len(case.promised.pauses) == 1

    supply = SupplyInput(actor=APPLICANT, items=[SuppliedItem(item="管线图", ref="f")])
    corrections.SUPPLY.apply(case, supply, t + timedelta(hours=2))
    assert case.promised.paused  # the hearing still runs
    assert not case.status.step("water").paused  # the step that asked runs again

    end = SpecialProcedureEndInput(step_code="road_opening", actor=staff("urban"), outcome="完毕")
    assert special_procedures.END.problem(case, end, t + timedelta(hours=3)) is None
    special_procedures.END.apply(case, end, t + timedelta(hours=3))
    assert not case.promised.paused and not case.legal.paused
    [pause] = case.promised.pauses
    assert pause.since == t and pause.until == t + timedelta(hours=3)
