"""Shared fixtures: real SQLite files and real PostgreSQL databases, never mocks.

PostgreSQL tests run against TEST_POSTGRES_URL (default: the local server). Each session
gets its own throw-away database. When REQUIRE_POSTGRES=1 (set by .ci/run) an unreachable
server fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest

from services.common.auth import Principal
from services.common.workdays import default_calendar
from services.records.store import Store, open_store

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PII_KEY = b"test-key-" + b"x" * 32
TODAY = date(2025, 11, 20)


def _admin_conn() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    try:
        _admin_conn().close()
    except psycopg.OperationalError as exc:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but unreachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}")
    yield PG_URL


def fresh_pg_database(server_url: str) -> tuple[str, str]:
    name = f"credit_test_{uuid.uuid4().hex[:12]}"
    with _admin_conn() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name, name


def retype_entity_name(url: str, length: int) -> None:
    """A migration run by another replica while the services serve: it changes the type of a
    column their prepared statements select. A transaction left open on the table fails it."""
    with psycopg.connect(url) as conn:
        conn.execute("SET LOCAL lock_timeout = '10s'")
        conn.execute(f"ALTER TABLE records.entities ALTER COLUMN name TYPE varchar({length})")


def drop_pg_database(name: str) -> None:
    with _admin_conn() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    url, name = fresh_pg_database(pg_server)
    yield url
    drop_pg_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/records.db"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = open_store(db_url, pii_key=PII_KEY, calendar=default_calendar(), clock=lambda: TODAY)
    yield s
    s.engine.dispose()


def principal(department: str | None, *roles: str) -> Principal:
    return Principal(name=f"{department or 'x'}-{'-'.join(roles)}", department=department,
                     roles=frozenset(roles))


MEDICAL = principal("medical_insurance", "department")
FIRE = principal("fire_rescue", "department")
CREDIT = principal("credit_office", "department")
HR = principal("hr_social_security", "department")
ADMIN = principal(None, "admin")
REGULATOR = principal(None, "regulator")
