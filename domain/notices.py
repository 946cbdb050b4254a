"""The messages the engine leaves for people (notifications), and the values each carries.

A notification names its notice (`accepted`, `step_red`, …) and the values that fill it;
its words are data (definitions/notifications.yaml), checked at load against the values the
engine gives each notice. Who it is for decides how it travels: the applicant by SMS, staff
in their inbox in the pages.
"""

from __future__ import annotations

from enum import StrEnum

from domain.events import APPLICANT


class NoticeChannel(StrEnum):
    sms = "sms"  # to the applicant's phone, through the SMS gateway
    inbox = "inbox"  # to staff, in the pages (a bell with the unread count)

    @property
    def label(self) -> str:
        return {"sms": "短信", "inbox": "站内消息"}[self.value]


def channel_for(recipient: str) -> NoticeChannel:
    return NoticeChannel.sms if recipient == APPLICANT else NoticeChannel.inbox


class DeliveryState(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"  # given up after the configured number of attempts

    @property
    def label(self) -> str:
        return {"pending": "待发送", "sent": "已送达", "failed": "发送失败"}[self.value]


# Every notice carries these; the ones below carry more.
COMMON_VARIABLES = frozenset({"application_no", "matter_name"})

NOTICE_VARIABLES: dict[str, frozenset[str]] = {
    # to the applicant
    "received": frozenset({"acceptance_due"}),
    "accepted": frozenset({"deadline"}),
    "not_accepted": frozenset({"reason"}),
    "correction": frozenset({"notice_no", "items"}),
    "correction_due": frozenset({"notice_no", "items", "answer_due"}),
    "acceptance_correction": frozenset({"notice_no", "items"}),
    "acceptance_correction_due": frozenset({"notice_no", "items", "answer_due"}),
    "terminated": frozenset({"reason"}),
    "extended": frozenset({"step_name", "days", "reason"}),
    "refused": frozenset({"step_name", "reason"}),
    "special_started": frozenset({"step_name", "procedure", "days", "until"}),
    "special_ended": frozenset({"step_name", "procedure"}),
    "granted": frozenset(),
    "licence_issued": frozenset({"licence_name", "number"}),
    "handed_over": frozenset({"how"}),
    "accepted_with_missing": frozenset({"deadline", "items", "due"}),
    "missing_yellow": frozenset({"items", "due"}),
    "missing_supplied": frozenset({"items"}),
    "granted_on_commitment": frozenset({"verification_due"}),
    "revoked": frozenset({"reason"}),
    "licence_revoked": frozenset({"licence_name", "number", "reason"}),
    # to staff
    "application_received": frozenset(),
    "acceptance_supplied": frozenset({"acceptance_due"}),
    "task_opened": frozenset({"step_name", "deadline"}),
    "task_cancelled": frozenset({"step_name"}),
    "stage_waiting": frozenset({"step_name", "stage", "role", "deadline"}),
    "stage_sent_back": frozenset({"step_name", "stage", "reason"}),
    "auto_decided": frozenset({"step_name", "decision", "rule"}),
    "supplied": frozenset({"step_name"}),
    "step_returned": frozenset({"step_name", "department", "reason"}),
    "task_rerouted": frozenset({"step_name", "deadline", "department"}),
    "correction_lapsed": frozenset(),
    "reminder": frozenset({"step_name", "deadline"}),
    "extension_requested": frozenset({"step_name", "days"}),
    "extension_refused": frozenset({"step_name"}),
    "extension_granted": frozenset({"step_name"}),
    "matter_yellow": frozenset(),
    "matter_red": frozenset(),
    "matter_serious": frozenset(),
    "step_yellow": frozenset({"step_name"}),
    "step_red": frozenset({"step_name"}),
    "step_serious": frozenset({"step_name"}),
    "step_deemed": frozenset({"step_name"}),
    "special_yellow": frozenset({"step_name", "procedure", "deadline"}),
    "special_red": frozenset({"step_name", "procedure", "deadline"}),
    "supervision_order": frozenset({"step_name", "order_no", "deadline", "demand"}),
    "supervision_answered": frozenset({"step_name", "order_no"}),
    "order_yellow": frozenset({"step_name", "order_no", "deadline"}),
    "order_red": frozenset({"step_name", "order_no", "deadline"}),
    "delivery_yellow": frozenset(),
    "delivery_red": frozenset(),
    "licence_not_issued": frozenset({"licence_name", "problem"}),
    "licence_not_restored": frozenset({"licence_name", "number"}),
    "push_failing": frozenset({"step_name"}),
    "missing_lapsed": frozenset(),
    "verification_opened": frozenset({"step_name", "deadline"}),
    "verification_yellow": frozenset({"step_name", "deadline"}),
    "verification_red": frozenset({"step_name", "deadline"}),
    "decision_revoked": frozenset({"reason"}),
}
