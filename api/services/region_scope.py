"""Which applications a member of staff sees, by where they work (users.region_code).

The city's staff see every application, as they always did. A county's see those numbered
in the county: accepted at its centre or by a township or village below it (the number's
first six digits are the county's). A township's or village's agent (代办员) accepts on
behalf and forwards, and follows what he accepted himself. Department staff are held to
their department besides (api.services.tasks), and a county's branch is a department.

Applied where an application or a task is loaded for a caller (`status.load`, behind the
StaffApplication dependency and the pages; `tasks.load_task`), and in every list query by
`visible` (applications) or `of_visible` (rows of an application: steps, messages…).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import InstrumentedAttribute

from api.services.accounts import StaffUser
from definitions.regions import default_regions
from domain.regions import RegionLevel
from store.models import ApplicationRow


def level_of(user: StaffUser) -> RegionLevel:
    """The level the account works at: the city's when it has no region. A region the tree
    no longer holds (recoded since the account was set) is a village's, which sees only
    what the account accepted itself: an account fails closed, never open to the city."""
    if not user.region:
        return RegionLevel.city
    region = default_regions().get(user.region)
    return region.level if region is not None else RegionLevel.village


def visible(user: StaffUser) -> ColumnElement[bool]:
    """The condition on applications (ApplicationRow) that `user` may see."""
    level = level_of(user)
    if level is RegionLevel.city:
        return true()
    if level is RegionLevel.county:
        return ApplicationRow.region_code == user.region
    return ApplicationRow.accepted_by_id == user.actor().id


def may_see(user: StaffUser, region_code: str | None, accepted_by_id: str) -> bool:
    """`visible`, for one application already loaded."""
    level = level_of(user)
    if level is RegionLevel.city:
        return True
    if level is RegionLevel.county:
        return region_code == user.region
    return accepted_by_id == user.actor().id


def statistics_region(user: StaffUser, asked: str | None) -> str | None:
    """The region whose figures `user` is shown: the one asked for, by default his own (the
    city for the city's staff). Raises LookupError for a region outside his own."""
    if level_of(user) is RegionLevel.city:
        return asked
    if asked is None:
        return user.region
    if user.region not in {r.code for r in default_regions().path(asked)}:
        raise LookupError(asked)
    return asked


def of_visible(
    application_no: ColumnElement[str] | InstrumentedAttribute[str], user: StaffUser
) -> ColumnElement[bool]:
    """For rows that belong to an application (steps, materials, ratings): that it is one
    `user` may see. No subquery at all for the city's staff."""
    if level_of(user) is RegionLevel.city:
        return true()
    return application_no.in_(select(ApplicationRow.application_no).where(visible(user)))
