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


class Actor(BaseModel):
    """Who did something: recorded on every event."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    role: Role
    department: str | None = None


SYSTEM = Actor(id="system", name="系统", role=Role.system)
