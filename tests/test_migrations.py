"""The migrations build exactly the schema the models describe (on the suite's database),
and bring the data of earlier ones along."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import store.models  # noqa: F401  (the models fill the metadata)
from store.db import sync_url
from store.migrate import upgrade
from store.types import Base


def test_the_migrated_schema_matches_the_models(db_url: str) -> None:
    engine = create_engine(sync_url(db_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], differences


def test_files_of_earlier_answers_to_corrections_are_brought_in(tmp_path: Path) -> None:
    """0020 finds the uploads of the answers given before it, so staff can open them."""
    url = f"sqlite:///{tmp_path / 'before.db'}"
    upgrade(url, "0019")
    supplied = [
        {"item": "章程签字页", "source": "upload", "ref": "upload:abc.pdf", "note": ""},
        {"item": "说明", "source": "paper", "ref": "窗口收取纸质材料", "note": ""},
    ]
    with sqlite3.connect(tmp_path / "before.db") as db:  # foreign keys are not enforced
        db.execute(
            "INSERT INTO corrections (application_no, notice_no, opened_at, items, requests,"
            " answered_at, supplied, cancelled, revision)"
            " VALUES ('A1', 1, '2026-11-02 01:00:00', '[]', '[]', NULL, ?, 0, 1)",
            (json.dumps(supplied, ensure_ascii=False),),
        )
    upgrade(url)
    with sqlite3.connect(tmp_path / "before.db") as db:
        rows = db.execute("SELECT application_no, ref FROM correction_files").fetchall()
    assert rows == [("A1", "upload:abc.pdf")]


def test_applications_an_agent_accepted_before_are_placed_in_his_region(tmp_path: Path) -> None:
    """0021 finds, for the applications accepted before it, the township or village of the
    agent who accepted them (by his account), within their county."""
    url = f"sqlite:///{tmp_path / 'before.db'}"
    upgrade(url, "0020")
    with sqlite3.connect(tmp_path / "before.db") as db:  # foreign keys are not enforced
        for id_, region in ((7, "340521100201"), (8, "340522100"), (9, "340521")):
            user = {"id": id_, "username": f"u{id_}", "role": "clerk", "region_code": region}
            _insert(db, "users", user)
        for number, county, by in (
            ("A1", "340521", "user:7"),
            ("A2", "340522", "user:7"),
            ("A3", "340522", "user:8"),
            ("A4", "340521", "user:9"),  # the county's own clerk
        ):
            row = {"application_no": number, "region_code": county, "accepted_by_id": by}
            _insert(db, "applications", row)
    upgrade(url)
    with sqlite3.connect(tmp_path / "before.db") as db:
        rows = db.execute("SELECT application_no, local_region FROM applications ORDER BY 1")
        # A2's county is not the agent's: left where its number puts it.
        assert rows.fetchall() == [
            ("A1", "340521100201"), ("A2", None), ("A3", "340522100"), ("A4", None),
        ]  # fmt: skip


def _insert(db: sqlite3.Connection, table: str, values: Mapping[str, object]) -> None:
    """A row with `values`, and a placeholder in every other column that takes no NULL."""
    required = [row[1] for row in db.execute(f"PRAGMA table_info({table})") if row[3]]
    row: dict[str, object] = {**dict.fromkeys(required, "0"), **values}
    marks = ", ".join("?" * len(row))
    db.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks})", list(row.values()))


def test_missing_materials_brought_to_the_window_are_counted_as_visits(tmp_path: Path) -> None:
    """0024 adds to an application's visits each 容缺 hand-in a window clerk recorded (not
    the applicant's own online), and marks every day's figures stale."""
    url = f"sqlite:///{tmp_path / 'before.db'}"
    upgrade(url, "0023")
    with sqlite3.connect(tmp_path / "before.db") as db:
        for number, visits in (("B1", 1), ("B2", 0), ("B3", 2)):
            _insert(db, "applications", {"application_no": number, "visits": visits})
        for seq, (number, role) in enumerate(
            (("B1", "clerk"), ("B1", "admin"), ("B2", "applicant"), ("B3", "clerk")), start=1
        ):
            event = {"id": seq, "application_no": number, "seq": seq, "kind": "missing_supplied"}
            _insert(db, "events", event | {"actor_role": role})
        _insert(db, "statistics_days", {"day": "2026-11-02", "stale": False})
    upgrade(url)
    with sqlite3.connect(tmp_path / "before.db") as db:
        rows = db.execute("SELECT application_no, visits FROM applications ORDER BY 1")
        assert rows.fetchall() == [("B1", 3), ("B2", 0), ("B3", 3)]
        assert db.execute("SELECT stale FROM statistics_days").fetchall() == [(1,)]
