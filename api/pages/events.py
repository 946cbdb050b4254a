"""How events and codes read on the pages, in Chinese."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

SLA_NAMES = {"green": "绿牌", "yellow": "黄牌", "red": "红牌", "serious": "严重超时"}
CHANNEL_NAMES = {"online": "网上办", "mobile": "掌上办", "window": "窗口办"}
SOURCE_NAMES = {"upload": "上传", "licence": "电子证照", "sharing": "数据共享", "paper": "纸质材料"}
EVENT_NAMES = {
    "received": "收件（网上申请）",
    "accepted": "受理",
    "deemed_accepted": "逾期未作受理决定，视为受理",
    "not_accepted": "不予受理",
    "step_opened": "环节开始办理",
    "claimed": "签收",
    "released": "退回待办",
    "approved": "审批通过",
    "rejected": "不予通过",
    "refused": "办结（不予许可）",
    "granted": "办结（准予）",
    "correction_requested": "一次性告知补正",
    "correction_supplied": "申请人补正",
    "withdrawn": "申请人撤回",
    "step_cancelled": "环节取消",
    "card_raised": "亮牌",
    "escalated": "超时督办",
    "deemed_approved": "逾期未反馈，视为同意",
    "extended": "批准延期",
    "calendar_changed": "工作日历更新",
    "handed_over": "出件",
    "rated": "好差评",
    "review_followed_up": "差评整改回访",
}


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
        case "correction_supplied":
            return "已补正：" + _names(p.get("items"), "item")
        case "rejected" | "refused" | "not_accepted" | "withdrawn":
            return f"理由：{p.get('reason') or '—'}"
        case "card_raised":
            scope = "办件" if p.get("scope") == "matter" else "环节"
            return f"{SLA_NAMES.get(str(p.get('level')), '')}（{scope}）"
        case "escalated":
            return "督办：" + "、".join(
                recipient(str(t), department_name) for t in p.get("to") or []
            )
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
