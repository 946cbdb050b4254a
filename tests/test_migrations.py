"""The migrations build exactly the schema the models describe (on the suite's database)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import store.models  # noqa: F401  (the models fill the metadata)
from store.db import sync_url
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
