"""The migrations build exactly the schema the models describe (on the suite's database)."""

from __future__ import annotations

import json
import sqlite3
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
