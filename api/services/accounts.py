"""Staff accounts, their tokens and sessions, and the demo accounts of the dev stack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from anyio import to_thread
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.security import DUMMY_HASH, hash_password, new_token, token_digest, verify_password
from definitions.catalogue import Catalogue
from domain.actors import Actor, Role
from store.models import DepartmentRow, TokenRow, UserRow

STAFF_ROLES = (Role.clerk, Role.staff, Role.supervisor, Role.admin)


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    display_name: str
    role: Role
    department: str | None

    def actor(self) -> Actor:
        return Actor(
            id=f"user:{self.id}", name=self.display_name, role=self.role, department=self.department
        )

    @classmethod
    def of(cls, row: UserRow) -> StaffUser:
        return cls(row.id, row.username, row.display_name, Role(row.role), row.department)


PERSON, CLIENT = "person", "client"


async def authenticate(
    session: AsyncSession, username: str, password: str, *, kind: str = PERSON
) -> StaffUser | None:
    """The account if `password` is its password (for a client: its secret), else None.

    People sign in with passwords, departments' systems with client credentials; neither
    can use the other's way in."""
    row = await session.scalar(select(UserRow).where(UserRow.username == username.strip()))
    if row is None or not row.active or row.kind != kind:
        await to_thread.run_sync(verify_password, DUMMY_HASH, password)  # same cost
        return None
    # argon2 is deliberately slow: off the event loop, so other requests go on meanwhile.
    ok = await to_thread.run_sync(verify_password, row.password_hash, password)
    return StaffUser.of(row) if ok else None


async def issue_token(session: AsyncSession, user: StaffUser, *, kind: str, hours: int) -> str:
    token = new_token()
    now = datetime.now(UTC)
    session.add(
        TokenRow(
            digest=token_digest(token),
            user_id=user.id,
            kind=kind,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    # Expired tokens are of no use to anyone: clear them while we are here.
    await session.execute(delete(TokenRow).where(TokenRow.expires_at < now))
    return token


async def user_for_token(session: AsyncSession, token: str) -> StaffUser | None:
    row = await session.scalar(
        select(UserRow)
        .join(TokenRow, TokenRow.user_id == UserRow.id)
        .where(TokenRow.digest == token_digest(token), TokenRow.expires_at > datetime.now(UTC))
    )
    return StaffUser.of(row) if row is not None and row.active else None


async def revoke(session: AsyncSession, token: str) -> None:
    await session.execute(delete(TokenRow).where(TokenRow.digest == token_digest(token)))


async def sync_departments(session: AsyncSession, catalogue: Catalogue) -> None:
    """Make the departments table match definitions/departments.yaml (adds and renames)."""
    existing = {d.code: d for d in await session.scalars(select(DepartmentRow))}
    for dept in catalogue.departments.values():
        row = existing.get(dept.code)
        if row is None:
            session.add(DepartmentRow(code=dept.code, name=dept.name, head_title=dept.head_title))
        else:
            row.name, row.head_title = dept.name, dept.head_title


def demo_accounts(catalogue: Catalogue) -> list[tuple[str, str, Role, str | None]]:
    """(username, display name, role, department): admin, supervisor, clerk, one per department."""
    accounts: list[tuple[str, str, Role, str | None]] = [
        ("admin", "系统管理员", Role.admin, None),
        ("supervisor", "电子监察员", Role.supervisor, None),
        ("clerk", "综合窗口受理员", Role.clerk, None),
    ]
    accounts += [
        (d.code, f"{d.name}审批员", Role.staff, d.code) for d in catalogue.departments.values()
    ]
    return accounts


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    role: Role,
    department: str | None,
    password: str,
    kind: str = PERSON,
) -> UserRow:
    if role is Role.staff and not department:
        raise ValueError("department staff must belong to a department")
    row = UserRow(
        username=username,
        display_name=display_name,
        password_hash=await to_thread.run_sync(hash_password, password),
        role=role.value,
        department=department if role is Role.staff else None,
        active=True,
        created_at=datetime.now(UTC),
        kind=kind,
    )
    session.add(row)
    return row


async def ensure_demo_accounts(session: AsyncSession, catalogue: Catalogue, password: str) -> int:
    """Create the demo accounts that do not exist yet; returns how many were created."""
    taken = set(await session.scalars(select(UserRow.username)))
    created = 0
    for username, name, role, department in demo_accounts(catalogue):
        if username not in taken:
            await create_user(
                session,
                username=username,
                display_name=name,
                role=role,
                department=department,
                password=password,
            )
            created += 1
    return created
