"""Writing one workflow transition into the read model, idempotently.

Rows carry the workflow's revision and an upsert wins over an older or equal revision, events
and notifications are keyed by the workflow's own numbering: replaying the same projection
writes the same again, and an older one arriving late changes nothing.

An equal revision is written again, not ignored, because the same revision can carry another
transition. Most projections are local activities, run inside the workflow task that made
the transition. If Temporal then loses that task's completion (its server stopped at that
moment: `make faults` met it), the workflow resumes from its last recorded task. Since engine
generation 2 such a task replays to the same transition: an action's own write waits until
Temporal has recorded it (`MatterWorkflow._act`). Workflows of generations 0 and 1 wrote an
action inside its task, so the transition that follows a lost one takes the same revision
and the same event numbers, while the read model already holds the lost one's. The timeline
that goes on always writes after the one lost (a task is retried only once the one before it
has failed), so the last write is the one to keep: rows, events and the words of
notifications alike. A notification keeps its delivery state: the lost task's activities
never ran, so nothing of it was sent.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from definitions.notice_templates import Templates
from domain.application import ApplicationInput, ApplicationStatus, Projection
from domain.calendar import CalendarSnapshot, WorkCalendar
from domain.events import EventKind, Notification
from domain.notices import DeliveryState, NoticeChannel, channel_for
from domain.regions import region_of_number
from domain.states import ApplicationState, SlaLevel, StepState
from domain.statistics import ACCEPTANCE_EVENTS, FIGURE_EVENTS, completed_early
from store.db import insert_into
from store.models import (
    ApplicationRow,
    CorrectionFileRow,
    CorrectionRow,
    EventRow,
    MaterialRow,
    NotificationRow,
    StepRow,
)
from store.statistics import mark_stale, record_acceptance, recount_visits

# Events after which the visits are counted again (walk-in decisions, window actions).
_VISIT_CHANGES = frozenset(
    {
        EventKind.accepted,
        EventKind.not_accepted,
        EventKind.correction_supplied,
        EventKind.withdrawn,
        EventKind.missing_supplied,
        EventKind.handed_over,
    }
)
_COMPLETIONS = frozenset({EventKind.granted, EventKind.refused})


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


# The statements are built once per table and set of columns, and run with each write's
# values as parameters: built afresh for every write, their `excluded` alias and the
# statement's cache key took a tenth of the worker's Python time (docs/performance.md).
@functools.cache
def _upsert_statement(
    dialect: str,
    table: Table,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    keep: tuple[str, ...] = (),
    newer_only: bool = False,
) -> Any:
    """INSERT … ON CONFLICT (key) DO UPDATE of the columns but the key's and `keep`'s;
    `newer_only` updates only a row whose revision is not newer than the one written."""
    stmt = insert_into(dialect, table)
    return stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={c: stmt.excluded[c] for c in columns if c not in key and c not in keep},
        where=table.c.revision <= stmt.excluded.revision if newer_only else None,
    )


@functools.cache
def _insert_new_statement(dialect: str, table: Table, key: tuple[str, ...]) -> Any:
    return insert_into(dialect, table).on_conflict_do_nothing(index_elements=list(key))


async def _upsert(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]], key: tuple[str, ...]
) -> None:
    """Insert, or update each row unless it holds a newer revision (see the module's doc).
    The rows share their columns."""
    if rows:
        stmt = _upsert_statement(_dialect(session), table, tuple(rows[0]), key, newer_only=True)
        await session.execute(stmt, rows)


async def _insert_new(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]], key: tuple[str, ...]
) -> None:
    if rows:
        await session.execute(_insert_new_statement(_dialect(session), table, key), rows)


async def _write_numbered(
    session: AsyncSession,
    table: Table,
    rows: list[dict[str, Any]],
    key: tuple[str, ...],
    keep: tuple[str, ...] = (),
) -> None:
    """Rows numbered by the workflow (events, notifications): inserted, or written again
    over those of the same numbers but for the `keep` columns (see the module's doc)."""
    if rows:
        stmt = _upsert_statement(_dialect(session), table, tuple(rows[0]), key, keep)
        await session.execute(stmt, rows)


# An application's row moved on, unless it holds a newer revision: SET takes the columns of
# the parameters given.
_MOVE_APPLICATION = update(ApplicationRow.__table__).where(  # type: ignore[arg-type]
    ApplicationRow.application_no == bindparam("match_no"),
    ApplicationRow.revision <= bindparam("match_revision"),
)


def _application_values(status: ApplicationStatus, app: ApplicationInput | None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "application_no": status.application_no,
        "matter_code": status.matter_code,
        "matter_name": status.matter_name,
        "matter_version": status.matter_version,
        "state": status.state.value,
        # Granted on a commitment, an application is owed its verifications: until they are
        # recorded its card is theirs too, so that the supervisors' lists find one overdue.
        "sla_level": SlaLevel.highest(
            [status.sla_level, *(v.sla_level for v in status.verifications if v.open)]
        ).value,
        "received_at": status.received_at or status.accepted_at,
        "accepted_at": status.accepted_at,
        "acceptance_due": status.acceptance_due,
        "promised_deadline": status.promised_deadline,
        "legal_deadline": status.legal_deadline,
        "deadline_provisional": status.deadline_provisional,
        "paused": status.paused,
        "working_days_left": status.working_days_left,
        "extension_days": status.extension_days,
        "completed_at": status.completed_at,
        "outcome_reason": status.outcome_reason,
        "status": status.model_dump(mode="json"),
        "revision": status.revision,
        "updated_at": datetime.now(UTC),
    }
    delivery = status.delivery
    if delivery is not None:
        # Only cases with a delivery clock hand over through the workflow: the columns of a
        # case handed over before it existed are left as the window wrote them.
        values |= {
            "delivery_deadline": delivery.deadline,
            "delivery_sla_level": delivery.sla_level.value,
            "handed_over_at": delivery.handed_over_at,
            "handover_method": delivery.method,
            "handover_ref": delivery.ref,
            "handed_over_by": delivery.handed_over_by.name if delivery.handed_over_by else None,
        }
    if app is not None:
        a = app.applicant
        received = status.received_at or status.accepted_at
        values |= {
            "region_code": region_of_number(status.application_no),
            "local_region": app.local_region,
            "received_on": received.astimezone(ZoneInfo(app.calendar.timezone)).date()
            if received
            else None,
            "applicant_name": a.name,
            "applicant_kind": a.kind,
            "applicant_id": a.id_number or a.credit_code or "",
            "applicant_phone": a.phone,
            "channel": app.channel.value,
            "delivery": app.delivery,
            "delivery_address": app.delivery_address,
            "form": app.form,
            "definition": app.matter.model_dump(mode="json"),
            "calendar": app.calendar.model_dump(mode="json"),
            "query_code_digest": app.query_code_digest,
            "accepted_by_id": app.accepted_by.id,
            "accepted_by_name": app.accepted_by.name,
        }
    return values


def _step_values(status: ApplicationStatus) -> list[dict[str, Any]]:
    # A step decided on a commitment (告知承诺) is owed its verification: its row carries the
    # verification's card, as its deadline is the verification's, so that inboxes and the
    # supervisors' figures see one overdue.
    owed = {v.step_code: v.sla_level for v in status.verifications if v.open}
    return [
        {
            "application_no": status.application_no,
            "code": s.code,
            "name": s.name,
            "department": s.department,
            "state": s.state.value,
            "sla_level": (
                owed.get(s.code, s.sla_level) if s.state is StepState.verifying else s.sla_level
            ).value,
            "opened_at": s.opened_at,
            "deadline": s.deadline,
            "deadline_provisional": s.deadline_provisional,
            "paused": s.paused,
            "working_days_left": s.working_days_left,
            "extension_days": s.extension_days,
            "extension_request": (
                s.extension_request.model_dump(mode="json") if s.extension_request else None
            ),
            "claimed_by_id": s.claimed_by.id if s.claimed_by else None,
            "claimed_by_name": s.claimed_by.name if s.claimed_by else None,
            "decided_by_id": s.decided_by.id if s.decided_by else None,
            "decided_by_name": s.decided_by.name if s.decided_by else None,
            "decided_at": s.decided_at,
            "result": s.result,
            "reason": s.reason,
            "stage": s.stage,
            "stage_role": s.stage_role.value if s.stage_role else None,
            "revision": status.revision,
        }
        for s in status.steps
    ]


def _notification_values(
    application_no: str, note: Notification, templates: Templates | None
) -> dict[str, Any]:
    """The message in its words (its notice's template filled with its values), and how it
    travels: staff find it in their inbox as soon as it is written; an SMS waits for its
    delivery activity."""
    subject, body, sms = note.subject, note.body, f"{note.subject} {note.body}".strip()
    channel = channel_for(note.recipient)
    inbox = channel is NoticeChannel.inbox
    if note.values and templates is not None:
        subject, body, sms = templates.render(note.kind, note.values)
        body = body or ("" if inbox else sms)  # an SMS's words are its body
    return {
        "id": note.id,
        "application_no": application_no,
        "at": note.at,
        "recipient": note.recipient,
        "kind": note.kind,
        "subject": subject[:200],
        "body": body,
        "channel": channel.value,
        "sms_text": "" if inbox else sms,
        "state": (DeliveryState.sent if inbox else DeliveryState.pending).value,
        "sent_at": note.at if inbox else None,
        "attempts": 0,
    }


async def apply_projection(
    session: AsyncSession,
    projection: Projection,
    templates: Templates | None = None,
    *,
    today: date | None = None,
) -> None:
    """Apply one projection inside the caller's transaction (`templates` word its
    notifications; `today`, the centre's date, see `mark_stale`)."""
    status, app = projection.status, projection.application
    no = status.application_no
    values = _application_values(status, app)
    if projection.calendar is not None:
        values["calendar"] = projection.calendar.model_dump(mode="json")
    if app is not None:
        await _upsert(session, ApplicationRow.__table__, [values], ("application_no",))  # type: ignore[arg-type]
    else:
        # Static columns came with the first projection. An upsert cannot be used here: both
        # databases check NOT NULL on the row to insert before they look for the conflict.
        moved = await session.execute(
            _MOVE_APPLICATION, values | {"match_no": no, "match_revision": status.revision}
        )
        if moved.rowcount == 0 and await session.get(ApplicationRow, no) is None:  # type: ignore[attr-defined]
            raise LookupError(f"application {no} has no row: its first projection is missing")
    await _upsert(session, StepRow.__table__, _step_values(status), ("application_no", "code"))  # type: ignore[arg-type]
    returned = [e.step_code for e in projection.events if e.kind is EventKind.step_returned]
    if returned:
        # Its push was cancelled with the return: the state its last attempt left (failing)
        # would keep it on the supervisors' list of failing pushes while nothing is pushed.
        await session.execute(
            update(StepRow)
            .where(
                StepRow.application_no == no,
                StepRow.code.in_(returned),
                StepRow.revision == status.revision,
            )
            .values(push_state=None, push_error=None)
        )
    if app is not None:
        names = {m.code: m for m in app.matter.materials}
        await _insert_new(
            session,
            MaterialRow.__table__,  # type: ignore[arg-type]
            [
                {
                    "application_no": no,
                    "code": m.code,
                    "name": names[m.code].name if m.code in names else m.code,
                    "required": names[m.code].required if m.code in names else False,
                    "source": m.source.value,
                    "ref": m.ref,
                    "digest": m.digest,
                    "verified": m.verified,
                }
                for m in app.materials
            ],
            ("application_no", "code"),
        )
    await _write_numbered(
        session,
        EventRow.__table__,  # type: ignore[arg-type]
        [
            {
                "application_no": no,
                "seq": e.seq,
                "at": e.at,
                "kind": e.kind,
                "actor_id": e.actor.id,
                "actor_name": e.actor.name,
                "actor_role": e.actor.role.value,
                "actor_department": e.actor.department,
                "step_code": e.step_code,
                "payload": e.payload,
            }
            for e in projection.events
        ],
        ("application_no", "seq"),
    )
    await _keep_figures(session, projection, today)
    await _write_numbered(
        session,
        NotificationRow.__table__,  # type: ignore[arg-type]
        [_notification_values(no, n, templates) for n in projection.notifications],
        ("id",),
        keep=("state", "sent_at", "attempts"),
    )
    await _upsert(
        session,
        CorrectionRow.__table__,  # type: ignore[arg-type]
        [
            {
                "application_no": no,
                "notice_no": notice.notice_no,
                "opened_at": notice.opened_at,
                "items": notice.items,
                "requests": [r.model_dump(mode="json") for r in notice.requests],
                "answered_at": notice.answered_at,
                "supplied": [i.model_dump(mode="json") for i in notice.supplied],
                "cancelled": notice.cancelled,
                "revision": status.revision,
            }
            for notice in status.corrections
        ],
        ("application_no", "notice_no"),
    )
    # The files of the answers, for the staff who may see the application to open.
    uploads = {i.ref for n in status.corrections for i in n.supplied if i.ref.startswith("upload:")}
    await _insert_new(
        session,
        CorrectionFileRow.__table__,  # type: ignore[arg-type]
        [{"application_no": no, "ref": ref} for ref in sorted(uploads)],
        ("application_no", "ref"),
    )


async def _keep_figures(session: AsyncSession, projection: Projection, today: date | None) -> None:
    """What the statistics read of the application (domain.statistics), after its events
    are in: its visits, who decided on its acceptance, whether it was completed early; and
    its day marked for computing again."""
    status, no = projection.status, projection.status.application_no
    kinds = {EventKind(e.kind) for e in projection.events}
    if projection.application is not None or kinds & _VISIT_CHANGES:
        await session.execute(recount_visits(no))
    decision = next((e for e in projection.events if e.kind in ACCEPTANCE_EVENTS), None)
    if decision is not None:
        await session.execute(record_acceptance(no, decision.actor.role.value))
    done = status.state in (ApplicationState.granted, ApplicationState.refused)
    if kinds & _COMPLETIONS and done and status.completed_at and status.promised_deadline:
        calendar = await _calendar(session, projection)
        early = completed_early(calendar, status.completed_at, status.promised_deadline)
        await session.execute(
            update(ApplicationRow)
            .where(ApplicationRow.application_no == no)
            .values(completed_early=early)
        )
    if projection.application is not None or kinds & FIGURE_EVENTS:
        await mark_stale(session, no, today=today)


async def _calendar(session: AsyncSession, projection: Projection) -> WorkCalendar:
    """The application's calendar: the one this projection brings, else its row's."""
    snapshot = projection.calendar or (
        projection.application.calendar if projection.application else None
    )
    if snapshot is None:
        document = await session.scalar(
            select(ApplicationRow.calendar).where(
                ApplicationRow.application_no == projection.status.application_no
            )
        )
        snapshot = CalendarSnapshot.model_validate(document)
    return WorkCalendar(snapshot)
