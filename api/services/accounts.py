"""Staff accounts, their tokens and sessions, and the demo accounts of the dev stack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from anyio import to_thread
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.password_policy import check_password
from api.security import DUMMY_HASH, hash_password, new_token, token_digest, verify_password
from definitions.catalogue import Catalogue
from domain.actors import Actor, Role
from store.audit_trail import record_audit
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


# A token's last use is written when the one on record is older than this: not a write on
# every request, and idle expiry is still exact to the minute.
TOUCH_EVERY = timedelta(minutes=1)


class SessionIdle(Exception):
    """The token was unused for longer than the idle limit: refused, and forgotten."""


def real_now() -> datetime:
    return datetime.now(UTC)


async def issue_token(
    session: AsyncSession, user: StaffUser, *, kind: str, hours: int, now: datetime
) -> str:
    token = new_token()
    session.add(
        TokenRow(
            digest=token_digest(token),
            user_id=user.id,
            kind=kind,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            last_used_at=now,
        )
    )
    # Expired tokens are of no use to anyone: clear them while we are here.
    await session.execute(delete(TokenRow).where(TokenRow.expires_at < now))
    return token


async def user_for_token(
    session: AsyncSession, token: str, *, now: datetime, idle: timedelta
) -> StaffUser | None:
    """Who `token` belongs to, if it is still valid (SessionIdle if unused for `idle`).

    A use is recorded (and committed) only when the last one on record is older than a
    minute."""
    found = (
        await session.execute(
            select(UserRow, TokenRow)
            .join(TokenRow, TokenRow.user_id == UserRow.id)
            .where(TokenRow.digest == token_digest(token), TokenRow.expires_at > now)
        )
    ).one_or_none()
    if found is None:
        return None
    row, used = found
    if used.last_used_at <= now - idle:
        await session.execute(delete(TokenRow).where(TokenRow.digest == used.digest))
        await session.commit()
        raise SessionIdle
    if not row.active:
        return None
    user = StaffUser.of(row)
    if now - used.last_used_at >= TOUCH_EVERY:
        used.last_used_at = now
        await session.commit()
    return user


async def record_access(
    session: AsyncSession,
    *,
    action: str,
    username: str,
    user: StaffUser | None,
    client: str,
    via: str,
    at: datetime,
) -> None:
    """A sign-in (`login`), a refused one (`login_failed`) or a sign-out (`logout`) on the
    audit trail: whose account (the username as typed, for a refusal), from which address,
    through the API or the pages. Added to the caller's transaction."""
    await record_audit(
        session,
        actor_id=f"user:{user.id}" if user else "anonymous",
        actor_name=user.display_name if user else "未登录",
        actor_role=user.role.value if user else "anonymous",
        action=action,
        subject=(user.username if user else username.strip())[:64],
        detail={"client": client, "via": via},
        at=at,
    )


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
    demo: bool = False,
) -> UserRow:
    """A new account. Its password must meet the policy (WeakPassword otherwise), unless it
    is one of the dev stack's demo accounts (`demo`)."""
    if role is Role.staff and not department:
        raise ValueError("department staff must belong to a department")
    if not demo:
        check_password(password, username)
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


async def set_password(row: UserRow, password: str) -> None:
    """A new password for an account, if it meets the policy (WeakPassword otherwise)."""
    check_password(password, row.username)
    row.password_hash = await to_thread.run_sync(hash_password, password)


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
                demo=True,
            )
            created += 1
    return created
