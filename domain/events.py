"""The engine's vocabulary of what happened to an application and whom it told.

Events are the audit trail (append-only, numbered per application); notifications are the
messages a transition leaves for people, addressed to roles. The workflow writes both, and so
does the API for what happens after the workflow has closed (hand-over, rating), so they live
here, where neither has to reach into the other.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from domain.actors import Actor


class EventKind(StrEnum):
    received = "received"
    accepted = "accepted"
    deemed_accepted = "deemed_accepted"
    not_accepted = "not_accepted"
    step_opened = "step_opened"
    step_pushed = "step_pushed"
    claimed = "claimed"
    released = "released"
    approved = "approved"
    rejected = "rejected"
    refused = "refused"
    granted = "granted"
    correction_requested = "correction_requested"
    correction_supplied = "correction_supplied"
    correction_lapsed = "correction_lapsed"
    withdrawn = "withdrawn"
    step_cancelled = "step_cancelled"
    step_returned = "step_returned"
    step_rerouted = "step_rerouted"
    card_raised = "card_raised"
    escalated = "escalated"
    special_started = "special_started"
    special_ended = "special_ended"
    stage_passed = "stage_passed"
    stage_sent_back = "stage_sent_back"
    auto_decided = "auto_decided"
    auto_undecided = "auto_undecided"
    supervision_ordered = "supervision_ordered"
    supervision_answered = "supervision_answered"
    deemed_approved = "deemed_approved"
    extension_requested = "extension_requested"
    extension_refused = "extension_refused"
    extended = "extended"
    calendar_changed = "calendar_changed"
    licence_issued = "licence_issued"
    licence_not_issued = "licence_not_issued"
    handed_over = "handed_over"
    accepted_with_missing = "accepted_with_missing"
    missing_supplied = "missing_supplied"
    missing_lapsed = "missing_lapsed"
    approved_on_commitment = "approved_on_commitment"
    verification_opened = "verification_opened"
    verification_passed = "verification_passed"
    verification_failed = "verification_failed"
    revoked = "revoked"
    licence_revoked = "licence_revoked"
    licence_superseded = "licence_superseded"
    licence_restored = "licence_restored"
    rated = "rated"
    review_followed_up = "review_followed_up"

    @property
    def label(self) -> str:
        return _EVENT_LABELS[self]


_EVENT_LABELS = {
    EventKind.received: "收件（网上申请）",
    EventKind.accepted: "受理",
    EventKind.deemed_accepted: "逾期未作受理决定，视为受理",
    EventKind.not_accepted: "不予受理",
    EventKind.step_opened: "环节开始办理",
    EventKind.step_pushed: "任务已推送至部门系统",
    EventKind.claimed: "签收",
    EventKind.released: "退回待办",
    EventKind.approved: "审批通过",
    EventKind.rejected: "不予通过",
    EventKind.refused: "办结（不予许可）",
    EventKind.granted: "办结（准予）",
    EventKind.correction_requested: "一次性告知补正",
    EventKind.correction_supplied: "申请人补正",
    EventKind.correction_lapsed: "逾期未补正，终止办理",
    EventKind.withdrawn: "申请人撤回",
    EventKind.step_cancelled: "环节取消",
    EventKind.step_returned: "退单（非本部门事项）",
    EventKind.step_rerouted: "改派",
    EventKind.card_raised: "亮牌",
    EventKind.escalated: "超时督办",
    EventKind.special_started: "启动特别程序（不计入办理时限）",
    EventKind.special_ended: "特别程序结束",
    EventKind.stage_passed: "分级签署",
    EventKind.stage_sent_back: "退回上一级",
    EventKind.auto_decided: "秒批（规则自动审批）",
    EventKind.auto_undecided: "规则无法自动审批，转人工办理",
    EventKind.supervision_ordered: "下达督办单",
    EventKind.supervision_answered: "督办书面答复",
    EventKind.deemed_approved: "逾期未反馈，视为同意",
    EventKind.extension_requested: "延期申请",
    EventKind.extension_refused: "不予延期",
    EventKind.extended: "批准延期",
    EventKind.calendar_changed: "工作日历更新",
    EventKind.licence_issued: "电子证照生成",
    EventKind.licence_not_issued: "电子证照未能生成",
    EventKind.handed_over: "出件",
    EventKind.accepted_with_missing: "容缺受理（申请人书面承诺限期补齐）",
    EventKind.missing_supplied: "容缺材料补交",
    EventKind.missing_lapsed: "逾期未补齐容缺材料，终止办理",
    EventKind.approved_on_commitment: "告知承诺，当场审批通过",
    EventKind.verification_opened: "承诺核查开始",
    EventKind.verification_passed: "承诺核查通过",
    EventKind.verification_failed: "承诺核查不符",
    EventKind.revoked: "撤销审批决定",
    EventKind.licence_revoked: "电子证照注销",
    EventKind.licence_superseded: "原证照注销（换发）",
    EventKind.licence_restored: "原证照恢复有效",
    EventKind.rated: "好差评",
    EventKind.review_followed_up: "差评整改回访",
}


class Event(BaseModel):
    """One transition, as the audit trail keeps it (append-only)."""

    seq: int
    at: datetime
    kind: EventKind
    actor: Actor
    step_code: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class Notification(BaseModel):
    """A message for the outbox; `recipient` is a role address such as `dept_head:amr`.

    `kind` names its notice and `values` fill that notice's template (the words are data:
    definitions/notifications.yaml). Histories recorded before templates carry the words in
    `subject` and `body` instead."""

    id: str
    at: datetime
    recipient: str
    kind: str
    values: dict[str, str] = Field(default_factory=dict)
    subject: str = ""
    body: str = ""


# --- recipients: role addresses, resolved to people when a message is delivered -----------

APPLICANT = "applicant"
SUPERVISORS = "supervisors"
WINDOW = "window"


def department(code: str) -> str:
    return f"dept:{code}"


def department_head(code: str) -> str:
    return f"dept_head:{code}"


def leader(code: str) -> str:
    return f"leader:{code}"
