"""The benchmark of a city's open work: `.venv/bin/python -m bench.scale` (`make bench-scale`).

Writes 10,000 open applications straight into a fresh database (not through Temporal: rows
as the projection leaves them): the four matters, their steps as tasks across the city's
departments and the counties' branches, in realistic states (open, claimed, waiting,
approved, correction) with cards and deadlines around now, a few pending extension requests,
the departments' inbox messages; and beside them 200,000 closed applications with their
steps, materials, SMS and ratings, as a city accumulates. Then, with the app in process and a
supervisor and a member of the tax department's staff signed in, it times the supervision
overview (`GET /api/supervision/overview`, the first page of `GET /api/supervision/
applications`, the page `/supervision`) and the department inbox (the first page of
`GET /api/tasks`, the page `/workbench`): p50 and p95 over `--rounds` requests each.

`overview_ms_10k_open` and `inbox_ms_10k_open` are the p95 of the slowest of each group
(which one is said beside it). The figures are merged into bench/results/latest.json.

SQLite by default (a temporary file). With `--database-url postgresql+psycopg://...` the
rows go into a scratch schema of that database, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Table, insert, text
from sqlalchemy.engine import make_url

from api.app import create_app
from api.services.accounts import create_user, sync_departments
from definitions.calendars import default_sources
from definitions.catalogue import default_catalogue
from domain.actors import Role
from domain.events import department as department_address
from settings import Settings
from store.db import create_engine, create_sync_engine, session_factory
from store.migrate import upgrade
from store.models import (
    ApplicationRow,
    MaterialRow,
    NotificationRow,
    RatingRow,
    StepRow,
)

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
REGIONS = [("340500", 30)] + [
    (code, 70 / 6) for code in ("340503", "340504", "340506", "340521", "340522", "340523")
]
MATTERS = [
    ("company_setup", 40),
    ("property_transfer", 30),
    ("tax_deregistration", 20),
    ("utility_connection", 10),
]
OPEN_STATES = [("received", 4), ("accepted", 3), ("in_progress", 85), ("correction", 8)]
CARDS = [("green", 75), ("yellow", 13), ("red", 9), ("serious", 3)]
CLOSED_STATES = [("granted", 85), ("refused", 5), ("withdrawn", 5), ("not_accepted", 5)]
RATINGS = [
    ("very_satisfied", 75),
    ("satisfied", 15),
    ("basically_satisfied", 6),
    ("dissatisfied", 3),
    ("very_dissatisfied", 1),
]
SUPERVISOR = "bench-scale-supervisor"
STAFF = "bench-scale-tax"
STAFF_DEPARTMENT = "tax"  # the city's tax bureau: a step of three matters out of four
PASSWORD = "bench-password-1"
PAGE_SIZE = 50
BATCH = 5_000


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


class Rows:
    """The rows of each table, generated in one pass (application after application)."""

    def __init__(self, now: datetime, seed: int = 7) -> None:
        self.now = now
        self.rng = random.Random(seed)
        self.catalogue = default_catalogue()
        self.calendar = default_sources().snapshot_around("maanshan", now).model_dump(mode="json")
        self.definitions = {
            code: self.catalogue.matter(code).model_dump(mode="json") for code, _ in MATTERS
        }
        self.serials: dict[str, int] = {}

    def _number(self, region: str, day: datetime) -> str:
        key = f"{region}{day:%Y%m%d}"
        self.serials[key] = self.serials.get(key, 0) + 1
        return f"{key}{self.serials[key]:06d}"

    def _department(self, code: str, region: str) -> str:
        branch = f"{code}_{region}"
        return branch if branch in self.catalogue.branches else code

    def _application(
        self, *, region: str, matter: str, state: str, card: str, received: datetime, **rest: Any
    ) -> dict[str, Any]:
        m = self.catalogue.matter(matter)
        rng = self.rng
        company = matter in ("company_setup", "tax_deregistration")
        channel = rng.choices(("online", "mobile", "window"), (45, 25, 30))[0]
        row: dict[str, Any] = {
            "application_no": self._number(region, received),
            "matter_code": matter,
            "matter_name": m.name,
            "matter_version": 1,
            "state": state,
            "sla_level": card,
            "applicant_name": "马鞍山示例有限公司" if company else "张三",
            "applicant_kind": "company" if company else "person",
            "applicant_id": "91340500MA2N00000A" if company else "340503199003071234",
            "applicant_phone": "13800000000",
            "channel": channel,
            "delivery": "express" if rng.random() < 0.4 else "pickup",
            "delivery_address": None,
            "form": {},
            "definition": {},
            "calendar": self.calendar,
            "query_code_digest": "",
            "accepted_by_id": "bench-clerk",
            "accepted_by_name": "窗口",
            "received_at": received,
            "accepted_at": None,
            "acceptance_due": None,
            "promised_deadline": None,
            "legal_deadline": None,
            "deadline_provisional": False,
            "paused": False,
            "working_days_left": None,
            "extension_days": 0,
            "completed_at": None,
            "outcome_reason": None,
            "status": {},
            "revision": 5,
            "updated_at": received,
            "handed_over_at": None,
            "handover_method": None,
            "handover_ref": None,
            "handed_over_by": None,
            "delivery_deadline": None,
            "delivery_sla_level": None,
            "region_code": region,
            "received_on": received.date(),
            "visits": int(channel == "window"),
            "acceptance_role": "clerk",
            "completed_early": None,
        }
        row.update(rest)
        return row

    def _step(
        self, app: dict[str, Any], code: str, name: str, department: str, **rest: Any
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "application_no": app["application_no"],
            "code": code,
            "name": name,
            "department": department,
            "state": "waiting",
            "sla_level": "green",
            "opened_at": None,
            "deadline": None,
            "deadline_provisional": False,
            "paused": False,
            "working_days_left": None,
            "extension_days": 0,
            "extension_request": None,
            "claimed_by_id": None,
            "claimed_by_name": None,
            "decided_by_id": None,
            "decided_by_name": None,
            "decided_at": None,
            "result": {},
            "reason": None,
            "push_state": None,
            "push_attempts": 0,
            "push_error": None,
            "pushed_at": None,
            "revision": 5,
        }
        row.update(rest)
        return row

    def _sms(self, app: dict[str, Any], n: int, at: datetime, state: str) -> dict[str, Any]:
        return {
            "id": f"{app['application_no']}/sms/{n}",
            "application_no": app["application_no"],
            "at": at,
            "recipient": "applicant",
            "kind": "received",
            "subject": "办件通知",
            "body": "您的申请已受理。",
            "sent_at": at if state == "sent" else None,
            "channel": "sms",
            "sms_text": "【通办】您的申请已受理。",
            "state": state,
            "attempts": 1 if state == "sent" else 8 if state == "failed" else 0,
            "last_error": "gateway 503" if state == "failed" else None,
            "failed_at": at if state == "failed" else None,
        }

    def open_application(self) -> dict[str, list[dict[str, Any]]]:
        rng, now = self.rng, self.now
        region = _pick(rng, REGIONS)
        matter = self.catalogue.matter(_pick(rng, MATTERS))
        state = _pick(rng, OPEN_STATES)
        card = "green" if state == "received" else _pick(rng, CARDS)
        # Where the promised deadline stands against now, by the card it earned.
        offset = {
            "green": rng.uniform(0.3, 6.0),
            "yellow": rng.uniform(0.0, 0.6),
            "red": -rng.uniform(0.0, 5.0),
            "serious": -rng.uniform(5.0, 25.0),
        }[card]
        deadline = now + timedelta(days=offset)
        span = timedelta(days=max(matter.promised_limit_days, 1) * 1.4)
        accepted = deadline - span
        received = accepted - timedelta(hours=rng.uniform(0, 20))
        if state == "received":
            received = now - timedelta(hours=rng.uniform(1, 90))
            app = self._application(
                region=region,
                matter=matter.code,
                state=state,
                card=card,
                received=received,
                acceptance_due=received + timedelta(days=7),
                definition=self.definitions[matter.code],
            )
            return {"applications": [app], "steps": [], "notifications": []}
        paused = state == "correction"
        app = self._application(
            region=region,
            matter=matter.code,
            state=state,
            card=card,
            received=received,
            accepted_at=accepted,
            promised_deadline=deadline,
            legal_deadline=accepted + timedelta(days=matter.legal_limit_days * 1.4),
            paused=paused,
            working_days_left=round(offset / 1.4, 2),
            definition=self.definitions[matter.code],
            updated_at=accepted,
        )
        steps, messages = [], []
        decided: set[str] = set()
        late_one = rng.randrange(len(matter.steps))  # the step that earned the card
        for i, spec in enumerate(matter.steps):
            department = self._department(spec.department, region)
            if spec.needs and not set(spec.needs) <= decided:
                steps.append(self._step(app, spec.code, spec.name, department))
                continue
            if state == "accepted":
                step_state = "open"
            elif state == "correction":
                step_state = (
                    "correction"
                    if i == late_one
                    else _pick(rng, [("approved", 50), ("claimed", 50)])
                )
            else:
                step_state = _pick(rng, [("approved", 30), ("open", 35), ("claimed", 35)])
                if i == late_one and step_state == "approved":
                    step_state = "claimed"
            step_deadline = min(deadline, accepted + timedelta(days=max(spec.limit_days, 1) * 1.4))
            if i == late_one:
                step_deadline = deadline
            row = self._step(
                app,
                spec.code,
                spec.name,
                department,
                state=step_state,
                sla_level=card if i == late_one else "green",
                opened_at=accepted,
                deadline=step_deadline,
                paused=step_state == "correction",
                working_days_left=round((step_deadline - now).total_seconds() / 86400 / 1.4, 2),
            )
            if step_state == "approved":
                decided.add(spec.code)
                row |= {
                    "decided_at": accepted + timedelta(hours=rng.uniform(1, 30)),
                    "decided_by_id": f"{department}-1",
                    "decided_by_name": "经办人",
                    "sla_level": "green",
                }
            elif step_state == "claimed":
                row |= {"claimed_by_id": f"{department}-1", "claimed_by_name": "经办人"}
                if rng.random() < 0.003:
                    row["extension_request"] = {
                        "working_days": 2,
                        "reason": "需要现场核查",
                        "requested_by": {
                            "id": f"{department}-1",
                            "name": "经办人",
                            "role": "staff",
                            "department": department,
                        },
                        "requested_at": (now - timedelta(hours=3)).isoformat(),
                    }
            if step_state in ("open", "claimed"):
                messages.append(
                    {
                        "id": f"{app['application_no']}/{spec.code}/new",
                        "application_no": app["application_no"],
                        "at": accepted,
                        "recipient": department_address(department),
                        "kind": "task_opened",
                        "subject": f"新任务：{spec.name}",
                        "body": f"{app['application_no']} {matter.name}",
                        "sent_at": accepted,
                        "channel": "inbox",
                        "sms_text": "",
                        "state": "sent",
                        "attempts": 0,
                        "last_error": None,
                        "failed_at": None,
                    }
                )
            steps.append(row)
        messages.append(self._sms(app, 1, accepted, "sent"))
        return {"applications": [app], "steps": steps, "notifications": messages}

    def closed_application(self, i: int, count: int) -> dict[str, list[dict[str, Any]]]:
        rng, now = self.rng, self.now
        received = now - timedelta(days=30 + 365 * (count - i) / count, hours=rng.uniform(0, 8))
        region = _pick(rng, REGIONS)
        matter = self.catalogue.matter(_pick(rng, MATTERS))
        state = _pick(rng, CLOSED_STATES)
        completed = received + timedelta(
            hours=rng.uniform(2, 24 * (matter.promised_limit_days + 2))
        )
        deadline = received + timedelta(days=max(matter.promised_limit_days, 1) * 1.4)
        accepted = None if state == "not_accepted" else received
        handed = state == "granted" and rng.random() < 0.97
        app = self._application(
            region=region,
            matter=matter.code,
            state=state,
            card="green" if completed <= deadline else "red",
            received=received,
            accepted_at=accepted,
            promised_deadline=deadline if accepted else None,
            completed_at=completed,
            updated_at=completed,
            handed_over_at=completed + timedelta(days=1) if handed else None,
            handover_method=("window" if rng.random() < 0.6 else "express") if handed else None,
            delivery_deadline=completed + timedelta(days=14) if state == "granted" else None,
            completed_early=completed.date() < deadline.date(),
        )
        steps, materials, ratings = [], [], []
        if accepted:
            for spec in matter.steps:
                department = self._department(spec.department, region)
                step_state = {"granted": "approved", "refused": "rejected"}.get(state, "cancelled")
                steps.append(
                    self._step(
                        app,
                        spec.code,
                        spec.name,
                        department,
                        state=step_state,
                        opened_at=accepted,
                        deadline=deadline,
                        decided_at=completed if step_state != "cancelled" else None,
                        decided_by_id=f"{department}-1",
                        decided_by_name="经办人",
                    )
                )
        for code in ("application_form", "identity"):
            licence = code == "identity" and rng.random() < 0.6
            materials.append(
                {
                    "application_no": app["application_no"],
                    "code": code,
                    "name": "申请书" if code == "application_form" else "身份证明",
                    "required": True,
                    "source": "licence" if licence else "upload",
                    "ref": "340503199003071234" if licence else "file-1",
                    "digest": "",
                    "verified": licence,
                }
            )
        if state in ("granted", "refused") and rng.random() < 0.7:
            level = _pick(rng, RATINGS)
            bad = level in ("dissatisfied", "very_dissatisfied")
            rated = completed + timedelta(days=2)
            ratings.append(
                {
                    "application_no": app["application_no"],
                    "level": level,
                    "reason": "等待时间长" if bad else "",
                    "rated_at": rated,
                    "follow_up_due": rated + timedelta(days=14) if bad else None,
                    # Bad reviews older than a fortnight have been followed up.
                    "followed_up_at": rated + timedelta(days=5)
                    if bad and rated < now - timedelta(days=14)
                    else None,
                    "followed_up_by": "督查" if bad else None,
                    "follow_up_note": None,
                }
            )
        sms_state = "failed" if rng.random() < 0.0005 else "sent"
        return {
            "applications": [app],
            "steps": steps,
            "materials": materials,
            "ratings": ratings,
            "notifications": [self._sms(app, 1, received, sms_state)],
        }


TABLES: dict[str, Table] = {
    "applications": ApplicationRow.__table__,  # type: ignore[dict-item]
    "steps": StepRow.__table__,  # type: ignore[dict-item]
    "materials": MaterialRow.__table__,  # type: ignore[dict-item]
    "ratings": RatingRow.__table__,  # type: ignore[dict-item]
    "notifications": NotificationRow.__table__,  # type: ignore[dict-item]
}


def generate(open_count: int, closed_count: int, now: datetime) -> Iterator[dict[str, list[Any]]]:
    rows = Rows(now)
    for i in range(closed_count):
        yield rows.closed_application(i, closed_count)
    for _ in range(open_count):
        yield rows.open_application()


def write(url: str, open_count: int, closed_count: int, now: datetime) -> dict[str, int]:
    """Insert the rows in batches, parents before children; returns the count per table."""
    engine = create_sync_engine(url)
    written = dict.fromkeys(TABLES, 0)
    pending: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}

    def flush() -> None:
        with engine.begin() as conn:
            for name, table in TABLES.items():  # applications first
                if pending[name]:
                    conn.execute(insert(table), pending[name])
                    written[name] += len(pending[name])
                    pending[name] = []

    try:
        for n, group in enumerate(generate(open_count, closed_count, now), 1):
            for name, rows in group.items():
                pending[name].extend(rows)
            if n % BATCH == 0:
                flush()
        flush()
        if engine.dialect.name == "postgresql":
            # As autovacuum would have by now: statistics for the planner, and the visibility
            # map, without which an index-only scan reads the table's rows as well. Timed
            # straight after a bulk write without it, /supervision took twice as long as on
            # the same rows an hour later.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM (ANALYZE)"))
        # SQLite: no ANALYZE, as Tongban never runs one on its file (its planner then goes by
        # the indexes' shapes alone, which is what the indexes were made for).
    finally:
        engine.dispose()
    return written


async def add_users(url: str) -> None:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            await sync_departments(session, default_catalogue())
            await session.flush()
            await create_user(
                session,
                username=SUPERVISOR,
                display_name="监察基准",
                role=Role.supervisor,
                department=None,
                password=PASSWORD,
            )
            await create_user(
                session,
                username=STAFF,
                display_name="税务基准",
                role=Role.staff,
                department=STAFF_DEPARTMENT,
                password=PASSWORD,
            )
            await session.commit()
    finally:
        await engine.dispose()


async def _signed_in(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    """Signs the client's page session in; returns the bearer header for the API."""
    token = await client.post("/api/auth/token", data={"username": username, "password": PASSWORD})
    token.raise_for_status()
    login = await client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert csrf is not None
    signed = await client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf": csrf.group(1)}
    )
    assert signed.status_code == 303, signed.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


# (key, who, path, query): what is timed, in this order, each round.
REQUESTS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("overview_api", "supervisor", "/api/supervision/overview", {}),
    (
        "supervision_list_api",
        "supervisor",
        "/api/supervision/applications",
        {"limit": PAGE_SIZE, "offset": 0},
    ),
    ("supervision_page", "supervisor", "/supervision", {}),
    ("inbox_api", "staff", "/api/tasks", {"limit": PAGE_SIZE, "offset": 0}),
    ("workbench_page", "staff", "/workbench", {}),
    ("workbench_page_2", "staff", "/workbench", {"page": 2}),
    ("workbench_page_red", "staff", "/workbench", {"sla": "red"}),
]
OVERVIEW = ("overview_api", "supervision_list_api", "supervision_page")
INBOX = ("inbox_api", "workbench_page")


async def timings(url: str, data_dir: Path, rounds: int) -> dict[str, list[float]]:
    """Each request's times; `overview_api_first` is the first overview of the process (it
    counts what was settled before the cutoff, which later views reuse until the next day)."""
    app = create_app(Settings(data_dir=data_dir, database_url=url, secret_key="bench"))
    out: dict[str, list[float]] = {key: [] for key, *_ in REQUESTS}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://bench") as boss,
            httpx.AsyncClient(transport=transport, base_url="http://bench") as clerk,
        ):
            clients = {"supervisor": boss, "staff": clerk}
            bearers = {
                "supervisor": await _signed_in(boss, SUPERVISOR),
                "staff": await _signed_in(clerk, STAFF),
            }
            started = time.perf_counter()
            first = await boss.get("/api/supervision/overview", headers=bearers["supervisor"])
            out["overview_api_first"] = [time.perf_counter() - started]
            first.raise_for_status()
            for warm in range(rounds + 3):  # three rounds of warm-up
                for key, who, path, params in REQUESTS:
                    headers = bearers[who] if path.startswith("/api/") else {}
                    started = time.perf_counter()
                    response = await clients[who].get(path, params=params, headers=headers)
                    elapsed = time.perf_counter() - started
                    response.raise_for_status()
                    if warm >= 3:
                        out[key].append(elapsed)
            tasks = await clerk.get("/api/tasks", params={"limit": 5}, headers=bearers["staff"])
            if not tasks.json():
                raise RuntimeError("the tax department's inbox is empty")
    return out


@contextmanager
def database(url: str | None, keep: Path | None = None) -> Iterator[tuple[str, Path]]:
    """(database URL, data directory): a fresh SQLite file (or `keep`), or a scratch schema
    of the PostgreSQL database given, dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="tongban-scale-") as tmp:
        if url is None:
            yield f"sqlite:///{keep or Path(tmp) / 'scale.db'}", Path(tmp)
            return
        schema = f"bench_scale_{uuid.uuid4().hex[:8]}"
        engine = create_sync_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
            yield scoped.render_as_string(hide_password=False), Path(tmp)
        finally:
            with engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            engine.dispose()


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def run(
    open_count: int,
    closed_count: int,
    rounds: int = 50,
    database_url: str | None = None,
    keep: Path | None = None,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    reuse = keep is not None and keep.exists()
    with database(database_url, keep) as (url, data_dir):
        upgrade(url)
        written: dict[str, int] = {}
        seconds = 0.0
        if not reuse:
            print(f"scale: writing {open_count} open and {closed_count} closed applications")
            started = time.perf_counter()
            written = write(url, open_count, closed_count, now)
            seconds = time.perf_counter() - started
            print(f"  written in {seconds:.1f} s: {written}")
            asyncio.run(add_users(url))
        timed = asyncio.run(timings(url, data_dir, rounds))
        backend = make_url(url).get_backend_name()
    figures = {
        key: {
            "p50_ms": round(statistics.median(v) * 1000, 1),
            "p95_ms": _ms(v, 0.95),
        }
        for key, v in timed.items()
    }
    for key, f in figures.items():
        print(f"  {key:22} p50 {f['p50_ms']:7.1f} ms   p95 {f['p95_ms']:7.1f} ms")
    print(f"  (of {rounds} requests each, after 3 of warm-up; overview_api_first: one request)")
    overview_key = max(OVERVIEW, key=lambda k: figures[k]["p95_ms"])
    inbox_key = max(INBOX, key=lambda k: figures[k]["p95_ms"])
    suffix = "" if backend == "sqlite" else f"_{backend}"
    return {
        f"overview_ms_10k_open{suffix}": figures[overview_key]["p95_ms"],
        f"inbox_ms_10k_open{suffix}": figures[inbox_key]["p95_ms"],
        f"scale{suffix}": {
            "at": now.isoformat(timespec="seconds"),
            "database": backend,
            "open_applications": open_count,
            "closed_applications": closed_count,
            "rows_written": written,
            "write_seconds": round(seconds, 1),
            "rounds": rounds,
            "page_size": PAGE_SIZE,
            "overview_slowest": overview_key,
            "inbox_slowest": inbox_key,
            "requests": figures,
        },
    }


def merge(results: dict[str, Any], path: Path = RESULTS) -> None:
    """Into latest.json, keeping every other key."""
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(results)
    path.write_text(json.dumps(current, indent=2, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--open", type=int, default=10_000, help="open applications")
    parser.add_argument("--closed", type=int, default=200_000, help="closed applications")
    parser.add_argument("--rounds", type=int, default=50, help="timed requests of each kind")
    parser.add_argument(
        "--database-url",
        default=None,
        help="postgresql+psycopg://…: a scratch schema of it (default: a fresh SQLite file)",
    )
    parser.add_argument(
        "--sqlite-file",
        type=Path,
        default=None,
        help="SQLite only: write the rows into this file and keep it; if it exists, time it "
        "again as it is (after migrating it), without writing",
    )
    parser.add_argument("--no-save", action="store_true", help="leave latest.json alone")
    args = parser.parse_args()
    results = run(args.open, args.closed, args.rounds, args.database_url, args.sqlite_file)
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if not args.no_save:
        merge(results)
        print(f"merged into {RESULTS}")


if __name__ == "__main__":
    main()
