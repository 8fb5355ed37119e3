"""The Alembic migrations produce exactly the schema the models describe."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, MetaData, Table, inspect, select, update

from services.common.db import make_engine, migrate
from services.common.workdays import default_calendar
from services.records.ingest import ingest
from services.records.models import SCHEMA, AuditEntry, Base, Record
from services.records.store import MIGRATIONS, open_store
from tests.conftest import HR, PII_KEY, TODAY
from tests.factories import hr, uscc


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
        assert MigrationContext.configure(conn).get_current_revision() == "0004"
    store.engine.dispose()


def _to(engine: Engine, revision: str, *, down: bool = False, today: date | None = None) -> None:
    migrate(engine, MIGRATIONS, SCHEMA, revision, down=down, today=today)


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


def test_0004_moves_stored_periods_to_their_corresponding_day_and_back(db_url: str) -> None:
    """Records stored before 0004 counted the start day; 0004 moves their ends and repair
    dates one day later (the new rows' own dates, from ingestion), and back on downgrade."""
    store = open_store(db_url, pii_key=PII_KEY, calendar=default_calendar(),
                       clock=lambda: TODAY)
    try:
        results = ingest(store, HR, [
            hr("old", uscc(1), tier="grave", decided="2020-06-01"),  # 严重, ended in 2023
            hr("new", uscc(2), tier="grave", decided="2025-06-01"),  # 严重, 36 months
            hr("min", uscc(3), tier="minor", decided="2025-06-01")])  # 轻微, unpublished
        assert [r.outcome for r in results] == ["created"] * 3
        columns = select(Record.source_record_id, Record.publication_end,
                         Record.repair_eligible_from).order_by(Record.source_record_id)
        with store.engine.connect() as conn:
            now = conn.execute(columns).all()
        assert now == [("min", date(2025, 9, 2), date(2025, 6, 1)),
                       ("new", date(2028, 6, 2), date(2026, 6, 2)),
                       ("old", date(2023, 6, 2), date(2021, 6, 2))]
        _to(store.engine, "0003", down=True)
        with store.engine.connect() as conn:
            assert conn.execute(columns).all() == [
                ("min", date(2025, 9, 1), date(2025, 6, 1)),
                ("new", date(2028, 6, 1), date(2026, 6, 1)),
                ("old", date(2023, 6, 1), date(2021, 6, 1))]
        with store.engine.begin() as conn:  # the sweeper had announced every end by then
            conn.execute(update(Record).values(end_announced=True))
        _to(store.engine, "0004", today=date(2028, 6, 1))  # the services' date, e.g. pinned
        with store.engine.connect() as conn:
            assert conn.execute(columns).all() == now
            announced = dict(conn.execute(select(Record.source_record_id,
                                                 Record.end_announced)).all())
        # Still published on the services' today: announced again when it ends. On
        # 2028-06-02 it would have ended (the sweeper announces ends on or before today).
        assert announced == {"old": True, "new": False, "min": True}
        _to(store.engine, "0003", down=True)
        with store.engine.begin() as conn:
            conn.execute(update(Record).values(end_announced=True))
        _to(store.engine, "0004", today=date(2028, 6, 2))
        with store.engine.connect() as conn:
            assert all(conn.execute(select(Record.end_announced)).scalars())
    finally:
        store.engine.dispose()


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
