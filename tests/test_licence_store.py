"""The licence library in the database: issuing is idempotent, a number is never issued twice
with other content, a revocation is recorded once, and a holder's licences come newest first.

The database is shared by the whole session: each test uses numbers and holders of its own.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from definitions.catalogue import default_catalogue
from domain.licences import LicenceRecord, LicenceStatus
from store.audit_trail import record_audit
from store.licences import (
    AlreadyRevoked,
    IssueResult,
    find,
    held_by,
    issue,
    revoke,
    status,
)
from store.models import AuditRow, LicenceRow
from tests.factories import id_number

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
HOLDER_KINDS = {code: t.holder for code, t in default_catalogue().licence_types.items()}

Sessions = async_sessionmaker[AsyncSession]


def unique_person() -> str:
    """A valid ID number no other test uses (born on a day of its own)."""
    n = uuid.uuid4().int
    return id_number(
        birth=f"{(date(1950, 1, 1) + timedelta(days=n % 20000)):%Y%m%d}",
        serial=f"{n // 20000 % 1000:03d}",
    )


def realty(holder_id: str, number: str | None = None, **changes: Any) -> LicenceRecord:
    number = number or f"皖（2026）马鞍山市不动产权第{uuid.uuid4().hex[:10]}号"
    values: dict[str, Any] = {
        "type": "realty_certificate",
        "number": number,
        "holder_id": holder_id,
        "holder_name": "张三",
        "issuer": "马鞍山市不动产登记中心",
        "issued_on": date(2026, 3, 2),
        "valid_until": None,
        "fields": {
            "certificate_no": number,
            "property_address": "安徽省马鞍山市雨山区湖南路1号3栋1201室",
            "unit_no": "340504001001GB00001F00010203",
            "floor_area": 89.5,
        },
        "application_no": "A" + uuid.uuid4().hex[:12],
    }
    return LicenceRecord.model_validate(values | changes)


async def issue_one(sessions: Sessions, record: LicenceRecord) -> IssueResult:
    async with sessions() as session:
        [outcome] = await issue(session, records=[record], holder_kinds=HOLDER_KINDS, now=NOW)
        await session.commit()
    assert (outcome.type, outcome.number) == (record.type, record.number)
    return outcome.result


async def rows_numbered(sessions: Sessions, number: str) -> list[LicenceRow]:
    async with sessions() as session:
        return await find(session, number=number)


async def test_issuing_twice_keeps_one_licence(sessions: Sessions) -> None:
    record = realty(unique_person())
    assert await issue_one(sessions, record) is IssueResult.issued
    assert await issue_one(sessions, record) is IssueResult.already
    [row] = await rows_numbered(sessions, record.number)
    assert (row.holder_kind, row.application_no, row.digest) == (
        "person",
        record.application_no,
        record.digest(),
    )
    assert row.fields == record.fields and row.issued_on == date(2026, 3, 2)
    assert row.created_at == NOW and row.revoked_at is None


async def test_a_retry_of_the_same_application_is_not_a_conflict(sessions: Sessions) -> None:
    record = realty(unique_person())
    await issue_one(sessions, record)
    retried = record.model_copy(update={"holder_name": "张三丰"})
    assert await issue_one(sessions, retried) is IssueResult.already
    imported = record.model_copy(update={"application_no": None})
    assert await issue_one(sessions, imported) is IssueResult.already


async def test_a_retry_finding_its_licence_revoked_meanwhile_does_not_report_it_issued(
    sessions: Sessions,
) -> None:
    """The first attempt issued it and was lost before it reported; a supervisor revoked the
    licence before the retry. Reported `already`, it was recorded issued and texted."""
    record = realty(unique_person())
    await issue_one(sessions, record)
    async with sessions() as session:
        await revoke(
            session, type=record.type, number=record.number, actor_name="督查李",
            reason="登记错误", at=NOW,
        )  # fmt: skip
        await session.commit()
    assert await issue_one(sessions, record) is IssueResult.revoked


async def test_a_number_held_with_other_content_is_a_conflict(sessions: Sessions) -> None:
    first = realty(unique_person())
    await issue_one(sessions, first)
    other = realty(unique_person(), number=first.number)
    async with sessions() as session:
        [outcome] = await issue(session, records=[other], holder_kinds=HOLDER_KINDS, now=NOW)
        await session.commit()
    assert outcome.result is IssueResult.conflict
    assert (outcome.application_no, outcome.digest) == (first.application_no, first.digest())
    [row] = await rows_numbered(sessions, first.number)
    assert row.holder_id == first.holder_id


async def test_one_call_issues_several_and_says_what_became_of_each(sessions: Sessions) -> None:
    holder = unique_person()
    already = realty(holder)
    await issue_one(sessions, already)
    fresh = [realty(holder), realty(holder)]
    async with sessions() as session:
        outcomes = await issue(
            session, records=[fresh[0], already, fresh[1]], holder_kinds=HOLDER_KINDS, now=NOW
        )
        await session.commit()
    assert [o.result for o in outcomes] == [
        IssueResult.issued,
        IssueResult.already,
        IssueResult.issued,
    ]
    assert len({o.licence_id for o in outcomes}) == 3


async def test_two_revocations_at_once_record_one(sessions: Sessions) -> None:
    record = realty(unique_person())
    await issue_one(sessions, record)

    async def revoke_as(name: str) -> str | AlreadyRevoked:
        async with sessions() as session:
            try:
                row = await revoke(
                    session,
                    type=record.type,
                    number=record.number,
                    actor_name=name,
                    reason="登记错误",
                    at=NOW,
                )
            except AlreadyRevoked as exc:
                return exc
            await session.commit()
            return row.revoked_by or ""

    results = await asyncio.gather(revoke_as("不动产登记中心 甲"), revoke_as("不动产登记中心 乙"))
    [winner] = [r for r in results if isinstance(r, str)]
    [loser] = [r for r in results if isinstance(r, AlreadyRevoked)]
    assert loser.row.revoked_by == winner
    [row] = await rows_numbered(sessions, record.number)
    assert (row.revoked_by, row.revoke_reason, row.revoked_at) == (winner, "登记错误", NOW)
    assert status(row, date(2026, 11, 28)) is LicenceStatus.revoked


async def test_revoking_a_licence_that_does_not_exist(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(LookupError):
            await revoke(
                session,
                type="realty_certificate",
                number="no-such-" + uuid.uuid4().hex,
                actor_name="甲",
                reason="x",
                at=NOW,
            )


async def test_a_holders_licences_come_newest_first(sessions: Sessions) -> None:
    holder = unique_person()
    older = realty(holder, issued_on=date(2019, 5, 1))
    newer = realty(holder, issued_on=date(2024, 5, 1))
    card = LicenceRecord(
        type="resident_id_card",
        number=holder,
        holder_id=holder,
        holder_name="张三",
        issuer="马鞍山市公安局",
        issued_on=date(2015, 1, 1),
        valid_until=date(2025, 1, 1),
        fields={"name": "张三", "id_number": holder, "address": "安徽省马鞍山市"},
    )
    async with sessions() as session:
        await issue(session, records=[older, card, newer], holder_kinds=HOLDER_KINDS, now=NOW)
        await session.commit()
    async with sessions() as session:
        everything = await held_by(session, holder_id=holder.lower())
        realty_only = await held_by(session, holder_id=holder, type="realty_certificate")
        newest = await held_by(session, holder_id=holder, limit=1)
        by_number = await find(session, number=holder, type="resident_id_card")
    assert [r.number for r in everything] == [newer.number, older.number, holder]
    assert [r.number for r in realty_only] == [newer.number, older.number]
    assert [r.number for r in newest] == [newer.number]
    [id_card] = by_number
    assert status(id_card, date(2026, 11, 28)) is LicenceStatus.expired
    assert status(everything[0], date(2026, 11, 28)) is LicenceStatus.valid


async def test_an_audit_entry_commits_or_rolls_back_with_its_action(sessions: Sessions) -> None:
    subject = unique_person()

    async def audit(session: AsyncSession) -> None:
        await record_audit(
            session,
            actor_id="clerk1",
            actor_name="窗口王",
            actor_role="clerk",
            action="licence.lookup",
            subject=subject,
            application_no="A1",
            detail={"type": "realty_certificate"},
            at=NOW,
        )

    async with sessions() as session:
        await audit(session)
        await session.rollback()
    async with sessions() as session:
        await audit(session)
        await session.commit()
    async with sessions() as session:
        rows = (await session.scalars(select(AuditRow).where(AuditRow.subject == subject))).all()
    [entry] = rows
    assert (entry.action, entry.actor_name, entry.application_no, entry.at) == (
        "licence.lookup",
        "窗口王",
        "A1",
        NOW,
    )
    assert entry.detail == {"type": "realty_certificate"}


async def test_a_licence_replaced_is_revoked_once_and_restored_only_by_its_replacer(
    sessions: Sessions,
) -> None:
    """换发 through the activities, each run twice as Temporal retries them: the seller's
    certificate is revoked once with the buyer's issue (one audit entry), made valid again
    when that decision is undone, and not by another application."""
    from zoneinfo import ZoneInfo

    from temporalio.testing import ActivityEnvironment

    from activities.licences import LicenceActivities
    from domain.issuing import IssueInput, IssueOutcome, LicenceDraft, LicenceRef, RevokeInput

    seller, buyer = unique_person(), unique_person()
    old = realty(seller)
    async with sessions() as session, session.begin():
        await issue(session, records=[old], holder_kinds=HOLDER_KINDS, now=NOW)
    cited = LicenceRef(type=old.type, type_name="不动产权证书", number=old.number)
    new = realty(buyer)
    number = f"T{uuid.uuid4().hex[:12].upper()}"
    draft = LicenceDraft(
        type=new.type, number=new.number, holder_id=buyer, holder_name="李四",
        fields=new.fields, application_no=number, issued_at=NOW, supersedes=cited,
    )  # fmt: skip
    acts = LicenceActivities(sessions, default_catalogue(), ZoneInfo("Asia/Shanghai"))
    env = ActivityEnvironment()
    job = IssueInput(application_no=number, drafts=[draft])
    for outcome in (IssueOutcome.issued, IssueOutcome.already):
        [answer] = (await env.run(acts.issue_licences, job)).licences
        assert (answer.outcome, answer.superseded) == (outcome, cited)

    async def row() -> LicenceRow:
        async with sessions() as session:
            [found] = await find(session, number=old.number)
            return found

    async def audited(action: str) -> list[AuditRow]:
        async with sessions() as session:
            entries = await session.scalars(
                select(AuditRow).where(AuditRow.application_no == number, AuditRow.action == action)
            )
            return list(entries)

    replaced = await row()
    assert replaced.revoked_at is not None and replaced.superseded_by == number
    assert new.number in (replaced.revoke_reason or "")
    assert len(await audited("licence.supersede")) == 1

    issued = LicenceRef(type=new.type, type_name="不动产权证书", number=new.number)
    undo = RevokeInput(
        application_no=number, licences=[issued], reason="撤销登记", actor_name="核查员",
        at=NOW, restore=[cited],
    )  # fmt: skip
    other = undo.model_copy(update={"application_no": "T-OTHER", "licences": []})
    assert (await env.run(acts.revoke_licences, other)).restored == []
    assert (await row()).revoked_at is not None
    for _ in range(2):
        result = await env.run(acts.revoke_licences, undo)
        assert result.restored == [cited] and len(result.revoked) == 1
    restored = await row()
    assert restored.revoked_at is None and restored.superseded_by is None
    assert len(await audited("licence.restore")) == 1


async def test_a_licence_replaced_in_turn_leaves_the_first_revoked_when_undone(
    sessions: Sessions,
) -> None:
    """B replaced X with Y, then C replaced Y with Z. Undoing B's decision must not make X
    valid again beside Z: X stays revoked, and the supervisors are told (unrestored)."""
    from zoneinfo import ZoneInfo

    from temporalio.testing import ActivityEnvironment

    from activities.licences import LicenceActivities
    from domain.issuing import IssueInput, LicenceDraft, LicenceRef, RevokeInput

    acts = LicenceActivities(sessions, default_catalogue(), ZoneInfo("Asia/Shanghai"))
    env = ActivityEnvironment()
    x = realty(unique_person())
    async with sessions() as session, session.begin():
        await issue(session, records=[x], holder_kinds=HOLDER_KINDS, now=NOW)
    previous, numbers = x, []
    for _ in range(2):  # B, then C
        number = f"T{uuid.uuid4().hex[:12].upper()}"
        new = realty(unique_person())
        draft = LicenceDraft(
            type=new.type, number=new.number, holder_id=new.holder_id, holder_name="李四",
            fields=new.fields, application_no=number, issued_at=NOW,
            supersedes=LicenceRef(type=x.type, type_name="不动产权证书", number=previous.number),
        )  # fmt: skip
        await env.run(acts.issue_licences, IssueInput(application_no=number, drafts=[draft]))
        previous = new
        numbers.append((number, new))
    (b, y), _ = numbers
    undo = RevokeInput(
        application_no=b, reason="撤销登记", actor_name="核查员", at=NOW,
        licences=[LicenceRef(type=y.type, type_name="不动产权证书", number=y.number)],
        restore=[LicenceRef(type=x.type, type_name="不动产权证书", number=x.number)],
    )  # fmt: skip
    result = await env.run(acts.revoke_licences, undo)
    assert result.restored == [] and result.unrestored == undo.restore
    async with sessions() as session:
        [first] = await find(session, number=x.number)
    assert first.revoked_at is not None
