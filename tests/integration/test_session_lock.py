"""The cross-replica SessionLock on real PostgreSQL (one holder; lost with its connection;
a fresh connection after a failure) and on SQLite (always granted: one process serves)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from services.common.db import SessionLock, make_engine


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url, "locks")
    yield engine
    engine.dispose()


def _terminate(url: str, pid: int) -> None:
    """Ends a backend and waits until it is gone (termination is asynchronous)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))


@pytest.mark.postgres
def test_one_holder_and_the_lock_goes_with_its_connection(engine: Engine, pg_url: str) -> None:
    a, b = SessionLock(engine, "test.lock"), SessionLock(engine, "test.lock")
    other = SessionLock(engine, "test.other-lock")
    assert a.try_acquire() and not b.try_acquire() and other.try_acquire()
    with engine.connect() as conn:
        assert a.holds(conn) and not b.holds(conn)
    assert a.alive() and b.alive() is True  # b's connection lives, though it holds nothing
    assert a.pid is not None
    _terminate(pg_url, a.pid)  # as a database restart or a dead network would
    assert not a.alive()
    with engine.connect() as conn:
        assert not a.holds(conn)
    assert b.try_acquire()
    # a starts on a fresh connection and finds the lock taken.
    assert not a.try_acquire()
    assert b.pid is not None
    _terminate(pg_url, b.pid)
    # b's connection died under it: the failed call drops it, the next one works again.
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises for a dead link
        b.try_acquire()
    assert b.try_acquire()
    b.release()
    assert a.try_acquire()
    for lock in (a, b, other):
        lock.release()


def test_sqlite_grants_the_lock(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db", "locks")
    lock = SessionLock(engine, "test.lock")
    with engine.connect() as conn:
        assert lock.try_acquire() and lock.alive() and lock.holds(conn)
    lock.release()
    engine.dispose()
