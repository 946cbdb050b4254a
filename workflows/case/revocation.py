"""Undoing a decision after the grant, and the licences it issued.

Two procedures end a granted application this way: a verification that finds the applicant's
commitment broken (告知承诺制: 撤销, 行政许可法 Art 69), and materials accepted missing (容缺受理)
not handed in by their deadline (终止). Both record why, tell the applicant, the departments
and the supervisors, stop what still watched the decision (verifications, the result's
delivery) and leave the licences to be revoked in the library by an idempotent activity
(`pending`, then `record` with what the library answered).
"""

from __future__ import annotations

from datetime import datetime

from domain.actors import Actor
from domain.application import Revocation
from domain.events import APPLICANT, SUPERVISORS, EventKind, department
from domain.issuing import IssueOutcome, LicenceRef, RevokeInput, RevokeResult
from domain.states import ApplicationState, StepState
from workflows.case.core import Case


def _issued(case: Case) -> list[LicenceRef]:
    return [
        LicenceRef(type=licence.type, type_name=licence.type_name, number=licence.number)
        for licence in case.status.licences
        if licence.outcome is not IssueOutcome.refused
    ]


def revoke(case: Case, now: datetime, state: ApplicationState, reason: str, actor: Actor) -> None:
    """The granted decision is undone (`state`: revoked or terminated), with its reason."""
    st = case.status
    assert st.state is ApplicationState.granted, "only a granted decision is undone"
    st.state = state
    st.outcome_reason = reason
    for verification in st.verifications:
        if verification.open:
            verification.cancelled = True
    for step in st.steps:
        if step.state is StepState.verifying:
            step.state = StepState.cancelled
    outstanding = st.outstanding
    if outstanding is not None and outstanding.open:
        outstanding.cancelled = True
    st.revocation = Revocation(
        state=state, reason=reason, at=now, by=actor, licences_revoked=not _issued(case)
    )
    case.record(now, EventKind.revoked, actor, state=state.value, reason=reason)
    notice = "revoked" if state is ApplicationState.revoked else "terminated"
    case.notify(now, APPLICANT, notice, reason=reason)
    to = [department(code) for code in dict.fromkeys(s.department for s in st.steps)]
    for recipient in [*to, SUPERVISORS]:
        case.notify(now, recipient, "decision_revoked", reason=reason)


def pending(case: Case) -> RevokeInput | None:
    """The licences still to revoke in the library, if any."""
    revocation = case.status.revocation
    if revocation is None or revocation.licences_revoked:
        return None
    return RevokeInput(
        application_no=case.status.application_no,
        licences=_issued(case),
        reason=revocation.reason,
        actor_name=revocation.by.name,
        at=revocation.at,
        restore=[
            licence.superseded
            for licence in case.status.licences
            if licence.superseded is not None and licence.outcome is not IssueOutcome.refused
        ],
    )


def record(case: Case, result: RevokeResult, now: datetime) -> None:
    revocation = case.status.revocation
    assert revocation is not None
    revocation.licences_revoked = True
    for licence in result.revoked:
        case.record(now, EventKind.licence_revoked, type=licence.type, number=licence.number)
        case.notify(
            now, APPLICANT, "licence_revoked", licence_name=licence.type_name,
            number=licence.number, reason=revocation.reason,
        )  # fmt: skip
    for licence in result.restored:
        case.record(now, EventKind.licence_restored, type=licence.type, number=licence.number)
    for licence in result.unrestored:
        case.notify(
            now, SUPERVISORS, "licence_not_restored", licence_name=licence.type_name,
            number=licence.number,
        )  # fmt: skip
