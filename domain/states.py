"""The states an application, a step and a supervision card can be in (docs/domain.md)."""

from __future__ import annotations

from enum import StrEnum


class ApplicationState(StrEnum):
    received = "received"  # 收件: submitted online, the window has yet to accept it
    accepted = "accepted"  # 受理
    in_progress = "in_progress"  # 在办
    correction = "correction"  # 补齐补正: waiting for the applicant
    granted = "granted"  # 办结（准予）
    refused = "refused"  # 办结（不予许可）
    not_accepted = "not_accepted"  # 不予受理 (decided at the window, no workflow)
    withdrawn = "withdrawn"  # 撤回
    terminated = "terminated"  # 终止: a correction or 容缺 deadline passed unanswered
    revoked = "revoked"  # 撤销: decided on a commitment (告知承诺) that failed verification

    @property
    def final(self) -> bool:
        return self in _FINAL_APPLICATION

    @property
    def label(self) -> str:
        return _APPLICATION_LABELS[self]


_FINAL_APPLICATION = {
    ApplicationState.granted,
    ApplicationState.refused,
    ApplicationState.not_accepted,
    ApplicationState.withdrawn,
    ApplicationState.terminated,
    ApplicationState.revoked,
}
_APPLICATION_LABELS = {
    ApplicationState.received: "待受理",
    ApplicationState.accepted: "已受理",
    ApplicationState.in_progress: "办理中",
    ApplicationState.correction: "待补正",
    ApplicationState.granted: "已办结（准予）",
    ApplicationState.refused: "已办结（不予许可）",
    ApplicationState.not_accepted: "不予受理",
    ApplicationState.withdrawn: "已撤回",
    ApplicationState.terminated: "已终止",
    ApplicationState.revoked: "已撤销",
}


class StepState(StrEnum):
    waiting = "waiting"  # its `needs` are not all approved yet
    open = "open"  # in the department's inbox
    claimed = "claimed"  # a member of staff is working on it
    correction = "correction"  # waiting for the applicant's correction
    returned = "returned"  # 退单: its department says it is not theirs; awaiting 改派
    special = "special"  # 特别程序 (Art 45) under way: its clock (and the matter's) stopped
    # 告知承诺: approved at acceptance on the applicant's commitment; its department still
    # owes the verification (核查). It counts as approved; a failed one revokes the decision.
    verifying = "verifying"
    approved = "approved"
    deemed_approved = "deemed_approved"  # 视为同意: no opinion in time
    rejected = "rejected"
    cancelled = "cancelled"

    @property
    def active(self) -> bool:
        """The department still owes a decision (its clock may be running)."""
        return self in (
            StepState.open,
            StepState.claimed,
            StepState.correction,
            StepState.returned,  # its clock runs on: the matter's promise still holds
            StepState.special,
        )

    @property
    def done(self) -> bool:
        return self in (StepState.approved, StepState.deemed_approved, StepState.verifying)

    @property
    def final(self) -> bool:
        return self in (
            StepState.approved,
            StepState.deemed_approved,
            StepState.verifying,  # decided; the verification is a record of its own
            StepState.rejected,
            StepState.cancelled,
        )

    @property
    def label(self) -> str:
        return _STEP_LABELS[self]


_STEP_LABELS = {
    StepState.waiting: "等待前置环节",
    StepState.open: "待办",
    StepState.claimed: "办理中",
    StepState.correction: "待补正",
    StepState.returned: "退单待改派",
    StepState.special: "特别程序中",
    StepState.verifying: "承诺核查中",
    StepState.approved: "已通过",
    StepState.deemed_approved: "视为同意",
    StepState.rejected: "不予通过",
    StepState.cancelled: "已取消",
}


class SlaLevel(StrEnum):
    """Supervision card (电子监察亮牌). A card only ever rises."""

    green = "green"
    yellow = "yellow"  # near the limit
    red = "red"  # over the promised limit
    serious = "serious"  # over the legal limit

    @property
    def rank(self) -> int:
        return _SLA_ORDER.index(self)

    @property
    def label(self) -> str:
        return _SLA_LABELS[self]

    @property
    def short_label(self) -> str:
        return _SLA_LABELS[self].split("（")[0]

    @classmethod
    def highest(cls, levels: list[SlaLevel]) -> SlaLevel:
        return max(levels, key=lambda lv: lv.rank, default=cls.green)


_SLA_ORDER = [SlaLevel.green, SlaLevel.yellow, SlaLevel.red, SlaLevel.serious]
_SLA_LABELS = {
    SlaLevel.green: "绿牌（正常）",
    SlaLevel.yellow: "黄牌（预警）",
    SlaLevel.red: "红牌（超承诺时限）",
    SlaLevel.serious: "严重超时（超法定时限）",
}
