"""The Alembic migrations produce exactly the schema the models describe."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, MetaData, Table, inspect, select

from services.common.db import make_engine, migrate
from services.records.models import SCHEMA, AuditEntry, Base
from services.records.store import MIGRATIONS, open_store


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
        assert MigrationContext.configure(conn).get_current_revision() == "0003"
    store.engine.dispose()


def _to(engine: Engine, revision: str, *, down: bool = False) -> None:
    migrate(engine, MIGRATIONS, SCHEMA, revision, down=down)


def _schema(conn: Connection) -> str | None:
    # The inspector does not see SQLite's schema translation.
    return SCHEMA if conn.dialect.name == "postgresql" else None


def _old_feed(engine: Engine, events: int) -> None:
    """A feed written before 0003: one outbox event per audit entry, same seq."""
    meta = MetaData()
    outbox = Table("outbox", meta, autoload_with=engine, schema=SCHEMA)
    audit = Table("audit_log", meta, autoload_with=engine, schema=SCHEMA)
    at = datetime(2025, 11, 20, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(audit.insert(), [
            {"seq": i, "entity_key": f"K{i}", "at": at, "actor": "a", "action": "record_created",
             "object_type": "record", "object_id": str(i), "detail": "{}", "prev_hash": "0",
             "hash": "1"} for i in range(1, 4)])
        conn.execute(outbox.insert(), [
            {"seq": i, "entity_key": f"K{i}", "kind": "record_created", "record_id": 10 + i,
             "occurred_at": at} for i in range(1, events + 1)])


def test_0003_moves_the_feed_onto_the_audit_log_and_back(db_url: str) -> None:
    engine = make_engine(db_url, SCHEMA)
    try:
        _to(engine, "0002")
        _old_feed(engine, 3)
        _to(engine, "0003")
        with engine.connect() as conn:
            assert not inspect(conn).has_table("outbox", schema=_schema(conn))
            assert inspect(conn).has_table("audit_log", schema=_schema(conn))
            assert conn.execute(select(AuditEntry.seq, AuditEntry.record_id)
                                .order_by(AuditEntry.seq)).all() == [(1, 11), (2, 12), (3, 13)]
        _to(engine, "0002", down=True)
        outbox = Table("outbox", MetaData(), autoload_with=engine, schema=SCHEMA)
        with engine.connect() as conn:
            assert conn.execute(select(outbox.c.seq, outbox.c.record_id)
                                .order_by(outbox.c.seq)).all() == [(1, 11), (2, 12), (3, 13)]
    finally:
        engine.dispose()


def test_0003_refuses_a_feed_that_does_not_match_the_audit_log(db_url: str) -> None:
    engine = make_engine(db_url, SCHEMA)
    try:
        _to(engine, "0002")
        _old_feed(engine, 2)  # an audit entry without its event: cursors would shift
        with pytest.raises(RuntimeError, match="do not match one to one"):
            _to(engine, "0003")
        with engine.connect() as conn:  # left as it was
            assert inspect(conn).has_table("outbox", schema=_schema(conn))
            assert MigrationContext.configure(conn, opts={
                "version_table_schema": _schema(conn)}).get_current_revision() == "0002"
    finally:
        engine.dispose()


_START = """
import sys
from services.records.store import open_store
from services.scoring.store import open_grade_store
open_store(sys.argv[1]).engine.dispose()
open_grade_store(sys.argv[1]).engine.dispose()
"""


@pytest.mark.postgres
def test_replicas_starting_together_migrate_one_at_a_time(pg_url: str) -> None:
    # A first deploy starts every replica at once on an empty database: unlocked, their
    # CREATE SCHEMA and CREATE TABLE collided in the catalog and most of them failed.
    root = Path(__file__).resolve().parents[2]
    starts = [subprocess.Popen([sys.executable, "-c", _START, pg_url], cwd=root,
                               stderr=subprocess.PIPE) for _ in range(3)]
    errors = [p.communicate(timeout=120)[1].decode() for p in starts]
    assert [p.returncode for p in starts] == [0, 0, 0], errors
    store = open_store(pg_url)
    with store.engine.connect() as conn:
        assert MigrationContext.configure(conn, opts={"version_table_schema": SCHEMA}
                                          ).get_current_revision() is not None
    store.engine.dispose()
