"""Loading the notification templates (definitions/notifications.yaml), checked against the
values the engine gives each notice, every error with its file and line."""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from definitions.checks import check_unique
from definitions.source import DEFINITIONS_ROOT, DefinitionError, DefinitionErrors, SourceFile
from domain.notices import COMMON_VARIABLES, NOTICE_VARIABLES

TEMPLATES_FILE = DEFINITIONS_ROOT / "notifications.yaml"


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    notice: str
    subject: str = Field(min_length=1, max_length=200)
    body: str = ""
    sms: str = Field(default="", max_length=500, description="the text sent to an applicant")


class TemplateList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    templates: list[Template]


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@dataclass(frozen=True)
class Templates:
    """The words of every notice; `render` fills one with its values."""

    by_notice: dict[str, Template]

    def render(self, notice: str, values: dict[str, str]) -> tuple[str, str, str]:
        """(subject, body, sms text) of a notice with its values."""
        template = self.by_notice[notice]
        return (
            template.subject.format_map(values),
            template.body.format_map(values),
            template.sms.format_map(values),
        )


def load_templates(path: Path = TEMPLATES_FILE) -> Templates:
    src = SourceFile(path)
    parsed = src.parse(TemplateList)
    errors: list[DefinitionError] = check_unique(
        src, ("templates",), [t.notice for t in parsed.templates], key="notice"
    )
    for i, template in enumerate(parsed.templates):
        known = NOTICE_VARIABLES.get(template.notice)
        if known is None:
            errors.append(
                src.error(("templates", i, "notice"), f"unknown notice {template.notice!r}")
            )
            continue
        allowed = known | COMMON_VARIABLES
        for field in ("subject", "body", "sms"):
            for name in sorted(_placeholders(getattr(template, field)) - allowed):
                errors.append(
                    src.error(
                        ("templates", i, field),
                        f"{{{name}}} is not a value of notice {template.notice!r} "
                        f"(it has {', '.join(sorted(allowed))})",
                    )
                )
    given = {t.notice for t in parsed.templates}
    for notice in sorted(set(NOTICE_VARIABLES) - given):
        errors.append(src.error(("templates",), f"no template for notice {notice!r}"))
    if errors:
        raise DefinitionErrors(errors)
    return Templates({t.notice: t for t in parsed.templates})


@cache
def default_templates() -> Templates:
    return load_templates()
