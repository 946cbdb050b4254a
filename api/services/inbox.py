"""Staff inboxes: the messages the engine leaves for a department, its head and leader, the
window or the supervisors, and for one member of staff; read state per person."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Exists

from api.services.accounts import StaffUser
from api.services.region_scope import of_visible
from domain.actors import Role
from domain.events import SUPERVISORS, WINDOW, department, department_head, leader
from store.db import insert_into
from store.models import NotificationReadRow, NotificationRow


def addresses(user: StaffUser) -> list[str]:
    """The role addresses a member of staff reads: their own, their department's (its head's
    and leader's escalations included), the window's or the supervisors'."""
    own = [user.actor().id]
    if user.role is Role.staff and user.department:
        code = user.department
        return [*own, department(code), department_head(code), leader(code)]
    if user.role is Role.clerk:
        return [*own, WINDOW]
    if user.role is Role.supervisor:
        return [*own, SUPERVISORS]
    if user.role is Role.admin:
        return [*own, SUPERVISORS, WINDOW]
    return own


SHARED = (WINDOW, SUPERVISORS)


def _mine(user: StaffUser) -> ColumnElement[bool]:
    """The messages `user` reads: those of his addresses; of the window's and the
    supervisors', which every clerk and supervisor shares, only those about applications he
    sees (a county's staff: the county's)."""
    own = [a for a in addresses(user) if a not in SHARED]
    shared = [a for a in addresses(user) if a in SHARED]
    mine = NotificationRow.recipient.in_(own)
    if not shared:
        return mine
    about_visible = of_visible(NotificationRow.application_no, user)
    return or_(mine, and_(NotificationRow.recipient.in_(shared), about_visible))


def _read_by(user: StaffUser) -> Exists:
    return exists().where(
        NotificationReadRow.notification_id == NotificationRow.id,
        NotificationReadRow.user_id == user.id,
    )


async def messages(
    session: AsyncSession, user: StaffUser, *, unread_only: bool, limit: int, offset: int
) -> list[tuple[NotificationRow, bool]]:
    """(message, read) for `user`, the newest first."""
    read = _read_by(user)
    query = (
        select(NotificationRow, read.label("read"))
        .where(_mine(user))
        .order_by(NotificationRow.at.desc(), NotificationRow.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if unread_only:
        query = query.where(~read)
    return [(row, bool(was_read)) for row, was_read in await session.execute(query)]


async def unread_count(session: AsyncSession, user: StaffUser) -> int:
    count = await session.scalar(
        select(func.count()).select_from(NotificationRow).where(_mine(user), ~_read_by(user))
    )
    return int(count or 0)


async def mark_read(
    session: AsyncSession, user: StaffUser, ids: Sequence[str] | None, now: datetime
) -> int:
    """Mark `ids` (or, with None, every message) read for `user`; returns how many.

    One INSERT … SELECT that skips rows there already: two requests at once (a double
    submit, two tabs) would otherwise both find a message unread and both insert its row."""
    reads = NotificationReadRow.__table__
    unread = select(literal(user.id), NotificationRow.id, literal(now, reads.c.read_at.type))
    unread = unread.where(_mine(user), ~_read_by(user))
    if ids is not None:
        unread = unread.where(NotificationRow.id.in_(list(ids)))
    marked = await session.execute(
        insert_into(session.get_bind().dialect.name, reads)
        .from_select(["user_id", "notification_id", "read_at"], unread)
        .on_conflict_do_nothing(index_elements=["user_id", "notification_id"])
        # The rows this request wrote (a row count is not given alike by every driver).
        .returning(reads.c.notification_id)
    )
    count = len(marked.all())
    await session.commit()
    return count
