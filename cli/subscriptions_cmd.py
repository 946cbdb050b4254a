"""`tongban subscriptions add|list|remove`: receivers of the event feed (CloudEvents, signed
per Standard Webhooks), such as the provincial platform."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from sqlalchemy import select

from api.services import subscriptions
from cli.errors import CliError
from cli.temporal_session import temporal_client
from domain.events import EventKind
from settings import get_settings
from store.db import create_engine, session_factory
from store.feed import EVENT_TYPE_PREFIX
from store.models import SubscriptionRow


def event_kinds(option: str | None) -> list[str]:
    """--types: event kinds, each bare (`received`) or as the feed's CloudEvents type
    (`cn.gov.tongban.application.received`)."""
    kinds = [t.strip().removeprefix(EVENT_TYPE_PREFIX) for t in (option or "").split(",")]
    kinds = [k for k in kinds if k]
    known = [k.value for k in EventKind]
    unknown = [k for k in kinds if k not in known]
    if unknown:
        raise CliError(
            f"unknown event type {', '.join(unknown)}: --types takes kinds among "
            f"{', '.join(known)} (or {EVENT_TYPE_PREFIX}<kind>)"
        )
    return list(dict.fromkeys(kinds))


async def _add(args: argparse.Namespace) -> int:
    settings = get_settings()
    types = event_kinds(args.types)
    engine = create_engine(settings.db_url)
    try:
        async with session_factory(engine)() as session:
            try:
                row = await subscriptions.add(
                    session,
                    url=args.url,
                    secret=args.secret,
                    types=types,
                    from_start=args.from_start,
                )
            except subscriptions.SubscriptionError as exc:
                raise CliError(str(exc)) from exc
            print(f"subscription {row.id}: {row.url}")
            if not args.secret:
                print(f"secret (give it to the receiver; it is not shown again): {row.secret}")
            subscription_id = row.id
    finally:
        await engine.dispose()
    try:
        async with temporal_client(settings) as client:
            await subscriptions.start_feed(
                client, settings.temporal_task_queue, subscription_id, settings.feed_poll_seconds
            )
        print("delivery started")
    except Exception as exc:  # the worker starts it when it next starts
        why = str(exc) or type(exc).__name__  # a timeout has no message of its own
        print(f"Temporal not reachable ({why}); the worker starts the delivery when it starts")
    return 0


async def _list_or_remove(args: argparse.Namespace) -> int:
    engine = create_engine(get_settings().db_url)
    try:
        async with session_factory(engine)() as session:
            if args.command == "remove":
                row = await session.get(SubscriptionRow, args.id)
                if row is None:
                    raise CliError(f"no subscription {args.id}")
                row.active = False
                await session.commit()
                print(f"subscription {args.id} removed (its delivery stops)")
                return 0
            for row in await session.scalars(select(SubscriptionRow).order_by(SubscriptionRow.id)):
                state = "ok"
                if not row.active:
                    state = "removed"
                elif row.failing_since:
                    state = f"failing since {row.failing_since:%Y-%m-%d %H:%M}"
                kinds = ",".join(row.types) or "all"
                print(f"{row.id:>4} {row.url}  types={kinds}  sent={row.delivered}  {state}")
    finally:
        await engine.dispose()
    return 0


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_add(args) if args.command == "add" else _list_or_remove(args))


def register(areas: Any) -> None:
    area = areas.add_parser("subscriptions", help="receivers of the event feed")
    commands = area.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="a new receiver")
    add.add_argument("url")
    add.add_argument("--secret", help="whsec_<base64>; generated and shown once when omitted")
    add.add_argument(
        "--types",
        help="comma-separated event kinds, e.g. received,granted or their CloudEvents types "
        f"{EVENT_TYPE_PREFIX}received (default: all)",
    )
    add.add_argument(
        "--from-start", action="store_true", help="send every event so far, not only new ones"
    )
    commands.add_parser("list", help="the receivers and how their delivery goes")
    remove = commands.add_parser("remove", help="stop sending to a receiver")
    remove.add_argument("id", type=int)
    area.set_defaults(handler=run)
