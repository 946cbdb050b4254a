"""告知承诺制: decided on the applicant's written commitment, then verified.

For a matter that allows it (`commitment` in its definition, with the text the applicant
signs), the applicant may choose it online or at the window. At acceptance every step is
decided on the commitment (国发〔2021〕7号: the licensing department decides on the spot
when the applicant commits to meeting the conditions): recorded as approved on commitment by
the system, not by a person, and the application is granted, issuing its licences as any
grant does. Each step's department then verifies the commitment (核查) within the matter's
`verification_days` working days, a ledger clock with its own card (yellow by the warning
policy, red past it, to the department and the supervisors), and records what it found.
A broken commitment revokes the decision (撤销, 行政许可法 Art 69) and every licence it issued
(revocation). The workflow stays open until every verification is recorded.
"""

from __future__ import annotations

from datetime import datetime

from domain.actions import VerificationInput
from domain.actors import SYSTEM
from domain.application import ApplicationStatus, Verification
from domain.clock import Clock
from domain.events import APPLICANT, SUPERVISORS, EventKind, department
from domain.matter import MatterDefinition
from domain.reason import reason_problem
from domain.states import ApplicationState, SlaLevel, StepState
from workflows.case import cards, revocation
from workflows.case.core import Case, Transition
from workflows.case.guards import DEPARTMENT_ROLES, unknown_step


def problem(matter: MatterDefinition, signed: bool) -> str | None:
    """Why the applicant may not be decided on a commitment (None: they may, or did not ask)."""
    if signed and matter.commitment is None:
        return "本事项不适用告知承诺制"
    return None


def decide(case: Case, now: datetime) -> None:
    """At acceptance: every step approved on the commitment, a verification for each."""
    spec = case.matter.commitment
    assert spec is not None  # checked at submission
    case.status.on_commitment = True
    for step in case.status.steps:
        step.state = StepState.verifying
        step.opened_at = now
        step.decided_by = SYSTEM
        step.decided_at = now
        case.record(now, EventKind.approved_on_commitment, step=step.code)
        clock = Clock(started_at=now, limit_days=spec.verification_days)
        verification = Verification(
            step_code=step.code,
            department=step.department,
            opened_at=now,
            clock=clock,
            due=clock.reading(case.calendar, now).deadline,
        )
        case.status.verifications.append(verification)
        due = case.when(verification.due)
        case.record(now, EventKind.verification_opened, step=step.code, due=due)
        case.notify(
            now, department(step.department), "verification_opened", step_name=step.name,
            deadline=due,
        )  # fmt: skip
    case.complete_if_done(now)
    last = max((v.due for v in case.status.verifications if v.due), default=None)
    case.notify(now, APPLICANT, "granted_on_commitment", verification_due=case.when(last))


def _open(case: Case, step_code: str) -> Verification | None:
    if case.status.state is not ApplicationState.granted:
        return None
    return next((v for v in case.status.verifications if v.step_code == step_code and v.open), None)


def running(status: ApplicationStatus) -> list[Verification]:
    if status.state is not ApplicationState.granted:
        return []
    return [v for v in status.verifications if v.open]


def _verify_problem(case: Case, action: VerificationInput, _now: datetime) -> str | None:
    status = case.status
    if action.actor.role not in DEPARTMENT_ROLES:
        return "只有承办部门工作人员可以登记核查结果"
    problem = unknown_step(status, action.step_code)
    if problem:
        return problem
    if action.actor.department != status.step(action.step_code).department:
        return "该环节不属于您的部门，不能登记核查结果"
    if _open(case, action.step_code) is None:
        return "该环节没有进行中的承诺核查"
    if case.matter.issues and not status.licences:
        return "电子证照正在生成，请稍后登记核查结果"
    return reason_problem(action.findings, "核查结果必须写明核查情况")


def _verify(case: Case, action: VerificationInput, now: datetime) -> None:
    verification = _open(case, action.step_code)
    assert verification is not None  # checked by _verify_problem
    findings = action.findings.strip()
    verification.passed = action.passed
    verification.findings = findings
    verification.verified_by = action.actor
    verification.verified_at = now
    step = case.status.step(action.step_code)
    # The department's own decision on the step is its verification: its figures count it
    # when and by whom it was made, against the verification's deadline, not the system's
    # approval on the commitment at acceptance.
    step.decided_at, step.decided_by = now, action.actor
    if action.passed:
        step.state = StepState.approved
        case.record(now, EventKind.verification_passed, action.actor, step.code, findings=findings)
        return
    step.state = StepState.rejected
    step.reason = findings
    case.record(now, EventKind.verification_failed, action.actor, step.code, findings=findings)
    reason = f"{step.name}核查发现与承诺不符：{findings}"
    revocation.revoke(case, now, ApplicationState.revoked, reason, action.actor)


def supervise(case: Case, now: datetime) -> None:
    """Raise the cards of verifications nearing or past their deadline."""
    policy = case.matter.warning
    for verification in running(case.status):
        reading = verification.clock.reading(case.calendar, now)
        verification.due = reading.deadline
        step = case.status.step(verification.step_code)
        for level in cards.levels_due(verification.sla_level, reading, policy, legal_over=False):
            verification.sla_level = level
            case.record(
                now, EventKind.card_raised, step=step.code, level=level.value,
                scope="verification",
            )  # fmt: skip
            to = [department(verification.department)]
            if level is SlaLevel.red:
                to.append(SUPERVISORS)
            for recipient in to:
                case.notify(
                    now, recipient, f"verification_{level.value}", step_name=step.name,
                    deadline=case.when(verification.due),
                )  # fmt: skip


def next_wake(case: Case, now: datetime) -> datetime | None:
    policy, calendar = case.matter.warning, case.calendar
    due = [
        cards.next_due(v.sla_level, v.clock.reading(calendar, now), policy, calendar, now)
        for v in running(case.status)
    ]
    return min((d for d in due if d is not None), default=None)


VERIFY = Transition(_verify_problem, _verify)
