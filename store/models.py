"""The read model: what inboxes, dashboards and status polls read (never Temporal).

Rows are written by the workflow's projection activity (`store.projection`), each guarded by
the workflow's revision so a retried or late write never moves a row backwards.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from store.types import Base, JSONDoc, OptionalJSONDoc

AppNo = String(40)


class ApplicationRow(Base):
    __tablename__ = "applications"
    __table_args__ = (
        # The supervision list: its filters, then its order (the number breaks ties).
        Index(
            "ix_applications_open_list", "state", "sla_level", "promised_deadline", "application_no"
        ),
        # The overview's figures: what is open or settled since a cutoff, from the index.
        Index(
            "ix_applications_figures",
            "completed_at",
            "state",
            "channel",
            "sla_level",
            "promised_deadline",
        ),
        # Granted, the result not yet handed over (the delivery figures).
        Index("ix_applications_awaiting", "state", "handed_over_at", "delivery_deadline"),
    )

    application_no: Mapped[str] = mapped_column(AppNo, primary_key=True)
    matter_code: Mapped[str] = mapped_column(String(40), index=True)
    matter_name: Mapped[str] = mapped_column(String(100))
    matter_version: Mapped[int]
    state: Mapped[str] = mapped_column(String(20), index=True)
    sla_level: Mapped[str] = mapped_column(String(10), index=True)
    applicant_name: Mapped[str] = mapped_column(String(100))
    applicant_kind: Mapped[str] = mapped_column(String(10))
    applicant_id: Mapped[str] = mapped_column(String(18), index=True)
    applicant_phone: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    delivery: Mapped[str] = mapped_column(String(10))
    delivery_address: Mapped[str | None] = mapped_column(String(300))
    form: Mapped[dict[str, Any]]
    definition: Mapped[dict[str, Any]] = mapped_column(JSONDoc, comment="the pinned definition")
    calendar: Mapped[dict[str, Any]] = mapped_column(JSONDoc, comment="the pinned calendar")
    query_code_digest: Mapped[str] = mapped_column(String(64))
    accepted_by_id: Mapped[str] = mapped_column(String(64))
    accepted_by_name: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(index=True)
    acceptance_due: Mapped[datetime | None]
    promised_deadline: Mapped[datetime | None] = mapped_column(index=True)
    legal_deadline: Mapped[datetime | None]
    deadline_provisional: Mapped[bool]
    paused: Mapped[bool]
    working_days_left: Mapped[float | None]
    extension_days: Mapped[int]
    completed_at: Mapped[datetime | None]
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[dict[str, Any]] = mapped_column(JSONDoc, comment="the last ApplicationStatus")
    revision: Mapped[int]
    updated_at: Mapped[datetime]
    # 综合窗口出件: how the result reached the applicant (after the workflow closed).
    handed_over_at: Mapped[datetime | None] = mapped_column(default=None)
    handover_method: Mapped[str | None] = mapped_column(String(10), default=None)
    handover_ref: Mapped[str | None] = mapped_column(String(100), default=None)
    handed_over_by: Mapped[str | None] = mapped_column(String(100), default=None)
    # 送达 (Art 44): by when the result must reach the applicant, and that clock's card.
    delivery_deadline: Mapped[datetime | None] = mapped_column(default=None, index=True)
    delivery_sla_level: Mapped[str | None] = mapped_column(String(10), default=None)
    # What the statistics need (domain/statistics.py), kept by the projection.
    region_code: Mapped[str | None] = mapped_column(
        String(12), default=None, comment="the region that numbered it: its first six digits"
    )
    local_region: Mapped[str | None] = mapped_column(
        String(12), default=None, comment="the township or village whose agent accepted it"
    )
    received_on: Mapped[date | None] = mapped_column(
        default=None, index=True, comment="the day it was received, at the centre"
    )
    visits: Mapped[int] = mapped_column(
        default=0, server_default="0", comment="times the applicant came to a window"
    )
    acceptance_role: Mapped[str | None] = mapped_column(
        String(20), default=None, comment="who decided acceptance: clerk, admin, system"
    )
    completed_early: Mapped[bool | None] = mapped_column(
        default=None, comment="completed a working day or more before the promised deadline"
    )


class StepRow(Base):
    __tablename__ = "steps"
    __table_args__ = (
        UniqueConstraint("application_no", "code"),
        # A department's inbox: its filters, then its order (and its count, from the index).
        Index("ix_steps_inbox_paging", "department", "state", "sla_level", "deadline"),
        # Steps decided since a cutoff, by department, on time or not (the overview).
        Index("ix_steps_decided", "state", "decided_at", "department", "deadline"),
        # Open steps across departments: the chart, pending extension requests.
        Index("ix_steps_active", "state", "department", "sla_level"),
        # Departments' pending requests for more time: a handful among every step.
        Index(
            "ix_steps_extension_requests",
            "deadline",
            sqlite_where=text("extension_request IS NOT NULL"),
            postgresql_where=text("extension_request IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_no: Mapped[str] = mapped_column(
        AppNo, ForeignKey("applications.application_no", ondelete="CASCADE")
    )
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20))
    sla_level: Mapped[str] = mapped_column(String(10), index=True)
    opened_at: Mapped[datetime | None]
    deadline: Mapped[datetime | None]
    deadline_provisional: Mapped[bool]
    paused: Mapped[bool]
    working_days_left: Mapped[float | None]
    extension_days: Mapped[int]
    extension_request: Mapped[dict[str, Any] | None] = mapped_column(
        OptionalJSONDoc, comment="a department's pending request for more time"
    )
    claimed_by_id: Mapped[str | None] = mapped_column(String(64))
    claimed_by_name: Mapped[str | None] = mapped_column(String(100))
    decided_by_id: Mapped[str | None] = mapped_column(String(64))
    decided_by_name: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any]]
    reason: Mapped[str | None] = mapped_column(Text)
    # The push of the task to the department's own system (its connector), if it has one.
    push_state: Mapped[str | None] = mapped_column(String(12), default=None, index=True)
    push_attempts: Mapped[int] = mapped_column(default=0)
    push_error: Mapped[str | None] = mapped_column(Text, default=None)
    pushed_at: Mapped[datetime | None] = mapped_column(default=None)
    # A staged step's current sign-off stage, and the role that may act on it: an inbox
    # shows each member of staff the tasks waiting for their level (承办, 审核, 批准).
    stage: Mapped[str | None] = mapped_column(String(40), default=None)
    stage_role: Mapped[str | None] = mapped_column(String(12), default=None)
    revision: Mapped[int]


class EventRow(Base):
    """The audit trail: append-only, one row per transition."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("application_no", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_no: Mapped[str] = mapped_column(
        AppNo, ForeignKey("applications.application_no", ondelete="CASCADE")
    )
    seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_department: Mapped[str | None] = mapped_column(String(40))
    step_code: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]]
    # Its place in the event feed, given once the event is committed (see store.feed).
    feed_position: Mapped[int | None] = mapped_column(BigInteger, unique=True, default=None)


class MaterialRow(Base):
    """How each material arrived: the basis of the materials-saved figures."""

    __tablename__ = "materials"
    __table_args__ = (UniqueConstraint("application_no", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_no: Mapped[str] = mapped_column(
        AppNo, ForeignKey("applications.application_no", ondelete="CASCADE")
    )
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    required: Mapped[bool]
    source: Mapped[str] = mapped_column(String(10), index=True)
    ref: Mapped[str] = mapped_column(String(500), index=True)
    digest: Mapped[str] = mapped_column(String(64), default="", comment="a licence's, pinned")
    verified: Mapped[bool] = mapped_column(
        default=False,
        index=True,
        comment="obtained by the centre (licence found valid, data sharing)",
    )


class CorrectionRow(Base):
    """One correction notice (补正告知) and the applicant's answer."""

    __tablename__ = "corrections"
    __table_args__ = (UniqueConstraint("application_no", "notice_no"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    application_no: Mapped[str] = mapped_column(
        AppNo, ForeignKey("applications.application_no", ondelete="CASCADE")
    )
    notice_no: Mapped[int]
    opened_at: Mapped[datetime]
    items: Mapped[list[str]] = mapped_column(JSONDoc)
    requests: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    answered_at: Mapped[datetime | None]
    supplied: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc)
    cancelled: Mapped[bool]
    revision: Mapped[int]


class CorrectionFileRow(Base):
    """A file uploaded in answer to a correction notice: what lets the staff who may see the
    application open it (`api.services.files.may_open`), found by its reference."""

    __tablename__ = "correction_files"

    application_no: Mapped[str] = mapped_column(
        AppNo, ForeignKey("applications.application_no", ondelete="CASCADE"), primary_key=True
    )
    ref: Mapped[str] = mapped_column(String(500), primary_key=True, index=True)


class NotificationRow(Base):
    """Every message the engine left for someone, and its delivery."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_pending", "recipient", "sent_at"),
        Index("ix_notifications_inbox", "recipient", "at"),
        # Supervision's SMS figures and the undelivered ones, without reading the messages.
        Index("ix_notifications_sms", "channel", "state", "attempts", "at"),
        # SMS delivered since a cutoff (the rest are counted once a day).
        Index("ix_notifications_sms_sent", "channel", "state", "sent_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    application_no: Mapped[str] = mapped_column(
        AppNo, ForeignKey("applications.application_no", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    recipient: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    # How it travels and how far it got: the inbox holds it once written; an SMS is sent by
    # an activity, retried with backoff, and given up after the configured attempts.
    channel: Mapped[str] = mapped_column(String(10), default="inbox")
    sms_text: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)


# --- people and access -------------------------------------------------------------------


class DepartmentRow(Base):
    """Departments stationed in the centre, kept in step with definitions/departments.yaml."""

    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    head_title: Mapped[str] = mapped_column(String(100))


class UserRow(Base):
    """A member of staff: clerk, department staff (bound to one department), supervisor, admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("departments.code", ondelete="RESTRICT")
    )
    active: Mapped[bool]
    created_at: Mapped[datetime]
    # A person signs in with a password; a client is a department's own system, signing in
    # with its client id (the username) and secret (client credentials).
    kind: Mapped[str] = mapped_column(String(10), default="person")
    # Where the account works: its region's code gives the level too (six digits for the
    # city or a county, nine for a township, twelve for a village). None: the city, as every
    # account was before regions (api.services.region_scope says what each level sees).
    region_code: Mapped[str | None] = mapped_column(
        String(12), default=None, comment="the region and so the level it works at"
    )
    # Department staff: the sign-off level held in the department (handler 承办, reviewer
    # 审核, approver 批准); None: none, so no stage of a staged step is theirs.
    signoff_role: Mapped[str | None] = mapped_column(
        String(12), default=None, comment="sign-off level in the department"
    )


class TokenRow(Base):
    """A bearer token (API) or a session (pages). Only a digest of the secret is stored."""

    __tablename__ = "tokens"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    # For idle expiry: refused once unused for TONGBAN_IDLE_MINUTES.
    last_used_at: Mapped[datetime] = mapped_column(comment="recorded at most once a minute")


class IdempotencyRow(Base):
    """An Idempotency-Key seen on a submission and the application it created."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    application_no: Mapped[str] = mapped_column(AppNo)
    query_code: Mapped[str] = mapped_column(
        String(32), comment="returned again to a retried request; purged with the key"
    )
    created_at: Mapped[datetime] = mapped_column(index=True)


class NumberSequenceRow(Base):
    """The last application number issued per day."""

    __tablename__ = "number_sequences"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int]


class RatingRow(Base):
    """好差评: the applicant's rating of a closed application, and the follow-up of a bad one."""

    __tablename__ = "ratings"
    __table_args__ = (
        # Bad reviews still to follow up, by their due date.
        Index("ix_ratings_follow_up", "level", "followed_up_at", "follow_up_due"),
    )

    application_no: Mapped[str] = mapped_column(
        AppNo, ForeignKey("applications.application_no", ondelete="CASCADE"), primary_key=True
    )
    level: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str] = mapped_column(Text)
    rated_at: Mapped[datetime] = mapped_column(index=True)
    follow_up_due: Mapped[datetime | None] = mapped_column(index=True)
    followed_up_at: Mapped[datetime | None]
    followed_up_by: Mapped[str | None] = mapped_column(String(100))
    follow_up_note: Mapped[str | None] = mapped_column(Text)


# --- the electronic licence library (电子证照库) ---------------------------------------------


class LicenceRow(Base):
    """One licence, issued here or imported. Revocation is the only change a licence sees."""

    __tablename__ = "licences"
    __table_args__ = (
        # The number leads so that a look-up by number alone (a material's reference) uses
        # the same index; (type, number) is what must be unique.
        UniqueConstraint("number", "type"),
        Index("ix_licences_holder", "holder_id", "type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(64))
    holder_id: Mapped[str] = mapped_column(String(18))
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_kind: Mapped[str] = mapped_column(String(12))
    fields: Mapped[dict[str, Any]]
    issuer: Mapped[str] = mapped_column(String(100), comment="the issuing authority as printed")
    issued_on: Mapped[date]
    valid_until: Mapped[date | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    # Not a foreign key: imported licences come from no application of ours.
    application_no: Mapped[str | None] = mapped_column(AppNo, index=True)
    digest: Mapped[str] = mapped_column(String(64), comment="sha256 of the content, as pinned")
    created_at: Mapped[datetime]
    superseded_by: Mapped[str | None] = mapped_column(
        AppNo, comment="the application whose new licence replaced (换发) this revoked one"
    )


class AuditRow(Base):
    """Who looked at or changed whose protected data, and why: append-only."""

    __tablename__ = "audit_trail"
    __table_args__ = (Index("ix_audit_trail_subject", "subject", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(100), comment="whose data: holder id, username")
    application_no: Mapped[str | None] = mapped_column(AppNo, comment="why, when for a case")
    detail: Mapped[dict[str, Any]]


class ThrottleFailureRow(Base):
    """A failed guess (a query code, a password, a licence holder's name), counted against
    its keys until it expires (`store.throttle`). In the database, so that every API process,
    on every host, counts the same guesses. A key is an HMAC of what was guessed and from
    where: no username, application number, ID number or address is stored."""

    __tablename__ = "throttle_failures"
    __table_args__ = (Index("ix_throttle_failures_key", "key", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class PageSessionRow(Base):
    """A browser's page session (`api.page_sessions`): flash messages, a refused form's
    values, an applicant's signed-in identity and verified applications. The
    browser holds only a random token; the row is found by its SHA-256, so the table alone
    does not let anyone present a session."""

    __tablename__ = "page_sessions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[str] = mapped_column(Text, comment="the session as JSON")
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime] = mapped_column(
        comment="absolute end: expires_at moves on with use, never past this"
    )


class NotificationReadRow(Base):
    """Which member of staff has read which message of their inbox."""

    __tablename__ = "notification_reads"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    notification_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )
    read_at: Mapped[datetime]


class FeedSequenceRow(Base):
    """The last position given in the event feed (one row): positions follow commit order."""

    __tablename__ = "feed_sequence"

    id: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger)


class SubscriptionRow(Base):
    """A receiver of the event feed (the provincial platform, a data exchange)."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(
        String(200), comment="signs each delivery (Standard Webhooks); the receiver holds it too"
    )
    types: Mapped[list[str]] = mapped_column(JSONDoc, comment="event kinds; empty: all")
    cursor: Mapped[int] = mapped_column(BigInteger, default=0, comment="last position sent")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    delivered: Mapped[int] = mapped_column(BigInteger, default=0)
    last_delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    failing_since: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


# --- the catalogue at a city's scale (事项目录) ---------------------------------------------


class CatalogueEntryRow(Base):
    """One matter as one region lists it: the hand-made matters (the city's, kept in step
    with their definitions) and the demonstration entries of `tongban catalogue generate`."""

    __tablename__ = "catalogue_entries"
    __table_args__ = (Index("ix_catalogue_entries_region", "region_code", "level"),)

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    base_code: Mapped[str] = mapped_column(String(40), comment="the matter it lists")
    region_code: Mapped[str] = mapped_column(String(12))
    level: Mapped[str] = mapped_column(String(10))
    department: Mapped[str] = mapped_column(String(40), index=True)
    department_name: Mapped[str] = mapped_column(String(100))
    agency: Mapped[str] = mapped_column(String(100))
    keywords: Mapped[str] = mapped_column(String(500), comment="separated by spaces")
    pinyin: Mapped[str] = mapped_column(String(600), comment="企业开办: qiyekaiban")
    initials: Mapped[str] = mapped_column(String(200), comment="企业开办: qykb")
    search_text: Mapped[str] = mapped_column(
        Text, comment="name|keywords|pinyin|initials, normalised: for queries in letters"
    )
    search_words: Mapped[str] = mapped_column(
        Text, comment="name|keywords, normalised: for queries in characters (half as long)"
    )
    kind: Mapped[str] = mapped_column(String(10))
    promised_limit_days: Mapped[int]
    legal_limit_days: Mapped[int]
    online: Mapped[bool] = mapped_column(comment="可网上办理 (online or on a phone)")
    materials_count: Mapped[int]
    materials_asked: Mapped[int] = mapped_column(comment="required, not by data sharing")
    status: Mapped[str] = mapped_column(String(12))
    version: Mapped[int]
    effective_from: Mapped[date]
    demo: Mapped[bool] = mapped_column(comment="demonstration data, no definition behind it")
    sort_key: Mapped[str] = mapped_column(
        String(80), index=True, comment="the listing's order: hand-made, level, region, code"
    )


# --- the seed's statistics -----------------------------------------------------------------


class DailyStatisticsRow(Base):
    """The figures' counts of the applications received on one day, in one region, of one
    matter (domain.statistics.Counts): past days are read from here, not from applications."""

    __tablename__ = "daily_statistics"

    day: Mapped[date] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    matter_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    applications: Mapped[int]
    online: Mapped[int]
    fully_online: Mapped[int]
    acceptance_decided: Mapped[int]
    one_window: Mapped[int]
    at_most_one_visit: Mapped[int]
    completed: Mapped[int]
    on_time: Mapped[int]
    early: Mapped[int]
    very_satisfied: Mapped[int]
    satisfied: Mapped[int]
    basically_satisfied: Mapped[int]
    dissatisfied: Mapped[int]
    very_dissatisfied: Mapped[int]


class StatisticsDayRow(Base):
    """A day whose aggregates were computed: when, and whether an application received that
    day has changed since (then the day is computed live until it is refreshed again)."""

    __tablename__ = "statistics_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    refreshed_at: Mapped[datetime]
    stale: Mapped[bool]
