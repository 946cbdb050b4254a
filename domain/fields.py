"""Checking values entered into definition-driven fields (application forms, step results)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from domain.identifiers import credit_code_problem, id_number_problem
from domain.matter import FieldSpec, FieldType

_PHONE = re.compile(r"^1\d{10}$|^0\d{2,3}-?\d{7,8}$")


def field_problem(spec: FieldSpec, value: Any, *, today: date | None = None) -> str | None:
    """Why `value` does not fit `spec` (in words for the person entering it), or None.

    `today` lets an ID number's birth date be checked against the calendar."""
    text = "" if value is None else str(value).strip()
    if not text:
        return "必填" if spec.required else None
    if len(text) > 2000:
        return "内容过长（最多2000字）"
    match spec.type:
        case FieldType.number:
            try:
                number = float(text)
            except ValueError:
                return "应为数字"
            if number < 0:
                return "不能为负数"
        case FieldType.date:
            try:
                date.fromisoformat(text)
            except ValueError:
                return "应为日期（YYYY-MM-DD）"
        case FieldType.select:
            if text not in spec.options:
                return f"应为以下之一：{'、'.join(spec.options)}"
        case FieldType.phone:
            if not _PHONE.match(text):
                return "不是有效的电话号码"
        case FieldType.id_number:
            return id_number_problem(text, today=today)
        case FieldType.credit_code:
            return credit_code_problem(text)
    return None


def fields_problems(
    specs: Sequence[FieldSpec], values: Mapping[str, Any], *, today: date | None = None
) -> dict[str, str]:
    """Every problem by field code, unknown fields included."""
    known = {s.code for s in specs}
    problems = {code: "未定义的字段" for code in values if code not in known}
    for spec in specs:
        problem = field_problem(spec, values.get(spec.code), today=today)
        if problem:
            problems[spec.code] = problem
    return problems


def clean_fields(specs: Sequence[FieldSpec], values: Mapping[str, Any]) -> dict[str, str]:
    """The values as stored: trimmed text, upper-case identifiers, empty optionals dropped."""
    out: dict[str, str] = {}
    for spec in specs:
        text = str(values.get(spec.code) or "").strip()
        if spec.type in (FieldType.id_number, FieldType.credit_code):
            text = text.upper()
        if text:
            out[spec.code] = text
    return out
