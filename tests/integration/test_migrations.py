"""The Alembic migrations produce exactly the schema the models describe."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.records.models import SCHEMA, Base
from services.records.store import open_store


@pytest.mark.postgres
def test_records_migrations_match_models(pg_url: str) -> None:
    store = open_store(pg_url)
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_schemas": True,
                                                     "version_table_schema": SCHEMA})
        diff = compare_metadata(ctx, Base.metadata)
    store.engine.dispose()
    assert diff == []


def test_sqlite_migration_is_repeatable(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    open_store(url).engine.dispose()
    store = open_store(url)  # a second start finds the schema at head and changes nothing
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0002"
    store.engine.dispose()
