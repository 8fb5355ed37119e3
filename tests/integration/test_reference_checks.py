"""The bulk writer's per-batch reference check on real PostgreSQL: the per-row foreign-key
triggers are skipped only for one transaction, only where the role may, and ingestion works
the same without the privilege."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import make_url, text

from services.common.db import skip_row_reference_checks
from services.records.ingest import ingest
from services.records.store import open_store
from tests.conftest import MEDICAL, PII_KEY, TODAY
from tests.factories import medical, uscc

pytestmark = pytest.mark.postgres


def test_skipped_for_one_transaction_only(pg_url: str) -> None:
    store = open_store(pg_url, pii_key=PII_KEY, clock=lambda: TODAY)
    try:
        with store.writer() as s:
            assert skip_row_reference_checks(s)  # the test server's role is a superuser
            assert s.execute(text("SHOW session_replication_role")).scalar() == "replica"
        with store.sessions() as s:
            assert s.execute(text("SHOW session_replication_role")).scalar() == "origin"
    finally:
        store.engine.dispose()


def test_a_role_without_the_privilege_keeps_the_triggers(pg_url: str) -> None:
    role = "credit_plain_writer"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            conn.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER")
        database = conn.execute("SELECT current_database()").fetchone()
        assert database is not None
        conn.execute(f'GRANT CREATE ON DATABASE "{database[0]}" TO {role}')
    url = make_url(pg_url).set(username=role).render_as_string(hide_password=False)
    store = open_store(url, pii_key=PII_KEY, clock=lambda: TODAY)
    try:
        with store.writer() as s:
            assert not skip_row_reference_checks(s)
            assert s.execute(text("SHOW session_replication_role")).scalar() == "origin"
        results = ingest(store, MEDICAL, [medical("m-1", uscc(1)), medical("m-2", uscc(2))])
        assert [r.outcome for r in results] == ["created", "created"]
    finally:
        store.engine.dispose()
        with psycopg.connect(pg_url, autocommit=True) as conn:
            # The role owns the schema it created in this throwaway database; DROP OWNED
            # also takes back the grant on the database, so the role can go.
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
