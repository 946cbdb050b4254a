"""Two rules of the clocks checked on the case itself (no engine): an open correction holds
the matter's clocks only where the matter says a correction stops them, and no extension is
granted once the application is past its promised deadline."""

from __future__ import annotations

from datetime import date, timedelta

from definitions.catalogue import default_catalogue
from domain.actions import (
    ApproveInput,
    ExtendInput,
    SpecialProcedureEndInput,
    SpecialProcedureInput,
    SupplementRequestInput,
    SupplyInput,
)
from domain.application import SuppliedItem
from domain.matter import SpecialProcedureKind
from tests.factories import APPLICANT, SUPERVISOR, application, staff
from tests.timeline import at, plain_calendar
from workflows.case import acceptance, corrections, extensions, special_procedures, steps
from workflows.case.core import Case

MONDAY = date(2026, 11, 9)  # plain_calendar: every weekday a working day, 09:00-17:30


def _accepted(code: str, **changes: object) -> Case:
    matter = default_catalogue().matter(code).model_copy(update=changes)
    app = application(code, now=at(MONDAY, 10), calendar=plain_calendar(MONDAY), matter=matter)
    case = Case(app, at(MONDAY, 10))
    acceptance.start(case, at(MONDAY, 10))
    return case


def test_a_correction_that_does_not_stop_the_clock_does_not_hold_it_after_a_hearing() -> None:
    """supplement_pauses_clock: false. A hearing (11:00-15:00) pauses the matter's clocks; a
    correction asked meanwhile (12:00) does not, so they run again when the hearing ends,
    and the deadline moves by the hearing's four office hours only."""
    case = _accepted("utility_connection", supplement_pauses_clock=False)
    before = case.status.promised_deadline
    assert before is not None
    hearing = SpecialProcedureInput(
        step_code="road_opening", actor=staff("urban"), kind=SpecialProcedureKind.hearing,
        working_days=1, reason="听证",
    )  # fmt: skip
    special_procedures.START.apply(case, hearing, at(MONDAY, 11))
    ask = SupplementRequestInput(
        step_code="water", actor=staff("water"), items=["管线图"], reason="缺管线图"
    )
    corrections.REQUEST.apply(case, ask, at(MONDAY, 12))
    ended = SpecialProcedureEndInput(step_code="road_opening", actor=staff("urban"), outcome="完毕")
    special_procedures.END.apply(case, ended, at(MONDAY, 15))
    assert not case.promised.paused and not case.legal.paused
    wednesday = MONDAY + timedelta(days=2)
    supply = SupplyInput(actor=APPLICANT, items=[SuppliedItem(item="管线图", ref="upload:1")])
    corrections.SUPPLY.apply(case, supply, at(wednesday, 15))
    case.refresh(at(wednesday, 15))
    # Monday a week on, 17:30, moved by four office hours: Tuesday 13:00.
    assert before == at(MONDAY + timedelta(days=7), 17, 30)
    assert case.status.promised_deadline == at(MONDAY + timedelta(days=8), 13)


def test_no_extension_once_the_application_is_past_its_promised_deadline() -> None:
    """A step opened late (after the two before it) is still within its own limit when the
    application's promised deadline passes: extending it then would move that deadline and
    make an overdue completion look on time."""
    case = _accepted("property_transfer")

    def approve(code: str, day: date, result: dict[str, str]) -> None:
        action = ApproveInput(
            step_code=code, actor=staff(case.status.step(code).department), result=result
        )
        assert steps.APPROVE.problem(case, action, at(day, 11)) is None
        steps.APPROVE.apply(case, action, at(day, 11))

    approve("contract_filing", MONDAY, {"filing_no": "F1"})
    approve("deed_tax", MONDAY + timedelta(days=3), {"tax_voucher_no": "V1"})
    late = MONDAY + timedelta(days=8)
    promised = case.status.promised_deadline
    assert promised is not None and promised < at(late, 10)
    extend = ExtendInput(
        step_code="registration", actor=SUPERVISOR, working_days=2, reason="需现场核查"
    )
    problem = extensions.EXTEND.problem(case, extend, at(late, 10))
    assert problem == "办件已超过承诺办结期限，不能再延期（按逾期办结处理）"
