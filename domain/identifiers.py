"""Check digits of the identifiers applicants give us (docs/domain.md, "Identifiers").

Each check returns None when the value is valid and otherwise the reason, in words a person
can act on, so that the API and the pages can name the field and say what is wrong.
"""

from __future__ import annotations

import re
from datetime import date
from operator import mul

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_VALUES = {c: i for i, c in enumerate(CREDIT_CODE_ALPHABET)}
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def credit_code_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code (GB 32100-2015)."""
    if len(first17) != 17:
        raise ValueError("a credit code's check character follows 17 characters")
    # map() rather than a generator: the licence import checks a million codes.
    try:
        values = list(map(_CREDIT_CODE_VALUES.__getitem__, first17))
    except KeyError as exc:
        raise ValueError(f"not a credit code character: {exc}") from None
    total = sum(map(mul, values, _CREDIT_CODE_WEIGHTS))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(value: str) -> str | None:
    """Why `value` is not a valid 统一社会信用代码, or None if it is."""
    code = value.strip().upper()
    if len(code) != 18:
        return f"统一社会信用代码应为18位，实际为{len(code)}位"
    bad = sorted(set(code) - _CREDIT_CODE_VALUES.keys())
    if bad:
        return f"统一社会信用代码含有不允许的字符：{''.join(bad)}（不使用 I、O、Z、S、V）"
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码校验位错误（应为 {expected}）"
    return None


def id_number_check_char(first17: str) -> str:
    """The 18th character of a resident identity card number (GB 11643)."""
    if len(first17) != 17:
        raise ValueError("an ID number's check character follows 17 digits")
    total = sum(map(mul, map(int, first17), _ID_WEIGHTS))
    return _ID_CHECK[total % 11]


def id_number_problem(value: str, *, today: date | None = None) -> str | None:
    """Why `value` is not a valid 居民身份证号码, or None if it is.

    The region prefix is deliberately not checked: residence permits for Hong Kong, Macao
    and Taiwan residents start with 81-83, and region codes change over time.
    """
    number = value.strip().upper()
    if len(number) != 18:
        return f"身份证号码应为18位，实际为{len(number)}位"
    # ASCII digits only: str.isdigit() also takes fullwidth and superscript digits, which
    # no look-up by the number would then find (or int() refuses).
    if not _ID_SHAPE.fullmatch(number):
        return "身份证号码前17位应为数字，最后一位为数字或X"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "身份证号码第7-14位不是有效的出生日期"
    if born.year < 1800 or (today is not None and born > today):
        return "身份证号码第7-14位不是有效的出生日期"
    expected = id_number_check_char(number[:17])
    if number[17] != expected:
        return f"身份证号码校验位错误（应为 {expected}）"
    return None
