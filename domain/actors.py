"""Who acts on an application: recorded on every event and checked by every action."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class Role(StrEnum):
    applicant = "applicant"
    clerk = "clerk"
    staff = "staff"  # department staff, bound to one department
    supervisor = "supervisor"
    admin = "admin"
    system = "system"


class SignoffRole(StrEnum):
    """A department member's place in its sign-off levels (承办 → 审核 → 批准): who may pass
    which stage of a step that has stages (`StepSpec.stages`)."""

    handler = "handler"  # 承办
    reviewer = "reviewer"  # 审核
    approver = "approver"  # 批准

    @property
    def label(self) -> str:
        return {"handler": "承办", "reviewer": "审核", "approver": "批准"}[self.value]


class Actor(BaseModel):
    """Who did something: recorded on every event."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    role: Role
    department: str | None = None
    # Department staff only: the sign-off level the person holds in the department (None:
    # none, and so no stage of a staged step is theirs to pass).
    signoff_role: SignoffRole | None = None


SYSTEM = Actor(id="system", name="系统", role=Role.system)
# 秒批: the rules of a step's definition decided it, with no person in between.
AUTO = Actor(id="system:auto", name="秒批（规则自动审批）", role=Role.system)
