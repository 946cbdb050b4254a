"""The electronic licence library (电子证照库): issuing, finding and revoking licences.

Every function works inside the caller's transaction. Issuing is idempotent on (type,
number), so a retried activity changes nothing; revoking is one conditional UPDATE, so of
two revocations at once exactly one is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, TableClause, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.licences import HolderKind, LicenceRecord, LicenceStatus, status_on
from store.db import insert_into
from store.models import LicenceRow

LICENCES: Table = LicenceRow.__table__  # type: ignore[assignment]


class IssueResult(StrEnum):
    issued = "issued"
    already = "already"  # the same licence was issued before: a retry
    conflict = "conflict"  # the number is taken by another licence
    revoked = "revoked"  # issued by an earlier attempt, and revoked since (by a supervisor)


@dataclass(frozen=True)
class IssueOutcome:
    type: str
    number: str
    result: IssueResult
    licence_id: int
    digest: str  # of the licence as stored: what an application pins
    application_no: str | None  # the application the stored licence came from


SUPERSEDED_BY = "系统（换发）"  # who revoked a licence replaced by a new one


class AlreadyRevoked(Exception):
    """The licence was revoked before (possibly a moment ago, by someone else)."""

    def __init__(self, row: LicenceRow) -> None:
        super().__init__(f"licence {row.type} {row.number} was revoked at {row.revoked_at}")
        self.row = row


def insert_licences(dialect: str, target: TableClause = LICENCES) -> Any:
    """INSERT that skips a (type, number) already present, for either database."""
    return insert_into(dialect, target).on_conflict_do_nothing(index_elements=["type", "number"])


def licence_values(
    record: LicenceRecord, *, holder_kind: HolderKind, digest: str, now: datetime
) -> dict[str, Any]:
    return {
        "type": record.type,
        "number": record.number,
        "holder_id": record.holder_id,
        "holder_name": record.holder_name,
        "holder_kind": holder_kind.value,
        "fields": record.fields,
        "issuer": record.issuer,
        "issued_on": record.issued_on,
        "valid_until": record.valid_until,
        "revoked_at": None,
        "revoked_by": None,
        "revoke_reason": None,
        "application_no": record.application_no,
        "digest": digest,
        "created_at": now,
        "superseded_by": None,
    }


async def _get(session: AsyncSession, *, type: str, number: str) -> LicenceRow | None:
    # Fresh from the database: another transaction may have just changed it.
    row: LicenceRow | None = await session.scalar(
        select(LicenceRow)
        .where(LicenceRow.type == type, LicenceRow.number == number)
        .execution_options(populate_existing=True)
    )
    return row


async def issue(
    session: AsyncSession,
    *,
    records: Sequence[LicenceRecord],
    holder_kinds: Mapping[str, HolderKind],
    now: datetime,
) -> list[IssueOutcome]:
    """Add each record unless its (type, number) is there; one outcome per record, in order.

    A number already held counts as `already` when it holds the same content (same digest)
    or came from the same application: the application's earlier call was the one that
    issued it. Otherwise it is a `conflict` and the stored licence is left as it is.
    Records should carry cleaned fields (`domain.licences.clean_record`)."""
    dialect = session.get_bind().dialect.name
    outcomes = []
    for record in records:
        digest = record.digest()
        values = licence_values(
            record, holder_kind=holder_kinds[record.type], digest=digest, now=now
        )
        added = await session.execute(
            insert_licences(dialect).values(**values).returning(LICENCES.c.id)
        )
        new_id = added.scalar()
        if new_id is not None:
            outcomes.append(
                IssueOutcome(
                    type=record.type,
                    number=record.number,
                    result=IssueResult.issued,
                    licence_id=new_id,
                    digest=digest,
                    application_no=record.application_no,
                )
            )
            continue
        row = await _get(session, type=record.type, number=record.number)
        assert row is not None, "a conflicting insert leaves the row it conflicted with"
        # Already issued: by this application (an attempt retried), or, for a record of no
        # application (an import), the same licence whoever issued it. Another
        # application's licence is not this one's, even with the same content: undoing this
        # application's decision would revoke it, and it may be revoked already.
        if record.application_no is not None:
            same = row.application_no == record.application_no
        else:
            same = row.digest == digest
        result = IssueResult.already if same else IssueResult.conflict
        if same and row.revoked_at is not None:
            result = IssueResult.revoked  # not to be reported issued (and texted) again
        outcomes.append(
            IssueOutcome(
                type=record.type,
                number=record.number,
                result=result,
                licence_id=row.id,
                digest=row.digest,
                application_no=row.application_no,
            )
        )
    return outcomes


async def find(session: AsyncSession, *, number: str, type: str | None = None) -> list[LicenceRow]:
    """The licences with this number (one per type at most), by type."""
    query = select(LicenceRow).where(LicenceRow.number == number.strip())
    if type is not None:
        query = query.where(LicenceRow.type == type)
    return list(await session.scalars(query.order_by(LicenceRow.type)))


async def held_by(
    session: AsyncSession, *, holder_id: str, type: str | None = None, limit: int = 200
) -> list[LicenceRow]:
    """A holder's licences, newest first (revoked and expired ones included)."""
    query = select(LicenceRow).where(LicenceRow.holder_id == holder_id.strip().upper())
    if type is not None:
        query = query.where(LicenceRow.type == type)
    query = query.order_by(LicenceRow.issued_on.desc(), LicenceRow.id.desc()).limit(limit)
    return list(await session.scalars(query))


async def revoke(
    session: AsyncSession,
    *,
    type: str,
    number: str,
    actor_name: str,
    reason: str,
    at: datetime,
    application_no: str | None = None,
) -> LicenceRow:
    """Revoke a licence (only one `application_no` issued, when given); `LookupError` if
    there is none, `AlreadyRevoked` if it was."""
    mine = [LicenceRow.application_no == application_no] if application_no else []
    revoked = await session.scalar(
        update(LicenceRow)
        .where(
            LicenceRow.type == type,
            LicenceRow.number == number,
            LicenceRow.revoked_at.is_(None),
            *mine,
        )
        .values(revoked_at=at, revoked_by=actor_name, revoke_reason=reason)
        .returning(LicenceRow)
        .execution_options(synchronize_session="fetch")
    )
    if revoked is not None:
        row: LicenceRow = revoked
        return row
    existing = await _get(session, type=type, number=number)
    if existing is None or (application_no and existing.application_no != application_no):
        raise LookupError(f"no licence {type} {number}")
    raise AlreadyRevoked(existing)


@dataclass(frozen=True)
class Replaced:
    """What `supersede` or `restore` did to a licence: `holder_id` when it did it now,
    `problem` when it cannot, neither when an earlier attempt did it (a retry)."""

    holder_id: str | None = None
    problem: str | None = None


async def supersede(
    session: AsyncSession, *, type: str, number: str, by: str, reason: str, at: datetime
) -> Replaced:
    """Revoke a licence replaced by application `by`'s new one (换发)."""
    holder = await session.scalar(
        update(LicenceRow)
        .where(LicenceRow.type == type, LicenceRow.number == number)
        .where(LicenceRow.revoked_at.is_(None))
        .values(revoked_at=at, revoked_by=SUPERSEDED_BY, revoke_reason=reason, superseded_by=by)
        .returning(LicenceRow.holder_id)
    )
    if holder is not None:
        return Replaced(holder_id=holder)
    row = await _get(session, type=type, number=number)
    if row is None:
        return Replaced(problem=f"所换发的原证照 {number} 不在证照库中")
    if row.superseded_by == by:
        return Replaced()
    return Replaced(
        problem=f"所换发的原证照 {number} 已于{row.revoked_at:%Y-%m-%d}注销：{row.revoke_reason}"
    )


async def superseded(session: AsyncSession, licences: Sequence[Any]) -> bool:
    """Whether any of `licences` (with a type and number) was replaced by a later one."""
    for licence in licences:
        row = await _get(session, type=licence.type, number=licence.number)
        if row is not None and row.superseded_by is not None:
            return True
    return False


async def restore(session: AsyncSession, *, type: str, number: str, by: str) -> Replaced:
    """Make a licence replaced by application `by` valid again (that decision undone)."""
    holder = await session.scalar(
        update(LicenceRow)
        .where(LicenceRow.type == type, LicenceRow.number == number)
        .where(LicenceRow.superseded_by == by)
        .values(revoked_at=None, revoked_by=None, revoke_reason=None, superseded_by=None)
        .returning(LicenceRow.holder_id)
    )
    if holder is not None:
        return Replaced(holder_id=holder)
    row = await _get(session, type=type, number=number)
    if row is not None and row.revoked_at is None:
        return Replaced()
    return Replaced(problem=f"原证照 {number} 不是本申请换发注销的")


def status(row: LicenceRow, today: date) -> LicenceStatus:
    return status_on(revoked=row.revoked_at is not None, valid_until=row.valid_until, today=today)
