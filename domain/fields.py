"""Values entered into definition-driven fields (application forms, step results).

One field type has one JSON shape wherever it is used: a `number` is a JSON number, every
other type is a string. Input is read leniently (a number may come as digits in a string, as
an HTML form sends it) and stored in that one shape, so a form field and a result field of
the same type accept and hold exactly the same values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any

from pydantic import Field, StrictFloat, StrictInt, StrictStr

from domain.identifiers import credit_code_problem, id_number_problem
from domain.matter import FieldSpec, FieldType

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PHONE = re.compile(r"^1\d{10}$|^0\d{2,3}-?\d{7,8}$", re.ASCII)  # not fullwidth digits
MAX_TEXT = 2000

# What a client may send for one field (booleans, lists and objects are not field values).
FieldValue = Annotated[
    StrictStr | StrictInt | StrictFloat,
    Field(description="a JSON number for `number` fields, otherwise a string"),
]
FieldValues = dict[str, FieldValue | None]


def _number(value: Any) -> float | None:
    """The number in `value` (a JSON number, or digits in a string), if there is one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def field_problem(spec: FieldSpec, value: Any, *, today: date | None = None) -> str | None:
    """Why `value` does not fit `spec` (in words for the person entering it), or None.

    `today` lets an ID number's birth date be checked against the calendar."""
    text = "" if value is None else str(value).strip()
    if not text:
        return "必填" if spec.required else None
    if len(text) > MAX_TEXT:
        return f"内容过长（最多{MAX_TEXT}字）"
    if spec.type is FieldType.number:
        number = _number(value)
        if number is None:
            return "应为数字"
        return "不能为负数" if number < 0 else None
    if not isinstance(value, str):
        return "应为文字"
    match spec.type:
        case FieldType.date:
            # Only YYYY-MM-DD: fromisoformat also takes 20260201 and 2026-W05-1, which
            # would be stored as typed and compared as text by 秒批's rules.
            try:
                if not _DATE.fullmatch(text):
                    raise ValueError(text)
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


def clean_value(spec: FieldSpec, value: Any) -> str | int | float | None:
    """One checked value as stored: a number as a JSON number, text trimmed, identifiers in
    capitals; None for an empty optional field."""
    if spec.type is FieldType.number:
        number = _number(value)
        if number is None:
            return None
        return int(number) if number.is_integer() else number
    text = str(value or "").strip()
    if spec.type in (FieldType.id_number, FieldType.credit_code):
        text = text.upper()
    return text or None


def clean_fields(specs: Sequence[FieldSpec], values: Mapping[str, Any]) -> dict[str, Any]:
    """The checked values as stored, empty optionals dropped."""
    out: dict[str, Any] = {}
    for spec in specs:
        value = clean_value(spec, values.get(spec.code))
        if value is not None:
            out[spec.code] = value
    return out
