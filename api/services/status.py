"""What an applicant may see and do with an application number and its query code."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Text, and_, bindparam, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.container import Services
from api.errors import conflict, not_found, too_many
from api.schemas import ApplicationView, HandoverView, NextAction, RatingView
from api.security import query_code_digest, same_digest
from api.services.accounts import StaffUser
from api.services.region_scope import visible
from api.services.views import application_view, local, rating_view
from domain.actors import Actor, Role
from domain.application import ApplicationStatus
from store.db import Reader, read_by_key
from store.models import ApplicationRow, RatingRow
from store.throttle import failures_of

# The same answer whether the number does not exist or the code is wrong: a caller learns
# nothing about which numbers exist.
NOT_FOUND_MESSAGE = "申请编号或查询码不正确"


@dataclass(frozen=True)
class Found:
    """An application as its applicant reaches it: the last status and a few columns."""

    number: str
    status_json: str
    applicant_name: str
    applicant_id: str
    channel: str
    delivery: str
    handover: HandoverView | None
    rating: RatingView | None
    # The row it was read from: equal rows give equal answers (status_answers).
    row: Hashable = field(repr=False, compare=False)

    @cached_property
    def status(self) -> ApplicationStatus:
        # Parsed when first asked for: a poll answered from its kept answer never asks.
        return ApplicationStatus.model_validate_json(self.status_json)

    @property
    def application_no(self) -> str:
        return self.number


# Built once: composing the statement cost a poll more than SQLite took to answer it. Table
# columns, not the ORM's: a row of plain values, none of the ORM's loading. The status is
# read as its JSON text and parsed once by its model (not into a dict, then validated).
_A = ApplicationRow.__table__.c
_R = RatingRow.__table__.c
_BY_NUMBER = select(
    _A.query_code_digest,
    cast(_A.status, Text),
    _A.applicant_name,
    _A.applicant_id,
    _A.channel,
    _A.delivery,
    _A.handed_over_at,
    _A.handover_method,
    _A.handover_ref,
    _A.handed_over_by,
    _R.level,
    _R.reason,
    _R.rated_at,
    _R.follow_up_due,
    _R.followed_up_at,
).outerjoin(RatingRow.__table__, _R.application_no == _A.application_no)
_NUMBER = _A.application_no == bindparam("number")
_ANY_BY_NUMBER = read_by_key(_BY_NUMBER.where(_NUMBER))
_COLUMNS = len(_BY_NUMBER.selected_columns)
# A guess with a query code: the failures its throttle counts come in the same statement,
# read by the same index probes, as an anonymous lookup's row (api.services.throttle).
_GUESS_BY_NUMBER = read_by_key(
    _BY_NUMBER.add_columns(failures_of("narrow"), failures_of("broad")).where(_NUMBER)
)


async def _read(session: Reader, statement: Select[Any], params: dict[str, Any]) -> Row[Any] | None:
    # Through run_sync: a connection's own execute insists on awaiting the driver, which a
    # read by key on SQLite does not (store/sqlite_driver.py).
    return await session.run_sync(lambda sync: sync.execute(statement, params).one_or_none())


async def load_with_digest(
    session: Reader, number: str, scope: ColumnElement[bool] | None = None
) -> tuple[str, Found] | None:
    """One indexed query: everything a status poll needs is in the application's row
    (and its rating, if any, by the same key)."""
    statement = (
        _ANY_BY_NUMBER if scope is None else read_by_key(_BY_NUMBER.where(and_(_NUMBER, scope)))
    )
    row = await _read(session, statement, {"number": number})
    return None if row is None else _loaded(number, row)


def _loaded(number: str, row: Row[Any]) -> tuple[str, Found]:
    values: tuple[Any, ...] = tuple(row)
    digest, status, name, applicant_id, channel, delivery, handed_at, method, ref, by = values[:10]
    handover = (
        HandoverView(method=method, ref=ref, at=handed_at, by=by) if handed_at and method else None
    )
    found = Found(
        number,
        status,
        name,
        applicant_id,
        channel,
        delivery,
        handover,
        None if row.level is None else rating_view(row),
        values[:_COLUMNS],
    )
    return digest, found


async def load(session: AsyncSession, number: str, user: StaffUser) -> Found:
    """For staff: the application by number alone, if `user` may see it (404 if there is
    none, and for one outside the caller's region: as if there were none)."""
    loaded = await load_with_digest(session, number.strip(), visible(user))
    if loaded is None:
        raise not_found(f"没有办件 {number}")
    return loaded[1]


async def find(
    *, services: Services, session: Reader, number: str, code: str | None, client: str
) -> Found:
    """The application, if `code` is its query code; failed attempts are throttled."""
    number = number.strip()
    attempt = services.lookups.attempt(number, client, services.session_clock())
    row = await _read(session, _GUESS_BY_NUMBER, {"number": number, **attempt.params()})
    loaded = None
    if row is not None:
        *_, narrow, broad = tuple(row)
        attempt.counts = (narrow, broad)
        loaded = _loaded(number, row)
    # Checked before the code: once over the limit, even the right code waits, so that a
    # guess is not told apart by its answer.
    wait = await services.lookups.retry_after(session, attempt)
    if wait is not None:
        raise too_many("查询失败次数过多，请稍后再试", wait)
    given = query_code_digest(services.secret, code or "")
    if loaded is None or not code or not same_digest(loaded[0], given):
        await services.lookups.fail(session, attempt)
        await session.commit()
        raise not_found(NOT_FOUND_MESSAGE)
    return loaded[1]


async def find_own(session: AsyncSession, number: str, holder_id: str) -> Found:
    """For an applicant signed in by unified identity: their own application, no code
    needed (the same 404 as a wrong code otherwise)."""
    loaded = await load_with_digest(session, number.strip())
    if loaded is None or loaded[1].applicant_id != holder_id:
        raise not_found(NOT_FOUND_MESSAGE)
    return loaded[1]


async def own_applications(
    session: AsyncSession, holder_id: str, limit: int = 100
) -> list[ApplicationRow]:
    """我的办件: the applicant's applications, the newest first."""
    return list(
        await session.scalars(
            select(ApplicationRow)
            .where(ApplicationRow.applicant_id == holder_id)
            .order_by(ApplicationRow.received_at.desc())
            .limit(limit)
        )
    )


def view(services: Services, found: Found) -> ApplicationView:
    result = application_view(
        found.status,
        applicant_name=found.applicant_name,
        channel=found.channel,
        delivery=found.delivery,
        catalogue=services.catalogue,
        tz=services.tz,
    )
    tz = services.tz
    if found.handover:
        result.handover = found.handover.model_copy(update={"at": found.handover.at.astimezone(tz)})
        if result.next_action.code in ("collect_result", "receive_express"):
            result.next_action = NextAction(code="none", text="办理结果已送达，感谢您的办理。")
    if found.rating:
        result.rating = found.rating.model_copy(
            update={
                "rated_at": found.rating.rated_at.astimezone(tz),
                "follow_up_due": local(found.rating.follow_up_due, tz),
                "followed_up_at": local(found.rating.followed_up_at, tz),
            }
        )
    return result


async def reload(session: AsyncSession, found: Found) -> Found:
    fresh = await load_with_digest(session, found.application_no)
    assert fresh is not None
    return fresh[1]


def applicant_actor(found: Found) -> Actor:
    return Actor(
        id=f"applicant:{found.application_no}", name=found.applicant_name, role=Role.applicant
    )


def still_open(status: ApplicationStatus) -> None:
    """Actions on a closed application are refused from the read model (no engine call)."""
    if status.state.final:
        raise conflict(f"该办件{status.state.label}，不能再办理")
