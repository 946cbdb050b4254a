from __future__ import annotations

from datetime import date

import pytest

from domain.identifiers import credit_code_problem, id_number_problem


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",  # the example in GB 32100-2015
        "91110000802100433B",
        "91350100m000100y43",  # lower case is accepted and read as upper case
    ],
)
def test_valid_credit_codes(code: str) -> None:
    assert credit_code_problem(code) is None


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y44", "校验位错误（应为 3）"),
        ("91350100M000100Y4", "应为18位，实际为17位"),
        ("91350100M0O0100Y43", "不允许的字符：O"),
        ("91350100M000I00Y43", "不允许的字符：I"),
    ],
)
def test_invalid_credit_codes_say_why(code: str, reason: str) -> None:
    problem = credit_code_problem(code)
    assert problem is not None and reason in problem


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # check character X
        "440524188001010014",  # the example in GB 11643-1999
        "810000199408230021",  # Hong Kong residents' residence permit: region is not checked
        "11010519491231002x",
    ],
)
def test_valid_id_numbers(number: str) -> None:
    assert id_number_problem(number) is None


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("110105194912310021", "校验位错误（应为 X）"),
        ("11010519491331002X", "不是有效的出生日期"),
        ("11010519490230002X", "不是有效的出生日期"),
        ("1101051949123100", "应为18位"),
        ("11010519491231002Y", "前17位应为数字"),
    ],
)
def test_invalid_id_numbers_say_why(number: str, reason: str) -> None:
    problem = id_number_problem(number)
    assert problem is not None and reason in problem


def test_birth_date_in_the_future_is_refused_when_today_is_known() -> None:
    number = "11010520300101001X"
    assert id_number_problem(number, today=date(2026, 11, 28)) is not None
