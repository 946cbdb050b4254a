"""Building valid applications for tests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from definitions.calendars import default_sources
from definitions.catalogue import default_catalogue
from domain.actors import Actor, Role, SignoffRole
from domain.application import ENGINE, Applicant, ApplicationInput, MaterialReceipt, MaterialSource
from domain.calendar import CalendarSnapshot
from domain.identifiers import credit_code_check_char, id_number_check_char
from domain.matter import Channel

CLERK = Actor(id="clerk1", name="窗口王", role=Role.clerk)
APPLICANT = Actor(id="applicant", name="申请人", role=Role.applicant)
SUPERVISOR = Actor(id="sup1", name="督查李", role=Role.supervisor)


def staff(department: str, name: str | None = None) -> Actor:
    return Actor(
        id=f"{department}-1",
        name=name or f"{department}经办人",
        role=Role.staff,
        department=department,
    )


def signer(department: str, role: SignoffRole) -> Actor:
    """A member of `department` holding a sign-off level (承办, 审核, 批准): one person per
    level, so that the levels of one step are signed by different people."""
    return Actor(
        id=f"{department}-{role.value}",
        name=f"{department}{role.label}人",
        role=Role.staff,
        department=department,
        signoff_role=role,
    )


def id_number(birth: str = "19900307", serial: str = "123") -> str:
    first = f"340503{birth}{serial}"
    return first + id_number_check_char(first)


def credit_code(body: str = "91340500MA2N0000") -> str:
    first = (body + "0" * 17)[:17]
    return first + credit_code_check_char(first)


def application_no() -> str:
    return f"T{uuid.uuid4().hex[:12].upper()}"


def calendar_for(now: datetime) -> CalendarSnapshot:
    return default_sources().snapshot_around("maanshan", now)


def application(
    matter_code: str = "company_setup",
    *,
    now: datetime,
    calendar: CalendarSnapshot | None = None,
    **overrides: Any,
) -> ApplicationInput:
    matter = overrides.pop("matter", None) or default_catalogue().matter(matter_code)
    return ApplicationInput(
        engine=ENGINE,
        application_no=overrides.pop("application_no", None) or application_no(),
        matter=matter,
        calendar=calendar or calendar_for(now),
        applicant=overrides.pop("applicant", None)
        or Applicant(name="张三", id_number=id_number(), phone="13800000000"),
        form=overrides.pop("form", {}),
        materials=[
            MaterialReceipt(code=m.code, source=MaterialSource.upload, ref="f1")
            for m in matter.materials
        ],
        **({"channel": Channel.online, "accepted_by": CLERK} | overrides),
    )
