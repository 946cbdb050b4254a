"""How events and codes read on the pages, in Chinese."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from domain.application import MaterialSource
from domain.events import EventKind
from domain.matter import Channel, SpecialProcedureKind
from domain.ratings import RatingLevel
from domain.states import SlaLevel

# Labels by value, for templates that hold plain strings from the read model.
SLA_NAMES = {level.value: level.short_label for level in SlaLevel}
CHANNEL_NAMES = {channel.value: channel.label for channel in Channel}
SOURCE_NAMES = {source.value: source.label for source in MaterialSource}
EVENT_NAMES = {kind.value: kind.label for kind in EventKind}
RATING_LABELS = {level.value: level.label for level in RatingLevel}


# Whose card it is: the matter's, a step's, or a supervision order's or special procedure's.
_SPECIAL_NAMES = {k.value: k.label for k in SpecialProcedureKind}
_CARD_SCOPES = {"matter": "办件", "step": "环节", "order": "督办单", "special": "特别程序"}


def _at(value: Any, tz: tzinfo) -> str:
    try:
        return datetime.fromisoformat(str(value)).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return "—"


def recipient(address: str, department_name: Callable[[str], str]) -> str:
    """`dept_head:amr` -> 市场监管局负责人: who an escalation went to."""
    kind, _, code = address.partition(":")
    return {
        "supervisors": "电子监察人员",
        "dept_head": f"{department_name(code)}负责人",
        "leader": f"{department_name(code)}分管领导",
        "dept": department_name(code),
    }.get(kind, address)


def _names(values: Any, key: str | None = None) -> str:
    return "、".join(str(v.get(key) if key else v) for v in values or [])


def _facts(facts: Any) -> str:
    """The facts a 秒批 rule read, each as `name=value` (a licence by its number)."""
    if not isinstance(facts, dict):
        return "—"
    shown = []
    for name, value in facts.items():
        if isinstance(value, dict):
            value = value.get("number", "")
        shown.append(f"{name}={value}")
    return "，".join(shown) or "—"


def describe_event(
    kind: str, payload: dict[str, Any], tz: tzinfo, department_name: Callable[[str], str]
) -> str:
    """One line a supervisor can read, instead of the raw payload."""
    p = payload
    channel = CHANNEL_NAMES.get(str(p.get("channel")), "")
    match kind:
        case "received":
            return f"{channel}；受理期限 {_at(p.get('acceptance_due'), tz)}"
        case "accepted" | "deemed_accepted":
            return f"{channel}；材料 {len(p.get('materials') or [])} 份"
        case "step_opened":
            return f"时限 {p.get('limit_days')} 个工作日"
        case "approved":
            return "结果：" + "；".join(str(v) for v in (p.get("result") or {}).values())
        case "correction_requested":
            return f"第{p.get('notice_no')}号：{_names(p.get('items'))}（{p.get('reason', '')}）"
        case "correction_lapsed":
            return f"第{p.get('notice_no')}号补正期限 {p.get('answer_due', '')} 已过"
        case "correction_supplied":
            return "已补正：" + _names(p.get("items"), "item")
        case "rejected" | "refused" | "not_accepted" | "withdrawn":
            return f"理由：{p.get('reason') or '—'}"
        case "card_raised":
            scope = _CARD_SCOPES.get(str(p.get("scope")), "环节")
            return f"{SLA_NAMES.get(str(p.get('level')), '')}（{scope}）"
        case "escalated":
            return "督办：" + "、".join(
                recipient(str(t), department_name) for t in p.get("to") or []
            )
        case "step_returned":
            return f"{department_name(str(p.get('department')))}退单：{p.get('reason', '')}"
        case "step_rerouted":
            before = department_name(str(p.get("department_before")))
            return f"{before} → {department_name(str(p.get('department')))}"
        case "supervision_ordered":
            days = p.get("working_days")
            return f"第{p.get('order_no')}号，{days} 个工作日内书面答复：{p.get('demand', '')}"
        case "supervision_answered":
            return f"第{p.get('order_no')}号：{p.get('answer', '')}"
        case "special_started":
            name = _SPECIAL_NAMES.get(str(p.get("procedure")), "")
            return f"{name} {p.get('working_days')} 个工作日（{p.get('reason', '')}）"
        case "special_ended":
            name = _SPECIAL_NAMES.get(str(p.get("procedure")), "")
            return f"{name}结束：{p.get('outcome', '')}"
        case "stage_passed":
            return (
                f"{p.get('stage_name')}意见：{p.get('opinion', '')}；转{p.get('next_stage_name')}"
            )
        case "stage_sent_back":
            return f"{p.get('stage_name')}退回{p.get('to_stage_name')}：{p.get('reason', '')}"
        case "auto_decided":
            verdict = "通过" if p.get("decision") == "approve" else "不予通过"
            return (
                f"规则{p.get('rule_no')}“{p.get('rule')}”{verdict}；依据：{_facts(p.get('facts'))}"
            )
        case "auto_undecided":
            return "；".join(str(x) for x in p.get("why_not") or [])
        case "extension_requested":
            return f"申请延期 {p.get('working_days')} 个工作日（{p.get('reason', '')}）"
        case "extension_refused":
            return f"不予延期（{p.get('reason', '')}）"
        case "extended":
            moved = f"{_at(p.get('deadline_before'), tz)} → {_at(p.get('deadline_after'), tz)}"
            return f"延期 {p.get('working_days')} 个工作日（{p.get('reason', '')}）：{moved}"
        case "calendar_changed":
            return (
                f"承诺办结 {_at(p.get('deadline_before'), tz)} → {_at(p.get('deadline_after'), tz)}"
            )
        case "handed_over":
            method = "窗口出件" if p.get("method") == "window" else "邮寄"
            return f"{method} {p.get('ref') or ''}".strip()
        case "rated":
            return (
                f"{p.get('label')}：{p.get('reason')}" if p.get("reason") else str(p.get("label"))
            )
        case "review_followed_up":
            return str(p.get("note", ""))
    return ""
