"""受理前补正 checked on the case itself (no engine): one notice only (一次性告知), the
window may still refuse while the answer is owed, and a new calendar moves the acceptance
period and the answer's deadline."""

from __future__ import annotations

from datetime import date, datetime

from definitions.catalogue import default_catalogue
from domain.actions import (
    AcceptanceCorrectionInput,
    CalendarChangedInput,
    RefuseAcceptanceInput,
    SupplyInput,
)
from domain.actors import SYSTEM
from domain.application import SuppliedItem
from domain.states import ApplicationState
from tests.factories import APPLICANT, CLERK, application
from tests.timeline import at, plain_calendar
from workflows.case import acceptance, calendar_change, corrections
from workflows.case.core import Case

MONDAY = date(2026, 11, 9)  # plain_calendar: every weekday a working day, 09:00-17:30
ASK = AcceptanceCorrectionInput(actor=CLERK, items=["公司章程签字页"], reason="章程缺少签字")


def _received(**changes: object) -> Case:
    matter = default_catalogue().matter("company_setup").model_copy(update=changes)
    app = application(
        "company_setup", now=at(MONDAY, 10), calendar=plain_calendar(MONDAY), matter=matter,
        needs_acceptance=True, accepted_by=APPLICANT,
    )  # fmt: skip
    case = Case(app, at(MONDAY, 10))
    case.knows_before_acceptance = case.answer_deadlines = True
    acceptance.receive(case, at(MONDAY, 10))
    return case


def _asked(case: Case, when: datetime) -> None:
    assert corrections.BEFORE_ACCEPTANCE_REQUEST.problem(case, ASK, when) is None
    corrections.BEFORE_ACCEPTANCE_REQUEST.apply(case, ASK, when)


def test_the_window_tells_once_and_may_refuse_while_the_answer_is_owed() -> None:
    case = _received()
    _asked(case, at(MONDAY, 11))
    supply = SupplyInput(actor=APPLICANT, items=[SuppliedItem(item="公司章程签字页")])
    corrections.SUPPLY.apply(case, supply, at(MONDAY, 15))
    assert case.status.state is ApplicationState.received
    again = corrections.BEFORE_ACCEPTANCE_REQUEST.problem(case, ASK, at(MONDAY, 16))
    assert again is not None and "一次性告知" in again

    other = _received()
    _asked(other, at(MONDAY, 11))
    refusal = RefuseAcceptanceInput(actor=CLERK, reason="申请人未补正，材料仍不齐全")
    assert acceptance.REFUSE.problem(other, refusal, at(MONDAY, 12)) is None
    acceptance.REFUSE.apply(other, refusal, at(MONDAY, 12))
    assert other.status.state is ApplicationState.not_accepted
    assert other.status.corrections[0].cancelled


def test_a_new_calendar_moves_the_acceptance_period_and_the_answer_s_deadline() -> None:
    case = _received(correction_answer_days=3)
    assert case.status.acceptance_due == at(date(2026, 11, 16), 17, 30)
    holiday = date(2026, 11, 13)  # the Friday of the first week becomes a day off
    newer = plain_calendar(MONDAY, off_days=[holiday]).model_copy(update={"version": "v2"})
    change = CalendarChangedInput(actor=SYSTEM, calendar=newer)
    calendar_change.CHANGE.apply(case, change, at(MONDAY, 10, 30))
    assert case.status.acceptance_due == at(date(2026, 11, 17), 17, 30)

    _asked(case, at(MONDAY, 11))  # three working days to answer: until Thursday, then
    notice = case.status.correction
    assert notice is not None and notice.answer_due == at(date(2026, 11, 12), 17, 30)
    later = plain_calendar(MONDAY, off_days=[holiday, date(2026, 11, 11)])
    change = CalendarChangedInput(actor=SYSTEM, calendar=later.model_copy(update={"version": "v3"}))
    calendar_change.CHANGE.apply(case, change, at(MONDAY, 12))
    assert notice.answer_due == at(date(2026, 11, 16), 17, 30)  # Wed and Fri off
