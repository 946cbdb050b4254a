"""`tongban clients add|list|disable`: departments' own systems, which answer their tasks
through the API with client credentials (`POST /api/auth/token`,
`grant_type=client_credentials`)."""

from __future__ import annotations

import argparse
import asyncio
import secrets
from typing import Any

from sqlalchemy import select

from api.services.accounts import CLIENT, create_user, end_sessions, sync_departments
from definitions.catalogue import default_catalogue
from domain.actors import Role
from settings import get_settings
from store.db import create_engine, session_factory
from store.models import UserRow


async def _run(args: argparse.Namespace) -> int:
    engine = create_engine(get_settings().db_url)
    try:
        async with session_factory(engine)() as session:
            if args.command == "list":
                rows = await session.scalars(
                    select(UserRow).where(UserRow.kind == CLIENT).order_by(UserRow.username)
                )
                for u in rows:
                    state = "active" if u.active else "disabled"
                    where = u.department or "-"
                    print(f"{u.username:<24} {u.role:<10} {where:<8} {state:<9} {u.display_name}")
                return 0
            if args.command == "disable":
                row = await session.scalar(
                    select(UserRow).where(
                        UserRow.username == args.client_id, UserRow.kind == CLIENT
                    )
                )
                if row is None:
                    print(f"no client {args.client_id}")
                    return 1
                row.active = False
                ended = await end_sessions(session, row.id)  # enabling it revives none
                await session.commit()
                print(f"{args.client_id} disabled; {ended} token(s) ended")
                return 0
            catalogue = default_catalogue()
            role = Role(args.role)
            if role is Role.staff and args.department not in catalogue.departments:
                print(f"unknown department {args.department!r}")
                return 1
            await sync_departments(session, catalogue)
            await session.flush()
            client_id = f"{args.department or role.value}-{secrets.token_hex(4)}"
            secret = secrets.token_urlsafe(32)
            name = args.name or (
                f"{catalogue.department_name(args.department)}业务系统" if args.department
                else "数据交换平台"
            )  # fmt: skip
            await create_user(
                session,
                username=client_id,
                display_name=name,
                role=role,
                department=args.department if role is Role.staff else None,
                password=secret,
                kind=CLIENT,
            )
            await session.commit()
            print(f"client_id:     {client_id}")
            print(f"client_secret: {secret}   (shown once: keep it in the system's secret store)")
            return 0
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_run(args))


def register(areas: Any) -> None:
    area = areas.add_parser("clients", help="departments' systems using the API")
    commands = area.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="a new client; prints its id and secret once")
    add.add_argument("--department", help="the department it acts for (staff clients)")
    add.add_argument(
        "--role",
        default="staff",
        choices=["staff", "supervisor"],
        help="staff: one department's tasks; supervisor: reads everything (the feed)",
    )
    add.add_argument("--name", help="how its actions read on the timeline")
    commands.add_parser("list", help="the clients")
    disable = commands.add_parser("disable", help="refuse a client from now on")
    disable.add_argument("client_id")
    area.set_defaults(handler=run)
