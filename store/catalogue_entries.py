"""The catalogue's entries in SQL: writing them (the hand-made matters' entries kept in step
with their definitions, the demonstration ones replaced as a whole) and searching them.

A search looks into one precomputed column (`search_text`: the name, keywords, full pinyin
and initials, normalised) with a substring match, filters by region, level, department and
status, and pages in the catalogue's order, the best matches first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Table, case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.catalogue_entries import CatalogueEntry
from domain.search_text import SEPARATOR, in_letters, pinyin_of, search_text, search_words
from store.db import create_sync_engine, insert_into
from store.models import CatalogueEntryRow

Entries = cast(Table, CatalogueEntryRow.__table__)
BATCH = 5000


def entry_values(entry: CatalogueEntry) -> dict[str, Any]:
    full, initials = pinyin_of(entry.name)
    return {
        "code": entry.code,
        "name": entry.name,
        "base_code": entry.base_code,
        "region_code": entry.region_code,
        "level": entry.level.value,
        "department": entry.department,
        "department_name": entry.department_name,
        "agency": entry.agency,
        "keywords": " ".join(entry.keywords),
        "pinyin": full,
        "initials": initials,
        "search_text": search_text(entry.name, entry.keywords),
        "search_words": search_words(entry.name, entry.keywords),
        "kind": entry.kind.value,
        "promised_limit_days": entry.promised_limit_days,
        "legal_limit_days": entry.legal_limit_days,
        "online": entry.online,
        "materials_count": entry.materials_count,
        "materials_asked": entry.materials_asked,
        "status": entry.status.value,
        "version": entry.version,
        "effective_from": entry.effective_from,
        "demo": entry.demo,
        "sort_key": entry.sort_key,
    }


def _upsert(dialect: str, rows: list[dict[str, Any]]) -> Any:
    stmt = insert_into(dialect, Entries).values(rows)
    return stmt.on_conflict_do_update(
        index_elements=["code"], set_={c: stmt.excluded[c] for c in rows[0] if c != "code"}
    )


def _hand_made_statements(dialect: str, entries: Sequence[CatalogueEntry]) -> list[Any]:
    """Make the hand-made entries (not demo) exactly `entries`."""
    statements: list[Any] = [
        delete(Entries).where(
            Entries.c.demo.is_(False), Entries.c.code.not_in([e.code for e in entries])
        )
    ]
    if entries:
        statements.append(_upsert(dialect, [entry_values(e) for e in entries]))
    return statements


async def sync_hand_made(session: AsyncSession, entries: Sequence[CatalogueEntry]) -> None:
    """The hand-made matters' entries, as their versions in force have them (idempotent;
    the caller commits). Demonstration entries are left as they are."""
    if any(e.demo for e in entries):
        raise ValueError("demo entries are written by replace_demo")
    for stmt in _hand_made_statements(session.get_bind().dialect.name, entries):
        await session.execute(stmt)


def replace_demo(
    url: str, entries: Iterable[CatalogueEntry], hand_made: Sequence[CatalogueEntry]
) -> int:
    """Replace every demonstration entry by `entries`, and bring the hand-made ones in step,
    in one transaction. Returns the number of demonstration entries written."""
    engine = create_sync_engine(url)
    written = 0
    try:
        with engine.begin() as conn:
            conn.execute(delete(Entries).where(Entries.c.demo.is_(True)))
            for stmt in _hand_made_statements(engine.dialect.name, hand_made):
                conn.execute(stmt)
            batch: list[dict[str, Any]] = []
            for entry in entries:
                if not entry.demo:
                    raise ValueError(f"{entry.code} is not marked demo")
                batch.append(entry_values(entry))
                if len(batch) == BATCH:
                    written += _insert(conn, batch)
                    batch = []
            written += _insert(conn, batch)
    finally:
        engine.dispose()
    return written


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> int:
    if rows:
        conn.execute(Entries.insert(), rows)
    return len(rows)


# --- searching -----------------------------------------------------------------------------


def _filters(
    *,
    q: str,
    region_codes: Sequence[str] | None,
    level: str | None,
    department: str | None,
    statuses: Sequence[str],
) -> list[Any]:
    where: list[Any] = [CatalogueEntryRow.status.in_(statuses)]
    if region_codes is not None:
        where.append(CatalogueEntryRow.region_code.in_(region_codes))
    if level:
        where.append(CatalogueEntryRow.level == level)
    if department:
        where.append(CatalogueEntryRow.department == department)
    if q:
        where.append(_searched(q).contains(q, autoescape=True))
    return where


def _searched(q: str) -> Any:
    """The column a query is looked for in: letters and digits may be pinyin or initials;
    anything else can only be in the name or the keywords, a text half as long."""
    return CatalogueEntryRow.search_text if in_letters(q) else CatalogueEntryRow.search_words


def _relevance(q: str) -> Any:
    """0 for the very name, 1 for a name that begins so, 2 for pinyin or initials that do,
    3 for anything else found. Only prefixes are compared: they fail fast, where another
    substring search of every match would cost as much as the search itself."""
    row, text = CatalogueEntryRow, _searched(q)
    return case(
        (text.startswith(q + SEPARATOR, autoescape=True), 0),
        (text.startswith(q, autoescape=True), 1),
        (row.initials.startswith(q, autoescape=True), 2),
        (row.pinyin.startswith(q, autoescape=True), 2),
        else_=3,
    )


async def search(
    session: AsyncSession,
    *,
    q: str,
    region_codes: Sequence[str] | None,
    level: str | None,
    department: str | None,
    statuses: Sequence[str],
    limit: int,
    offset: int,
) -> tuple[list[CatalogueEntryRow], int]:
    """One page of entries and how many there are in all. `q` is normalised already.

    Without `q` the page is read in the catalogue's order (an index) and counted apart.
    With `q` the matches are found in one pass: their codes, order keys and relevance are
    kept (narrow rows, counted and sorted once), and only the page's rows are read whole."""
    row = CatalogueEntryRow
    where = _filters(
        q=q, region_codes=region_codes, level=level, department=department, statuses=statuses
    )
    if not q:
        page = await session.scalars(
            select(row).where(*where).order_by(row.sort_key).limit(limit).offset(offset)
        )
        total = await session.scalar(select(func.count()).select_from(Entries).where(*where))
        return list(page), int(total or 0)
    matches = select(row.code, row.sort_key, _relevance(q).label("relevance")).where(*where).cte()
    counted = select(func.count()).select_from(matches).scalar_subquery()
    found = (
        await session.execute(
            select(matches.c.code, counted)
            .order_by(matches.c.relevance, matches.c.sort_key)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    if not found:
        total = await session.scalar(select(func.count()).select_from(Entries).where(*where))
        return [], int(total or 0)
    codes = [code for code, _ in found]
    by_code = {r.code: r for r in await session.scalars(select(row).where(row.code.in_(codes)))}
    return [by_code[code] for code in codes], int(found[0][1])
