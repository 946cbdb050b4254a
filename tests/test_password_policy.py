"""The staff password policy: what it asks, and a message naming every rule broken."""

from __future__ import annotations

import pytest

from api.password_policy import WeakPassword, check_password, password_problems


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        ("demo", ["至少12个字符（现为4个）", "须包含数字"]),
        ("correct horse battery", ["须包含数字"]),
        ("202611281234", ["须包含字母"]),
        ("清明时节雨纷纷路上行人2026", ["须包含字母"]),
        ("wangwu-2026-window", ["不能包含用户名"]),
        ("Password1234", ["是常见的弱密码，容易被猜中"]),
        ("1qaz2wsx3edc", ["是常见的弱密码，容易被猜中"]),
        ("abc", ["至少12个字符（现为3个）", "须包含数字"]),
        ("long-enough-password-２０２６", ["须包含数字"]),  # fullwidth digits are not digits
    ],
)
def test_each_broken_rule_is_named(password: str, problems: list[str]) -> None:
    assert password_problems(password, "wangwu") == problems


def test_a_good_password_passes() -> None:
    assert password_problems("窗口-Maanshan-2026!", "wangwu") == []
    check_password("long enough 12 and more", "clerk")


def test_the_refusal_lists_everything_in_one_message() -> None:
    with pytest.raises(WeakPassword) as refused:
        check_password("clerk", "clerk")
    assert (
        str(refused.value) == "密码不符合要求：至少12个字符（现为5个）；须包含数字；不能包含用户名"
    )
