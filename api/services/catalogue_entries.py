"""The catalogue as applicants search it: entries by name, pinyin, initials or keyword, in a
region and what lies under it, at a level, of a department; paged, with the total.

The hand-made matters' entries follow the versions in force: they are brought in step at
start-up and again whenever another version has taken effect since (a check of a handful of
definitions per search, a write only when something changed).
"""

from __future__ import annotations

from math import ceil

from sqlalchemy.ext.asyncio import AsyncSession

from api.container import Services
from api.errors import invalid
from api.schemas import CatalogueEntryView, MatterPage
from domain.catalogue_entries import hand_made_entries
from domain.matter import Channel, Kind, MatterStatus
from domain.regions import RegionLevel
from domain.search_text import normalise
from store import catalogue_entries as store
from store.models import CatalogueEntryRow

OFFERED = [s.value for s in MatterStatus if s.offered]
EVERY_STATUS = [s.value for s in MatterStatus]


async def keep_in_step(*, services: Services, session: AsyncSession) -> None:
    """The hand-made matters' entries as their versions in force now have them."""
    in_force = services.catalogue.in_force_all(await services.clock())
    versions = tuple((code, matter.version) for code, matter in in_force.items())
    if services.entries_in_step_with == versions:
        return
    entries = hand_made_entries(
        in_force.values(),
        services.regions.root,
        services.catalogue.department_name,
        counties=[r for r in services.regions.all() if r.level is RegionLevel.county],
        departments=services.catalogue.all_departments,
    )
    await store.sync_hand_made(session, entries)
    await session.commit()
    services.entries_in_step_with = versions


def region_scope(services: Services, region: str | None) -> list[str] | None:
    """The codes of a region and of every region under it (None: the whole city, no
    filter). A region lists what its own service points handle; the city's catalogue
    is everything in it."""
    if region is None or region == services.regions.root.code:
        return None
    codes = services.regions.codes_under(region)
    if not codes:
        raise invalid({"region": f"没有行政区划 {region}"})
    return codes


def entry_view(row: CatalogueEntryRow, services: Services) -> CatalogueEntryView:
    channels = [Channel.online, Channel.mobile, Channel.window] if row.online else [Channel.window]
    # A county's entry of a hand-made matter lists it by its code (company_setup).
    defined = [m for m in services.catalogue.versions.get(row.base_code, []) if not row.demo]
    pinned = next((m for m in defined if m.version == row.version), None)
    if pinned is not None:
        channels = list(pinned.channels)
    status = MatterStatus(row.status)
    level = RegionLevel(row.level)
    return CatalogueEntryView(
        code=row.code,
        name=row.name,
        version=row.version,
        kind=Kind(row.kind),
        promised_limit_days=row.promised_limit_days,
        legal_limit_days=row.legal_limit_days,
        lead_department=row.department,
        lead_department_name=row.department_name,
        channels=channels,
        materials_count=row.materials_count,
        status=status,
        status_label=status.label,
        effective_from=row.effective_from,
        base_code=row.base_code,
        region_code=row.region_code,
        region_name=services.regions.full_name(row.region_code),
        level=level,
        level_label=level.label,
        department=row.department,
        department_name=row.department_name,
        agency=row.agency,
        keywords=row.keywords.split(),
        online=row.online,
        demo=row.demo,
        guide_url=f"/matters/{row.base_code}" if pinned is not None else None,
    )


async def search(
    *,
    services: Services,
    session: AsyncSession,
    q: str,
    region: str | None,
    level: RegionLevel | None,
    department: str | None,
    include_inactive: bool,
    page: int,
    page_size: int,
) -> MatterPage:
    """Suspended and cancelled entries are left out unless `include_inactive`."""
    await keep_in_step(services=services, session=session)
    rows, total = await store.search(
        session,
        q=normalise(q),
        region_codes=region_scope(services, region),
        level=level.value if level else None,
        department=department or None,
        statuses=EVERY_STATUS if include_inactive else OFFERED,
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    return MatterPage(
        items=[entry_view(row, services) for row in rows],
        total=total,
        page=page,
        page_size=page_size,
        pages=ceil(total / page_size),
    )
