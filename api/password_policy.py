"""What a staff password must be (等保 2.0 level 3: 身份鉴别, passwords of sufficient
complexity), with a message naming every rule a password breaks.

The policy applies wherever a person chooses a password: `tongban users add` and `tongban
users passwd`. Only the demo accounts that `tongban dev` (`make run`) creates are exempt: they
keep the password `demo` (or TONGBAN_DEMO_PASSWORD) so that the demo can be tried at once.
"""

from __future__ import annotations

MIN_LENGTH = 12
MAX_LENGTH = 1024  # what /api/auth/token accepts: a longer one could never be typed in

# Passwords every guessing list starts with (kept at 12 characters and more: shorter ones
# fail the length rule anyway), compared without case.
WELL_KNOWN = frozenset(
    {
        "password1234",
        "password123456",
        "passw0rd1234",
        "p@ssw0rd1234",
        "admin1234567",
        "admin123456789",
        "administrator1",
        "qwerty123456",
        "qwertyuiop123",
        "1qaz2wsx3edc",
        "1q2w3e4r5t6y",
        "q1w2e3r4t5y6",
        "abc123456789",
        "abcd12345678",
        "a12345678910",
        "123456789abc",
        "123456abcdef",
        "iloveyou1234",
        "woaini521521",
        "woaini131420",
        "tongban12345",
        "tongban123456",
        "changeme1234",
        "welcome12345",
        "letmein12345",
    }
)


class WeakPassword(ValueError):
    """A password the policy refuses; `str()` says in Chinese every rule it breaks."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("密码不符合要求：" + "；".join(problems))
        self.problems = problems


def password_problems(password: str, username: str) -> list[str]:
    """Every rule `password` breaks, in words for the person choosing it (empty: fine)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"至少{MIN_LENGTH}个字符（现为{len(password)}个）")
    if len(password) > MAX_LENGTH:
        problems.append(f"不能超过{MAX_LENGTH}个字符")
    if not any(c.isascii() and c.isalpha() for c in password):
        problems.append("须包含字母")
    if not any(c in "0123456789" for c in password):  # not a fullwidth or superscript one
        problems.append("须包含数字")
    name = username.strip().lower()
    if name and name in password.lower():
        problems.append("不能包含用户名")
    if password.lower() in WELL_KNOWN:
        problems.append("是常见的弱密码，容易被猜中")
    return problems


def check_password(password: str, username: str) -> None:
    """Raise WeakPassword naming every rule `password` breaks."""
    problems = password_problems(password, username)
    if problems:
        raise WeakPassword(problems)
