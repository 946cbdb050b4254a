"""The seed's statistics (政务服务统计): what each figure counts, in one place.

The figures of applications follow a cohort: the applications received (收件, or accepted or
refused on the spot at a window) on the days of the period, in a region and what lies under
it. Each application carries what its figures need, kept by the projection as its case moves
on: its region (its number's first six digits), the day it was received, the visits it cost
its applicant, who decided on its acceptance, and whether it was completed early. The
catalogue's figures describe the catalogue as it stands, in the same region.

docs/domain.md, "Statistics", is the same text for people.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from domain.actors import Role
from domain.calendar import WorkCalendar
from domain.events import EventKind
from domain.ratings import RatingLevel
from domain.states import ApplicationState

# --- what the projection keeps --------------------------------------------------------------

# 一网通办: applied for online or on a phone.
ONLINE_CHANNELS = ("online", "mobile")
# Who acts at the comprehensive window (综合窗口): its clerks, and an administrator standing
# in for one. `system` decides acceptance by law (Art 32) after five working days: the
# application was received by the comprehensive window, so that counts as one window too.
WINDOW_ROLES = (Role.clerk.value, Role.admin.value)
ONE_WINDOW_ROLES = (*WINDOW_ROLES, Role.system.value)
# Actions the applicant brings to a window in person, when a window clerk records them
# (materials accepted missing, 容缺, brought in later are a trip of their own).
VISIT_EVENTS = (
    EventKind.correction_supplied.value,
    EventKind.withdrawn.value,
    EventKind.missing_supplied.value,
)
# The events that decide on acceptance (the first one is the decision).
ACCEPTANCE_EVENTS = (
    EventKind.accepted.value,
    EventKind.deemed_accepted.value,
    EventKind.not_accepted.value,
)
# The events after which some figure of the application may read differently.
FIGURE_EVENTS = frozenset(
    {
        EventKind.received,
        *ACCEPTANCE_EVENTS,
        *VISIT_EVENTS,
        EventKind.granted,
        EventKind.refused,
        EventKind.handed_over,
        # The end of a case without a decision, or a decision undone: its state changes what
        # it counts for (completed, nothing to collect).
        EventKind.correction_lapsed,
        EventKind.missing_lapsed,
        EventKind.revoked,
    }
)
COMPLETED = (ApplicationState.granted.value, ApplicationState.refused.value)
# A decision undone after the grant (撤销 after a failed verification; 终止 when materials
# accepted missing were not handed in after it). *Our choice:* the application was completed
# (办结) when it was granted, on time or not as it was then; what happened after does not
# undo the department's work. Terminated without a decision (a correction or 容缺 deadline
# before the grant) it was never completed. The projection marks a decision by
# `completed_early` (kept for every granted or refused application), which tells the two
# terminated ones apart.
UNDONE = (ApplicationState.revoked.value, ApplicationState.terminated.value)
# Decisions that leave nothing to collect: their notices reach the applicant electronically
# (a result revoked or terminated is not collected either).
NOTHING_TO_COLLECT = (
    ApplicationState.refused.value,
    ApplicationState.not_accepted.value,
    ApplicationState.withdrawn.value,
    ApplicationState.terminated.value,
    ApplicationState.revoked.value,
)


def completed_early(calendar: WorkCalendar, completed_at: datetime, deadline: datetime) -> bool:
    """提前办结: completed at least one working day before the promised deadline, that is,
    the working day the completion counts for (the day itself before closing time, else the
    next working day) comes before the working day of the deadline."""
    return calendar.day_zero(completed_at) < calendar.local(deadline).date()


# --- the figures ------------------------------------------------------------------------------


@dataclass
class Counts:
    """What the figures of applications are computed from; it adds up across days, regions
    and matters (the daily aggregates hold these)."""

    applications: int = 0
    online: int = 0  # applied for online or on a phone
    fully_online: int = 0  # …and no visit at all, nothing to collect at a window
    acceptance_decided: int = 0  # acceptance decided (accepted, deemed accepted, refused)
    one_window: int = 0  # …by the comprehensive window
    at_most_one_visit: int = 0
    completed: int = 0  # 办结: granted or refused (granted, then revoked or terminated, too)
    on_time: int = 0  # …by the promised deadline
    early: int = 0  # …at least one working day before it
    very_satisfied: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    dissatisfied: int = 0
    very_dissatisfied: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in _FIELDS})

    def ratings(self) -> dict[str, int]:
        return {level.value: getattr(self, level.value) for level in RatingLevel}


_FIELDS = fields(Counts)
COUNT_NAMES = tuple(f.name for f in _FIELDS)


@dataclass
class CatalogueCounts:
    """The catalogue's entries in force (not suspended, not cancelled) in a region."""

    entries: int = 0
    online: int = 0
    promised_days: int = 0  # summed over the entries
    materials_asked: int = 0  # summed over the entries


def share(part: int, whole: int) -> float | None:
    """A rate between 0 and 1 (four decimals); None when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


def mean(total: int, count: int) -> float | None:
    return round(total / count, 2) if count else None


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    definition: str
    unit: str  # "rate", "days", "count", "materials"


# The figures, in the order they are shown and exported, each with its definition.
FIGURES = (
    Figure(
        "applications",
        "办件量",
        "统计期内收件（网上申请提交，或在窗口当场受理、不予受理）的申请件数；"
        "以下各项办件指标都以这些申请为统计对象。",
        "count",
    ),
    Figure(
        "online_available_rate",
        "网上可办率",
        "所选区域（含下辖区域）、层级的事项目录中，现行有效（未暂停、未取消）且可通过网上或掌上"
        "渠道申请的事项数 ÷ 现行有效事项数。按目录现状计算，不随统计期变化。",
        "rate",
    ),
    Figure(
        "one_network_rate",
        "一网通办率",
        "通过网上或掌上（手机）渠道提交的申请 ÷ 办件量。",
        "rate",
    ),
    Figure(
        "fully_online_rate",
        "全程网办率",
        "网上或掌上提交、全程未到窗口（跑动次数为 0），且结果无需到窗口领取（邮寄送达；"
        "或为不予许可、不予受理、撤回，文书电子送达）的申请 ÷ 办件量。办件口径：公布的"
        "“事项全程网办率”以事项计，与本项不同。",
        "rate",
    ),
    Figure(
        "one_window_rate",
        "一窗受理率",
        "由综合窗口作出受理决定（综合窗口工作人员受理或不予受理，或网上收件后逾期依法视为受理）"
        "的申请 ÷ 已作出受理决定的申请（待受理的不计）。部门自设窗口受理的不计入分子；"
        "目前所有受理均经综合窗口，故该率为 1，部门窗口接入后自动反映。办件口径：公布的"
        "“进驻事项实现一窗受理比例”以事项计，与本项不同。",
        "rate",
    ),
    Figure(
        "at_most_one_visit_rate",
        "最多跑一次率",
        "跑动次数不超过 1 次的申请 ÷ 办件量。跑动次数：窗口当场申请 1 次，到窗口补正 1 次，"
        "到窗口补交容缺材料 1 次，到窗口撤回 1 次，到窗口领取结果 1 次（均以窗口工作人员的"
        "记录为准）。",
        "rate",
    ),
    Figure(
        "average_promised_days",
        "平均承诺时限",
        "所选区域、层级现行有效事项的承诺办结时限（工作日）的平均值；即办件计 0。",
        "days",
    ),
    Figure(
        "average_materials",
        "平均申请材料数",
        "所选区域、层级现行有效事项需申请人提交的材料数的平均值：必交材料中，"
        "可通过数据共享获取的不计。",
        "materials",
    ),
    Figure(
        "on_time_rate",
        "按时办结率",
        "办结（准予或不予许可）时间不晚于承诺办结时间（含依法延期、补正暂停顺延）的申请"
        " ÷ 办结件数。",
        "rate",
    ),
    Figure(
        "early_rate",
        "提前办结率",
        "至少提前一个工作日办结的申请 ÷ 办结件数：办结所计工作日（当日下班前办结为当日，"
        "否则为下一个工作日）早于承诺办结时间所在的工作日。",
        "rate",
    ),
    Figure(
        "ratings",
        "好差评",
        "上述申请收到的评价按五个等级（非常满意、满意、基本满意、不满意、非常不满意）分布的件数。",
        "count",
    ),
)
FIGURE_KEYS = tuple(f.key for f in FIGURES)
