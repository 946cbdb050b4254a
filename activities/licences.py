"""The activity that writes the licences a granted application issues into the library.

Idempotent: a licence is keyed by its type and number, so a retried attempt, or a workflow
replayed after a worker restart, finds its licences already there and issues nothing twice.
A licence that cannot be issued as it is (a number another licence holds, a holder id that
fails its check digit) is answered, not retried: the workflow records it for supervisors.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from definitions.catalogue import Catalogue
from domain.actors import SYSTEM
from domain.issuing import (
    IssuedLicence,
    IssueInput,
    IssueOutcome,
    IssueResult,
    LicenceDraft,
    LicenceRef,
    RevokeInput,
    RevokeResult,
)
from domain.licences import LicenceRecord, LicenceType, clean_record, record_problems
from domain.routing import branch_code
from store import licences as library
from store.audit_trail import record_audit
from store.models import LicenceRow, StepRow


def valid_until(issued_on: date, years: int | None) -> date | None:
    if years is None:
        return None
    try:
        return issued_on.replace(year=issued_on.year + years)
    except ValueError:  # 29 February
        return issued_on.replace(year=issued_on.year + years, day=28)


class LicenceActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], catalogue: Catalogue, tz: ZoneInfo
    ) -> None:
        self._sessions = sessions
        self._catalogue = catalogue
        self._tz = tz

    def _issuer(self, spec: LicenceType, handling: set[str]) -> str:
        """The issuing authority as printed: the licence type's department, or its county
        branch where the application is handled by the county's (当涂县市场监管局)."""
        for code in handling:
            branch = self._catalogue.branches.get(code)
            if branch and branch.region and code == branch_code(spec.issuer, branch.region):
                return branch.name
        return self._catalogue.department_name(spec.issuer)

    def _record(self, draft: LicenceDraft, spec: LicenceType, handling: set[str]) -> LicenceRecord:
        issued_on = draft.issued_at.astimezone(self._tz).date()
        return LicenceRecord(
            type=draft.type,
            number=draft.number,
            holder_id=draft.holder_id,
            holder_name=draft.holder_name,
            issuer=self._issuer(spec, handling),
            issued_on=issued_on,
            valid_until=valid_until(issued_on, spec.validity_years),
            fields=draft.fields,
            application_no=draft.application_no,
        )

    @activity.defn(name="issue_licences")
    async def issue_licences(self, job: IssueInput) -> IssueResult:
        answers: list[IssuedLicence | None] = []
        records: list[LicenceRecord] = []
        kinds = {}
        async with self._sessions() as session:
            handling = set(
                await session.scalars(
                    select(StepRow.department).where(StepRow.application_no == job.application_no)
                )
            )
        for draft in job.drafts:
            spec = self._catalogue.licence_types.get(draft.type)
            name = spec.name if spec else draft.type
            problem = None if spec else f"未知的证照类型 {draft.type}"
            if spec and not draft.number:
                problem = "办理结果中没有证照编号"
            record = None
            if spec and problem is None:
                try:
                    record = clean_record(self._record(draft, spec, handling), spec)
                except ValidationError as exc:
                    missing = "、".join(str(e["loc"][0]) for e in exc.errors())
                    problem = f"办理结果或申请表中缺少证照信息：{missing}"
                else:
                    problems = record_problems(record.model_dump(), spec, today=record.issued_on)
                    if problems:
                        problem = "；".join(f"{k}：{v}" for k, v in problems.items())
            if problem or record is None or spec is None:
                answers.append(
                    IssuedLicence(
                        type=draft.type,
                        type_name=name,
                        number=draft.number,
                        outcome=IssueOutcome.refused,
                        problem=problem,
                    )
                )
                continue
            answers.append(None)
            records.append(record)
            kinds[record.type] = spec.holder
        replacing = {(d.type, d.number): d.supersedes for d in job.drafts if d.supersedes}
        issued = []
        async with self._sessions() as session, session.begin():
            outcomes = iter(
                await library.issue(
                    session, records=records, holder_kinds=kinds, now=datetime.now(UTC)
                )
            )
            written = iter(records)
            for answer in answers:
                if answer is None:
                    record, outcome = next(written), next(outcomes)
                    old = replacing.get((record.type, record.number))
                    answer = self._issued(record, outcome)
                    if old is not None and answer.outcome is not IssueOutcome.refused:
                        answer = await self._supersede(session, answer, old, outcome, job)
                issued.append(answer)
        return IssueResult(licences=issued)

    def _issued(self, record: LicenceRecord, outcome: library.IssueOutcome) -> IssuedLicence:
        spec = self._catalogue.licence_types[record.type]
        problems = {
            library.IssueResult.conflict: f"编号 {record.number} 已被另一份{spec.name}使用",
            # Issued by an attempt that did not live to report it, then revoked meanwhile.
            library.IssueResult.revoked: f"{spec.name} {record.number} 签发后已被注销",
        }
        problem = problems.get(outcome.result)
        return IssuedLicence(
            type=record.type,
            type_name=spec.name,
            number=record.number,
            digest=outcome.digest,
            outcome=IssueOutcome.refused if problem else IssueOutcome(outcome.result),
            problem=problem,
        )

    async def _supersede(
        self,
        session: AsyncSession,
        answer: IssuedLicence,
        old: LicenceRef,
        outcome: library.IssueOutcome,
        job: IssueInput,
    ) -> IssuedLicence:
        """换发: the licence the new one replaces, revoked in the issue's transaction. One
        that cannot be (another transfer replaced it first) leaves the new licence
        unissued, for supervisors to resolve, rather than two valid certificates of one
        property."""
        at = datetime.now(UTC)
        reason = f"已换发{answer.type_name} {answer.number}（申请 {job.application_no}）"
        done = await library.supersede(
            session, type=old.type, number=old.number, by=job.application_no, reason=reason,
            at=at,
        )  # fmt: skip
        if done.problem is not None:
            if outcome.result is library.IssueResult.issued:  # written by this transaction
                await session.execute(delete(LicenceRow).where(LicenceRow.id == outcome.licence_id))
            return answer.model_copy(
                update={"outcome": IssueOutcome.refused, "problem": done.problem, "digest": ""}
            )
        if done.holder_id is not None:  # now, not by an earlier attempt
            await record_audit(
                session, actor_id=SYSTEM.id, actor_name=SYSTEM.name,
                actor_role=SYSTEM.role.value, action="licence.supersede", subject=done.holder_id,
                application_no=job.application_no,
                detail={"type": old.type, "number": old.number, "reason": reason}, at=at,
            )  # fmt: skip
        return answer.model_copy(update={"superseded": old})

    @activity.defn(name="revoke_licences")
    async def revoke_licences(self, job: RevokeInput) -> RevokeResult:
        """Revoke the licences of a decision undone (撤销 or 终止 after the grant).

        Idempotent: a licence revoked already (by an earlier attempt of this activity, or by
        a supervisor meanwhile) stays as it was revoked, and counts as revoked; one the
        library never held (its issue was refused) is left out.

        Each revocation made now goes on the audit trail in the same transaction, as a staff
        member's does: by the system, for the application, with who decided (the verifying
        officer, or 系统 at a deadline) and why. One revoked by an earlier attempt was written
        then (its transaction committed both), so a retry writes nothing twice."""
        revoked = []
        async with self._sessions() as session, session.begin():
            for licence in job.licences:
                try:
                    row = await library.revoke(
                        session, type=licence.type, number=licence.number,
                        actor_name=job.actor_name, reason=job.reason, at=job.at,
                        application_no=job.application_no,  # not another's of that number
                    )  # fmt: skip
                except library.AlreadyRevoked:
                    pass
                except LookupError:
                    continue
                else:
                    await record_audit(
                        session,
                        actor_id=SYSTEM.id,
                        actor_name=SYSTEM.name,
                        actor_role=SYSTEM.role.value,
                        action="licence.revoke",
                        subject=row.holder_id,
                        application_no=job.application_no,
                        detail={
                            "type": licence.type,
                            "number": licence.number,
                            "reason": job.reason,
                            "decided_by": job.actor_name,
                        },
                        at=job.at,
                    )
                revoked.append(licence)
            restored: list[LicenceRef] = []
            # A licence of this application replaced in turn (another transfer since) leaves
            # the one it replaced revoked: restoring it would make two valid certificates of
            # one property. That needs a person.
            moved_on = await library.superseded(session, job.licences)
            for licence in [] if moved_on else job.restore:
                done = await library.restore(
                    session, type=licence.type, number=licence.number, by=job.application_no
                )
                if done.problem is None:
                    restored.append(licence)
                if done.holder_id is not None:  # now, not by an earlier attempt
                    await record_audit(
                        session, actor_id=SYSTEM.id, actor_name=SYSTEM.name,
                        actor_role=SYSTEM.role.value, action="licence.restore",
                        subject=done.holder_id, application_no=job.application_no,
                        detail={"type": licence.type, "number": licence.number,
                                "reason": job.reason, "decided_by": job.actor_name},
                        at=job.at,
                    )  # fmt: skip
        unrestored = job.restore if moved_on else []
        return RevokeResult(revoked=revoked, restored=restored, unrestored=unrestored)
