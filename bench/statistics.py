"""The statistics' benchmark: `.venv/bin/python -m bench.statistics --count 1000000`.

Writes N closed applications straight into a fresh SQLite database (not through Temporal:
rows as the projection leaves them, a year of days, the city and its six counties, the four
matters, every channel, visits, ratings), computes the daily aggregates as
`tongban statistics refresh` does, then times the statistics of the whole year through the
API and the page (the app in process, a supervisor signed in). For comparison it also times
the same figures computed from the applications alone, as if nothing had been refreshed.
`python -m bench` runs this as one of its phases.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from api.services.accounts import create_user
from domain.actors import Role
from settings import Settings
from store.db import create_engine, create_sync_engine, session_factory
from store.migrate import upgrade
from store.statistics import refresh_days

FIRST_DAY = date(2025, 11, 1)
DAYS = 365
REGIONS = [("340500", 30)] + [
    (code, 70 / 6) for code in ("340503", "340504", "340506", "340521", "340522", "340523")
]
MATTERS = [
    ("company_setup", "企业开办", 3, 40),
    ("property_transfer", "不动产转移登记", 5, 30),
    ("tax_deregistration", "清税注销", 0, 20),
    ("utility_connection", "工程建设项目市政公用接入", 5, 10),
]
RATINGS = [
    ("very_satisfied", 75),
    ("satisfied", 15),
    ("basically_satisfied", 6),
    ("dissatisfied", 3),
    ("very_dissatisfied", 1),
]
CALENDAR = '{"code": "maanshan", "name": "马鞍山市政务服务中心"}'
APPLICATION_COLUMNS = (
    "application_no, matter_code, matter_name, matter_version, state, sla_level, "
    "applicant_name, applicant_kind, applicant_id, applicant_phone, channel, delivery, form, "
    "definition, calendar, query_code_digest, accepted_by_id, accepted_by_name, received_at, "
    "accepted_at, promised_deadline, deadline_provisional, paused, extension_days, "
    "completed_at, status, revision, updated_at, handed_over_at, handover_method, "
    "region_code, received_on, visits, acceptance_role, completed_early"
)
SUPERVISOR = "bench-supervisor"
PASSWORD = "bench-password-1"


def _stamp(instant: datetime) -> str:
    """As SQLAlchemy stores a UTC instant in SQLite."""
    return instant.strftime("%Y-%m-%d %H:%M:%S.%f")


def applications(count: int, seed: int = 11) -> Iterator[tuple[tuple[Any, ...], str | None]]:
    """(application row, rating level or None), spread evenly over the year."""
    rng = random.Random(seed)
    regions, region_weights = zip(*REGIONS, strict=True)
    matter_weights = [m[3] for m in MATTERS]
    serials: dict[tuple[str, date], int] = {}
    for i in range(count):
        day = FIRST_DAY + timedelta(days=i * DAYS // count)
        region = rng.choices(regions, region_weights)[0]
        code, name, promised, _ = rng.choices(MATTERS, matter_weights)[0]
        serials[region, day] = serials.get((region, day), 0) + 1
        number = f"{region}{day:%Y%m%d}{serials[region, day]:06d}"
        received = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC) + timedelta(
            minutes=rng.randint(0, 480)
        )
        channel = rng.choices(("online", "mobile", "window"), (45, 25, 30))[0]
        state = rng.choices(("granted", "refused", "withdrawn", "not_accepted"), (85, 5, 5, 5))[0]
        delivery = "express" if rng.random() < 0.4 else "pickup"
        completed = state in ("granted", "refused")
        deadline = received + timedelta(days=max(promised, 1) + 1)
        done_at = received + timedelta(hours=rng.randint(2, 24 * (max(promised, 1) + 2)))
        handed = state == "granted" and delivery == "pickup"
        corrected = rng.random() < 0.08
        visits = (channel == "window") + corrected + handed
        role = "clerk" if channel == "window" or rng.random() < 0.95 else "system"
        row = (
            number,
            code,
            name,
            1,
            state,
            "green",
            "申请人",
            "person",
            "340503199003071234",
            "13800000000",
            channel,
            delivery,
            "{}",
            "{}",
            CALENDAR,
            "",
            "applicant",
            "申请人",
            _stamp(received),
            None if state == "not_accepted" else _stamp(received),
            _stamp(deadline) if state != "not_accepted" else None,
            0,
            0,
            0,
            _stamp(done_at) if completed else _stamp(received),
            "{}",
            5,
            _stamp(received),
            _stamp(done_at + timedelta(days=1)) if handed else None,
            "window" if handed else ("express" if state == "granted" else None),
            region,
            day.isoformat(),
            visits,
            role,
            (done_at.date() < deadline.date()) if completed else None,
        )
        rated = completed and rng.random() < 0.7
        yield (
            row,
            rng.choices([r[0] for r in RATINGS], [r[1] for r in RATINGS])[0] if rated else None,
        )


def write(path: Path, count: int) -> None:
    marks = ", ".join("?" * len(APPLICATION_COLUMNS.split(",")))
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA synchronous=OFF")
        batch: list[tuple[Any, ...]] = []
        ratings: list[tuple[Any, ...]] = []
        for row, level in applications(count):
            batch.append(row)
            if level:
                ratings.append((row[0], level, "", row[18], None))
            if len(batch) == 20_000:
                _flush(db, marks, batch, ratings)
                batch, ratings = [], []
        _flush(db, marks, batch, ratings)


def _flush(
    db: sqlite3.Connection, marks: str, rows: list[tuple[Any, ...]], ratings: list[tuple[Any, ...]]
) -> None:
    db.executemany(f"INSERT INTO applications ({APPLICATION_COLUMNS}) VALUES ({marks})", rows)
    db.executemany(
        "INSERT INTO ratings (application_no, level, reason, rated_at, follow_up_due) "
        "VALUES (?, ?, ?, ?, ?)",
        ratings,
    )
    db.commit()


def refresh(url: str) -> float:
    started = time.perf_counter()
    engine = create_sync_engine(url)
    try:
        days = [FIRST_DAY + timedelta(days=i) for i in range(DAYS)]
        for i in range(0, DAYS, 31):
            with engine.begin() as conn:
                refresh_days(conn, days[i : i + 31], datetime.now(UTC))
    finally:
        engine.dispose()
    return time.perf_counter() - started


async def add_supervisor(url: str) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            await create_user(
                session,
                username=SUPERVISOR,
                display_name="统计基准",
                role=Role.supervisor,
                department=None,
                password=PASSWORD,
            )
            await session.commit()
    finally:
        await engine.dispose()


async def timings(url: str, data_dir: Path, rounds: int) -> dict[str, list[float]]:
    app = create_app(Settings(data_dir=data_dir, database_url=url, secret_key="bench"))
    last = FIRST_DAY + timedelta(days=DAYS - 1)
    year = {"from": FIRST_DAY.isoformat(), "to": last.isoformat()}
    county = year | {"region": "340521"}
    out: dict[str, list[float]] = {"api": [], "api_county": [], "page": []}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            token = await client.post(
                "/api/auth/token", data={"username": SUPERVISOR, "password": PASSWORD}
            )
            token.raise_for_status()
            bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
            login = await client.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
            assert csrf is not None
            signed = await client.post(
                "/login",
                data={"username": SUPERVISOR, "password": PASSWORD, "csrf": csrf.group(1)},
            )
            assert signed.status_code == 303, signed.text
            for _ in range(2):  # warm-up
                await client.get("/api/supervision/statistics", params=year, headers=bearer)
            for _ in range(rounds):
                for key, path, params, headers in (
                    ("api", "/api/supervision/statistics", year, bearer),
                    ("api_county", "/api/supervision/statistics", county, bearer),
                    ("page", "/supervision/statistics", year, {}),
                ):
                    started = time.perf_counter()
                    response = await client.get(path, params=params, headers=headers)
                    out[key].append(time.perf_counter() - started)
                    response.raise_for_status()
            figures = (
                await client.get("/api/supervision/statistics", params=year, headers=bearer)
            ).json()
            if figures["applications"] == 0:
                raise RuntimeError("the statistics counted no application")
    return out


def _clear_aggregates(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM statistics_days")
        db.execute("DELETE FROM daily_statistics")


def run(count: int, rounds: int = 10) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tongban-statistics-") as tmp:
        path = Path(tmp) / "statistics.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        print(f"statistics: writing {count} closed applications")
        started = time.perf_counter()
        write(path, count)
        written = time.perf_counter() - started
        print(f"  written in {written:.1f} s; refreshing the aggregates of {DAYS} days")
        refreshed = refresh(url)
        print(f"  refreshed in {refreshed:.1f} s; timing the figures of the year")
        asyncio.run(add_supervisor(url))
        timed = asyncio.run(timings(url, Path(tmp), rounds))
        _clear_aggregates(path)
        live = asyncio.run(timings(url, Path(tmp), 1))["api"][0]
    ms = {key: statistics.median(values) * 1000 for key, values in timed.items()}
    print(
        f"  API {ms['api']:.1f} ms (one county {ms['api_county']:.1f} ms), "
        f"page {ms['page']:.1f} ms; from the applications alone {live * 1000:.0f} ms"
    )
    return {
        "statistics_applications": count,
        "statistics_write_seconds": round(written, 1),
        "statistics_refresh_seconds_1m": round(refreshed, 2),
        "statistics_ms_1m": round(ms["api"], 1),
        "statistics_county_ms_1m": round(ms["api_county"], 1),
        "statistics_page_ms_1m": round(ms["page"], 1),
        "statistics_unrefreshed_ms_1m": round(live * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.statistics", description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000, help="closed applications")
    parser.add_argument("--rounds", type=int, default=10, help="timed requests of each kind")
    args = parser.parse_args()
    print(json.dumps(run(args.count, args.rounds), indent=2))


if __name__ == "__main__":
    main()
