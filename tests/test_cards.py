"""The card engine as pure rules, and supervision of a case, without a Temporal server.

Clock readings are built by hand (budget and time used, in office hours) so each row of a
table says plainly which cards it earns. A 3-day step on a 8.5-hour day has 25.5 hours.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from domain.calendar import WorkCalendar
from domain.clock import ClockReading
from domain.events import EventKind
from domain.matter import WarningPolicy
from domain.states import ApplicationState, SlaLevel, StepState
from tests.factories import application
from tests.timeline import at, plain_calendar
from workflows.case import acceptance, cards, supervision
from workflows.case.core import Case

G, Y, R, S = SlaLevel.green, SlaLevel.yellow, SlaLevel.red, SlaLevel.serious
DAY = timedelta(hours=8, minutes=30)
MONDAY = date(2030, 6, 3)  # a plain Monday on the test calendar
CALENDAR = WorkCalendar(plain_calendar(MONDAY))


def reading(used_days: float, budget_days: float = 3, *, paused: bool = False) -> ClockReading:
    budget, used = DAY * budget_days, DAY * used_days
    since = at(MONDAY, 9)
    return ClockReading(
        budget=budget,
        used=used,
        running_since=None if paused else since,
        paused_since=since if paused else None,
        deadline=None if paused else at(MONDAY + timedelta(days=2), 17, 30),
        provisional=False,
        working_days_left=(budget - used) / DAY,
    )


DEFAULT = WarningPolicy()
TWO_DAYS_LEFT = WarningPolicy(yellow_share=0.95, yellow_days_left=2)


@pytest.mark.parametrize(
    ("held", "used", "paused", "policy", "legal_over", "expected"),
    [
        (G, 0.0, False, DEFAULT, False, []),
        (G, 2.3, False, DEFAULT, False, []),  # 77 % used
        (G, 2.4, False, DEFAULT, False, [Y]),  # 80 %: yellow
        (Y, 2.9, False, DEFAULT, False, []),  # yellow is earned once
        (G, 3.0, False, DEFAULT, False, [Y, R]),  # a timer late by a day raises both, in order
        (Y, 3.5, False, DEFAULT, False, [R]),
        (R, 9.0, False, DEFAULT, False, []),
        (R, 9.0, False, DEFAULT, True, [S]),  # past the legal limit
        (G, 3.5, True, DEFAULT, False, []),  # a paused clock earns nothing ...
        (G, 3.5, True, DEFAULT, True, [S]),  # ... but the legal limit still counts
        (S, 9.0, False, DEFAULT, True, []),  # a card never falls and never repeats
        (G, 1.0, False, TWO_DAYS_LEFT, False, [Y]),  # two working days left
        (G, 0.9, False, TWO_DAYS_LEFT, False, []),
    ],
)
def test_levels_due(
    held: SlaLevel,
    used: float,
    paused: bool,
    policy: WarningPolicy,
    legal_over: bool,
    expected: list[SlaLevel],
) -> None:
    due = cards.levels_due(held, reading(used, paused=paused), policy, legal_over=legal_over)
    assert due == expected


@pytest.mark.parametrize(
    ("held", "used", "expected"),
    [
        # 80 % of 25.5 h is 20.4 h: two whole days (17 h) and 3 h 24 min of Wednesday.
        (G, 0.0, at(MONDAY + timedelta(days=2), 12, 24)),
        (Y, 2.5, at(MONDAY + timedelta(days=2), 17, 30)),  # yellow held: the deadline next
        (R, 3.5, None),  # nothing left to earn but serious, which the legal clock watches
    ],
)
def test_next_due(held: SlaLevel, used: float, expected: datetime | None) -> None:
    now = at(MONDAY, 9)
    assert cards.next_due(held, reading(used), DEFAULT, CALENDAR, now) == expected


def test_a_paused_clock_has_nothing_due() -> None:
    paused = reading(1, paused=True)
    assert cards.next_due(G, paused, DEFAULT, CALENDAR, at(MONDAY, 9)) is None


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (Y, []),
        (R, ["dept_head:amr", "supervisors"]),
        (S, ["leader:amr", "supervisors"]),
    ],
)
def test_escalation_goes_up_the_chain(level: SlaLevel, expected: list[str]) -> None:
    assert cards.escalation(level, "amr") == expected


# --- supervision of a whole case, still without a server ----------------------------------


def accepted_case(matter_code: str = "company_setup") -> Case:
    now = at(MONDAY, 10)
    case = Case(application(matter_code, now=now, calendar=plain_calendar(MONDAY)), now)
    acceptance.start(case, now)
    case.take_records()
    return case


def test_a_late_step_is_carded_escalated_and_woken_for_once() -> None:
    case = accepted_case()
    # Seal (2 days from Monday 10:00) is due Wednesday 17:30; yellow at 80 %.
    first = supervision.next_wake(case, at(MONDAY, 10))
    assert first is not None and first < at(MONDAY + timedelta(days=2), 17, 30)
    late = at(MONDAY + timedelta(days=2), 17, 31)
    supervision.supervise(case, late)
    events, notes = case.take_records()
    seal = [(e.kind, e.payload.get("level")) for e in events if e.step_code == "seal"]
    assert seal == [
        (EventKind.card_raised, "yellow"),
        (EventKind.card_raised, "red"),
        (EventKind.escalated, "red"),
    ]
    seal_notes = {n.recipient for n in notes if n.values.get("step_name") == "公章刻制备案"}
    assert seal_notes >= {"dept_head:psb", "supervisors"}
    # Looking again at the same instant raises nothing twice.
    supervision.supervise(case, late)
    assert not [e for e in case.take_records()[0] if e.step_code == "seal"]
    assert case.status.step("seal").sla_level is SlaLevel.red


def test_an_opinion_only_step_is_deemed_approved_at_its_deadline() -> None:
    case = accepted_case("utility_connection")
    # Gas (3 days, deem_approved) falls due Thursday 17:30.
    supervision.supervise(case, at(MONDAY + timedelta(days=3), 17, 31))
    gas = case.status.step("gas")
    assert gas.state is StepState.deemed_approved
    events = case.take_records()[0]
    assert EventKind.deemed_approved in [e.kind for e in events if e.step_code == "gas"]
    assert not [e for e in events if e.kind is EventKind.escalated and e.step_code == "gas"]


def test_a_received_application_wakes_at_its_acceptance_deadline_and_is_then_accepted() -> None:
    now = at(MONDAY, 10)
    app = application("company_setup", now=now, calendar=plain_calendar(MONDAY))
    case = Case(app.model_copy(update={"needs_acceptance": True}), now)
    acceptance.receive(case, now)
    due = supervision.next_wake(case, now)
    assert due == at(MONDAY + timedelta(days=7), 17, 30)  # five working days
    supervision.supervise(case, due - timedelta(minutes=1))
    before = case.status.state
    supervision.supervise(case, due)
    assert (before, case.status.state) == (ApplicationState.received, ApplicationState.accepted)
    assert case.status.accepted_at == now  # counted from receipt
