"""`tongban users list|add|passwd|signoff|disable|enable`: staff accounts for a real
deployment.

Passwords are read from the terminal (not echoed) or, for scripts, one line of standard
input with `--password-stdin`; never from the command line, where `ps` would show them.
They must meet the password policy (api/password_policy.py), which names what is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from sqlalchemy import select

from api.password_policy import WeakPassword
from api.services.accounts import (
    PERSON,
    create_user,
    end_sessions,
    set_password,
    sync_departments,
)
from cli.errors import CliError
from definitions.catalogue import default_catalogue
from definitions.regions import default_regions
from domain.actors import Role, SignoffRole
from domain.matter import Department
from settings import get_settings
from store.db import create_engine, session_factory
from store.models import UserRow


class UserError(CliError):
    pass


NO_TERMINAL = (
    "cannot read a password: there is no terminal to ask on; "
    "give it as one line of standard input with --password-stdin"
)


def _terminal() -> bool:
    """Whether getpass can ask without echoing: it uses /dev/tty, else a terminal stdin."""
    try:
        with open("/dev/tty", "rb"):
            return True
    except OSError:
        return sys.stdin.isatty()


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not _terminal():
        raise UserError(NO_TERMINAL)
    try:
        password = getpass.getpass("password: ")
        again = getpass.getpass("again: ")
    except EOFError as exc:  # ^D at the prompt
        raise UserError("no password given") from exc
    if again != password:
        raise UserError("the two passwords differ")
    return password


def _region(args: argparse.Namespace, department: Department | None) -> str | None:
    """Where the new account works: --region, else its department's county, else the city."""
    region: str | None = args.region or (department.region if department else None)
    if region is not None and region not in default_regions():
        raise UserError(f"no region {region} in definitions/regions.yaml")
    return region


def _level(value: str | None, role: Role) -> SignoffRole | None:
    """分级签署: a member of staff's level (handler 承办, reviewer 审核, approver 批准)."""
    if value in (None, "none"):
        return None
    if role is not Role.staff:
        raise UserError("only department staff hold a sign-off level")
    return SignoffRole(value)


async def _run(args: argparse.Namespace) -> str:
    engine = create_engine(get_settings().db_url)
    try:
        async with session_factory(engine)() as session:
            if args.command == "list":
                rows = await session.scalars(select(UserRow).order_by(UserRow.username))
                return "\n".join(
                    f"{u.username:<18} {u.role:<11} {u.department or '-':<11} "
                    f"{u.region_code or '-':<12} {u.signoff_role or '-':<9} "
                    f"{'active' if u.active else 'disabled':<9} {u.display_name}"
                    for u in rows
                )
            user = await session.scalar(select(UserRow).where(UserRow.username == args.username))
            if args.command == "add":
                if user is not None:
                    raise UserError(f"{args.username} exists already")
                role = Role(args.role)
                catalogue = default_catalogue()
                known = ", ".join(sorted(catalogue.all_departments))
                if args.department and catalogue.department(args.department) is None:
                    raise UserError(f"unknown department {args.department}; one of: {known}")
                if role is Role.staff and not args.department:
                    raise UserError(f"staff need --department, one of: {known}")
                region = _region(args, catalogue.department(args.department or ""))
                level = _level(args.signoff_role, role)
                await sync_departments(session, catalogue)
                await session.flush()
                await create_user(
                    session,
                    username=args.username,
                    display_name=args.name or args.username,
                    role=role,
                    department=args.department,
                    password=_password(args),
                    region=region,
                    signoff_role=level,
                )
                message = f"added {args.username} ({role.value})"
            elif user is None or user.kind != PERSON:
                # A system's account is `tongban clients`'s (its secret, its scope).
                raise UserError(f"no user {args.username}")
            elif args.command == "signoff":
                level = _level(args.level, Role(user.role))
                user.signoff_role = level.value if level else None
                message = f"{args.username}: sign-off level {level.label if level else 'none'}"
            elif args.command == "passwd":
                await set_password(user, _password(args))
                ended = await end_sessions(session, user.id)
                message = f"password changed for {args.username}; {ended} session(s) ended"
            else:
                user.active = args.command == "enable"
                message = f"{args.username} {args.command}d"
                if not user.active:  # enabling it later must not revive what it held
                    ended = await end_sessions(session, user.id)
                    message += f"; {ended} session(s) ended"
            await session.commit()
            return message
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    try:
        print(asyncio.run(_run(args)))
    except WeakPassword as exc:
        raise CliError(str(exc)) from exc
    return 0


def register(areas: Any) -> None:
    parser = areas.add_parser("users", help="staff accounts")
    commands = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    commands.add_parser("list", help="every account").set_defaults(handler=run)
    add = commands.add_parser("add", help="add an account")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=["clerk", "staff", "supervisor", "admin"])
    add.add_argument("--department", help="department code (staff only)")
    add.add_argument("--name", help="display name, e.g. 市场监管局 张三")
    add.add_argument(
        "--region",
        help="行政区划代码 it works at (default: the city; a branch's staff: its county); "
        "a township's or village's clerk is its agent (代办员)",
    )
    levels = [r.value for r in SignoffRole]
    add.add_argument(
        "--signoff-role",
        choices=levels,
        help="staff: sign-off level in the department (承办 handler, 审核 reviewer, 批准 approver)",
    )
    signoff = commands.add_parser("signoff", help="set a member of staff's sign-off level")
    signoff.add_argument("username")
    signoff.add_argument("level", choices=[*levels, "none"])
    signoff.set_defaults(handler=run)
    for name, help_text in (
        ("passwd", "set a new password"),
        ("disable", "stop an account from signing in"),
        ("enable", "let a disabled account sign in again"),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("username")
        if name == "passwd":
            sub.add_argument("--password-stdin", action="store_true")
        sub.set_defaults(handler=run)
    add.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    add.set_defaults(handler=run)
