"""Logs that protect personal data: no ID number, credit code or phone number appears in
them unmasked, whoever logs it (our code, uvicorn's access log of a query string, a library).

A filter on the root handlers rewrites every record's message before it is written.
"""

from __future__ import annotations

import logging
import re

# 18-character identifiers (居民身份证号码, 统一社会信用代码) and mobile phone numbers, not
# inside longer runs of digits (application numbers are 20 digits and stay readable).
_IDENTIFIER = re.compile(r"(?<![0-9A-Z])([0-9A-Z]{6})([0-9A-Z]{8})([0-9A-Z]{4})(?![0-9A-Z])")
_MOBILE = re.compile(r"(?<!\d)(1\d{2})(\d{4})(\d{4})(?!\d)")


def _looks_like_identifier(value: str) -> bool:
    return sum(ch.isdigit() for ch in value) >= 10


def mask(text: str) -> str:
    """`text` with identifiers and mobile numbers masked (first and last digits kept)."""

    def identifier(m: re.Match[str]) -> str:
        whole = m.group(0)
        return f"{m.group(1)}********{m.group(3)[-4:]}" if _looks_like_identifier(whole) else whole

    text = _IDENTIFIER.sub(identifier, text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


class PrivacyFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Plain lines to stderr, every handler behind the privacy filter."""
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    protect_handlers()


def protect_handlers() -> None:
    """Put the privacy filter on every handler configured so far (uvicorn's included)."""
    privacy = PrivacyFilter()
    for name in (None, "uvicorn", "uvicorn.access", "uvicorn.error"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, PrivacyFilter) for f in handler.filters):
                handler.addFilter(privacy)
