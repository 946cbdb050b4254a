"""Free text people write into a case: reasons that must be given, remarks that may be.

One rule for all of them, so that an API field, a page form and the workflow's own check can
never disagree on what counts as a reason (at least two characters, at most a thousand).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

REASON_MIN = 2
TEXT_MAX = 1000

# A reason that must be given: refusals, rejections, corrections, extensions, follow-ups.
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=REASON_MIN, max_length=TEXT_MAX)
]
# A remark that may be left empty: comments, notes, a withdrawal's reason.
Remark = Annotated[str, StringConstraints(strip_whitespace=True, max_length=TEXT_MAX)]


def reason_problem(text: str, missing: str) -> str | None:
    """Why `text` is not an acceptable reason (`missing` says what has to be explained)."""
    text = text.strip()
    if len(text) < REASON_MIN:
        return missing
    if len(text) > TEXT_MAX:
        return f"理由过长（最多{TEXT_MAX}字）"
    return None


def remark_problem(text: str) -> str | None:
    return f"说明过长（最多{TEXT_MAX}字）" if len(text.strip()) > TEXT_MAX else None
