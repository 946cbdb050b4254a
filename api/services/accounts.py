"""Staff accounts, their tokens and sessions, and the demo accounts of the dev stack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from anyio import to_thread
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.password_policy import check_password
from api.security import DUMMY_HASH, hash_password, new_token, token_digest, verify_password
from definitions.catalogue import Catalogue
from definitions.regions import default_regions
from domain.actors import Actor, Role, SignoffRole
from domain.regions import RegionLevel, RegionTree
from store.audit_trail import record_audit
from store.db import read_by_key
from store.models import DepartmentRow, TokenRow, UserRow

STAFF_ROLES = (Role.clerk, Role.staff, Role.supervisor, Role.admin)


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    display_name: str
    role: Role
    department: str | None
    region: str | None = None  # None: the city (api.services.region_scope)
    signoff_role: SignoffRole | None = None  # staff: their level (承办, 审核, 批准)
    client: bool = False  # a system using the API (`tongban clients`), not a person

    def actor(self) -> Actor:
        return Actor(
            id=f"user:{self.id}", name=self.display_name, role=self.role,
            department=self.department, signoff_role=self.signoff_role,
        )  # fmt: skip

    @classmethod
    def of(cls, row: UserRow) -> StaffUser:
        level = SignoffRole(row.signoff_role) if row.signoff_role else None
        return cls(
            row.id, row.username, row.display_name, Role(row.role), row.department,
            row.region_code, level, row.kind == CLIENT,
        )  # fmt: skip


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
    session: AsyncSession, token: str, *, now: datetime, idle: timedelta, kind: str
) -> StaffUser | None:
    """Who `token` of `kind` belongs to (`bearer` for the API, `session` for the pages),
    if it is still valid (SessionIdle if unused for `idle`).

    A use is recorded (and committed) only when the last one on record is older than a
    minute."""
    found = (
        await session.execute(
            read_by_key(
                select(UserRow, TokenRow)
                .join(TokenRow, TokenRow.user_id == UserRow.id)
                .where(
                    TokenRow.digest == token_digest(token),
                    TokenRow.kind == kind,  # an API token is no page session, nor the reverse
                    TokenRow.expires_at > now,
                )
            )
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
    audit trail: whose account (for a refusal, the username as typed if there is such an
    account; a name of no account is masked, as it may be a password typed in the wrong
    field), from which address, through the API or the pages. Added to the caller's
    transaction."""
    subject = user.username if user else username.strip()
    if user is None:
        known = await session.scalar(select(UserRow.id).where(UserRow.username == subject))
        if known is None:
            subject = f"（未知账号）{subject[:1]}***"
    await record_audit(
        session,
        actor_id=f"user:{user.id}" if user else "anonymous",
        actor_name=user.display_name if user else "未登录",
        actor_role=user.role.value if user else "anonymous",
        action=action,
        subject=subject[:64],
        detail={"client": client, "via": via},
        at=at,
    )


async def revoke(session: AsyncSession, token: str) -> None:
    await session.execute(delete(TokenRow).where(TokenRow.digest == token_digest(token)))


async def end_sessions(session: AsyncSession, user_id: int) -> int:
    """Every token and page session of an account ends (a new password, a disabled
    account): whoever held one signs in again. Returns how many there were."""
    result = await session.execute(delete(TokenRow).where(TokenRow.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


async def sync_departments(session: AsyncSession, catalogue: Catalogue) -> None:
    """Make the departments table match definitions/departments.yaml and the counties'
    branches derived from it (adds and renames)."""
    existing = {d.code: d for d in await session.scalars(select(DepartmentRow))}
    for dept in catalogue.all_departments.values():
        row = existing.get(dept.code)
        if row is None:
            session.add(DepartmentRow(code=dept.code, name=dept.name, head_title=dept.head_title))
        else:
            row.name, row.head_title = dept.name, dept.head_title


class DemoAccount(NamedTuple):
    username: str
    display_name: str
    role: Role
    department: str | None
    region: str | None  # None: the city
    signoff_role: SignoffRole | None = None


# 分级签署 in the demo: the urban management bureau signs the road opening permit of
# utility_connection at three levels; `urban` is its 承办, these two its 审核 and 批准.
DEMO_SIGNOFF_DEPARTMENT = "urban"


def demo_accounts(catalogue: Catalogue, regions: RegionTree) -> list[DemoAccount]:
    """The city's admin, supervisor, clerk and one per department; per county-level
    division its clerk (clerk-340521), supervisor (supervisor-340521) and one per branch of
    a department (amr_340521); and agents (代办员) of one township and one village, who accept
    on behalf and forward."""
    accounts = [
        DemoAccount("admin", "系统管理员", Role.admin, None, None),
        DemoAccount("supervisor", "电子监察员", Role.supervisor, None, None),
        DemoAccount("clerk", "综合窗口受理员", Role.clerk, None, None),
    ]
    accounts += [
        DemoAccount(
            d.code,
            f"{d.name}审批员",
            Role.staff,
            d.code,
            None,
            SignoffRole.handler if d.code == DEMO_SIGNOFF_DEPARTMENT else None,
        )
        for d in catalogue.departments.values()
    ]
    if DEMO_SIGNOFF_DEPARTMENT in catalogue.departments:
        name = catalogue.departments[DEMO_SIGNOFF_DEPARTMENT].name
        accounts += [
            DemoAccount(
                f"{DEMO_SIGNOFF_DEPARTMENT}-{level.value}",
                f"{name}{level.label}人",
                Role.staff,
                DEMO_SIGNOFF_DEPARTMENT,
                None,
                level,
            )
            for level in (SignoffRole.reviewer, SignoffRole.approver)
        ]
    for county in regions.all():
        if county.level is not RegionLevel.county:
            continue
        code, name = county.code, county.name
        accounts += [
            DemoAccount(f"clerk-{code}", f"{name}综合窗口受理员", Role.clerk, None, code),
            DemoAccount(f"supervisor-{code}", f"{name}电子监察员", Role.supervisor, None, code),
        ]
        accounts += [
            DemoAccount(d.code, f"{d.name}审批员", Role.staff, d.code, code)
            for d in catalogue.branches.values()
            if d.region == code
        ]
    for code in DEMO_AGENT_REGIONS:
        if code in regions:
            accounts.append(
                DemoAccount(
                    f"agent-{code}", f"{regions.full_name(code)}代办员", Role.clerk, None, code
                )
            )
    return accounts


# The demo agents (代办员): 当涂县姑孰镇为民服务中心 and its 新桥村代办站.
DEMO_AGENT_REGIONS = ("340521100", "340521100201")


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
    region: str | None = None,
    password_hash: str | None = None,
    signoff_role: SignoffRole | None = None,
) -> UserRow:
    """A new account. Its password must meet the policy (WeakPassword otherwise), unless it
    is one of the dev stack's demo accounts (`demo`). `region`: where it works (None: the
    city); `password_hash`: the password's hash when the caller has it already."""
    if role is Role.staff and not department:
        raise ValueError("department staff must belong to a department")
    if signoff_role is not None and role is not Role.staff:
        raise ValueError("only department staff hold a sign-off level")
    if not demo:
        check_password(password, username)
    row = UserRow(
        username=username,
        display_name=display_name,
        password_hash=password_hash or await to_thread.run_sync(hash_password, password),
        role=role.value,
        department=department if role is Role.staff else None,
        active=True,
        created_at=datetime.now(UTC),
        kind=kind,
        region_code=region,
        signoff_role=signoff_role.value if signoff_role else None,
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
    # They share one password: hashed once (argon2 is slow on purpose; there are dozens).
    hashed: str | None = None
    for account in demo_accounts(catalogue, default_regions()):
        if account.username not in taken:
            hashed = hashed or await to_thread.run_sync(hash_password, password)
            await create_user(
                session,
                username=account.username,
                display_name=account.display_name,
                role=account.role,
                department=account.department,
                password=password,
                demo=True,
                region=account.region,
                password_hash=hashed,
                signoff_role=account.signoff_role,
            )
            created += 1
    return created
