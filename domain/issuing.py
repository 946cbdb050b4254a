"""Licences an application issues when it is granted (证照生成), as they cross from the
workflow to the activity that writes them into the licence library and back."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.fields import FieldValue


class LicenceRef(BaseModel):
    type: str
    type_name: str
    number: str


class LicenceDraft(BaseModel):
    """What the application's values say the licence holds; the library adds the rest
    (issuing authority, validity) from the licence type."""

    type: str
    number: str
    holder_id: str
    holder_name: str
    fields: dict[str, FieldValue] = Field(default_factory=dict)
    application_no: str
    issued_at: datetime
    supersedes: LicenceRef | None = Field(
        default=None, description="the licence this one replaces (换发), revoked with its issue"
    )


class IssueInput(BaseModel):
    application_no: str
    drafts: list[LicenceDraft]


class IssueOutcome(StrEnum):
    issued = "issued"
    already = "already"  # issued by an earlier attempt: a retry changes nothing
    refused = "refused"  # cannot be issued as it is (a number held by another licence, ...)


class IssuedLicence(BaseModel):
    type: str
    type_name: str
    number: str
    digest: str = ""
    outcome: IssueOutcome
    problem: str | None = None
    superseded: LicenceRef | None = Field(
        default=None, description="the licence revoked because this one replaced it"
    )


class IssueResult(BaseModel):
    licences: list[IssuedLicence]


class RevokeInput(BaseModel):
    """The licences an application issued, revoked because its decision was undone, and
    those they replaced, valid again."""

    application_no: str
    licences: list[LicenceRef]
    reason: str
    actor_name: str
    at: datetime = Field(description="the workflow's time: a retry records the same instant")
    restore: list[LicenceRef] = Field(
        default_factory=list, description="the licences its own replaced (换发), valid again"
    )


class RevokeResult(BaseModel):
    revoked: list[LicenceRef] = Field(description="revoked now or by an earlier attempt")
    restored: list[LicenceRef] = Field(
        default_factory=list, description="valid again, now or by an earlier attempt"
    )
    unrestored: list[LicenceRef] = Field(
        default_factory=list,
        description="left revoked: a licence of the application replaced them in turn",
    )
