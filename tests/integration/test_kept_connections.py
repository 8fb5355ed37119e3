"""KeptConnections on a real PostgreSQL: connections are kept between uses, a connection
that died while kept is replaced without the caller noticing, a failed use drops its
connection, and an unreachable database fails at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, OperationalError

from services.common.db import KeptConnections, make_engine

postgres = pytest.mark.postgres


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    e = make_engine(pg_url, "records")
    yield e
    e.dispose()


def backend_pid(conn: Connection) -> int:
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def raw_backend_pid(conn: Connection) -> int:
    """The same through the driver's own cursor, as Evaluate's prepared statement runs."""
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return int(cur.fetchone()[0])


def terminate(pg_url: str, pid: int) -> None:
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


@postgres
def test_a_connection_is_kept_between_uses_in_autocommit(engine: Engine) -> None:
    kept = KeptConnections(engine, 1)
    first = kept.run(backend_pid)
    assert kept.run(backend_pid) == first
    # Autocommit: a read leaves no transaction open on the kept connection.
    status = kept.run(lambda c: c.connection.driver_connection.info.transaction_status  # type: ignore[union-attr]
                      )
    assert status == psycopg.pq.TransactionStatus.IDLE
    assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]  # held, not pooled
    kept.close()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


@postgres
@pytest.mark.parametrize("read", [backend_pid, raw_backend_pid])
def test_a_connection_that_died_while_kept_is_replaced_unseen(
        engine: Engine, pg_url: str, read: Any) -> None:
    kept = KeptConnections(engine, 1)
    first = kept.run(read)
    terminate(pg_url, first)  # the server restarted, say, while it sat idle
    calls = []

    def work(conn: Connection) -> int:
        calls.append(1)
        return int(read(conn))

    second = kept.run(work)
    assert second != first
    assert len(calls) == 2  # tried on the dead one, then once on a fresh one
    assert kept.run(read) == second  # and the fresh one is kept


@postgres
def test_a_failed_use_drops_its_connection_and_is_not_retried(engine: Engine) -> None:
    kept = KeptConnections(engine, 1)
    kept.run(backend_pid)
    calls = []

    def bad(conn: Connection) -> None:
        calls.append(1)
        conn.execute(text("SELECT 1 / 0"))

    with pytest.raises(DBAPIError, match="division by zero"):
        kept.run(bad)
    assert len(calls) == 1
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]  # not kept
    assert kept.run(backend_pid) > 0  # the next use is served as usual


@postgres
def test_an_unreachable_database_fails_at_once() -> None:
    e = make_engine("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2", "records")
    try:
        with pytest.raises(OperationalError):
            KeptConnections(e, 1).run(backend_pid)
    finally:
        e.dispose()


@postgres
def test_concurrent_users_get_their_own_connections_and_only_most_are_kept(
        engine: Engine) -> None:
    kept = KeptConnections(engine, 2)
    inside = threading.Barrier(3)
    pids: list[int] = []

    def work(conn: Connection) -> None:
        pids.append(backend_pid(conn))
        inside.wait(timeout=10)  # all three hold a connection at once

    threads = [threading.Thread(target=kept.run, args=(work,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len(set(pids)) == 3
    # Two are kept; the third went back to the pool for the engine's other users.
    assert engine.pool.checkedout() == 2  # type: ignore[attr-defined]
    assert {kept.run(backend_pid) for _ in range(3)} <= set(pids)
    kept.close()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    kept.run(backend_pid)  # after close, a use still works but keeps nothing
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


@postgres
def test_a_statement_timeout_is_the_callers_and_not_run_again(engine: Engine) -> None:
    kept = KeptConnections(engine, 1)
    first = kept.run(backend_pid)
    calls = []

    def slow(conn: Connection) -> None:
        calls.append(1)
        conn.execute(text("SET statement_timeout = 200"))
        try:
            conn.execute(text("SELECT pg_sleep(2)"))
        finally:
            conn.execute(text("SET statement_timeout = 0"))

    with pytest.raises(OperationalError, match="statement timeout"):
        kept.run(slow)
    assert len(calls) == 1  # a healthy connection: the error is the caller's, no retry
    assert kept.run(backend_pid) > 0 and first > 0


@pytest.mark.parametrize("url", [pytest.param("sqlite", id="sqlite"),
                                 pytest.param("postgres", id="postgres", marks=postgres)])
def test_a_kept_connection_sees_what_others_commit_after_it(
        url: str, tmp_path: Any, request: pytest.FixtureRequest) -> None:
    # SQLAlchemy "begins" even an autocommit connection; on SQLite a BEGIN then would have
    # pinned the kept connection to its first snapshot.
    if url == "sqlite":
        url = f"sqlite:///{tmp_path}/kept.db"
    else:
        url = str(request.getfixturevalue("pg_url"))
    e = make_engine(url, "records")
    try:
        with e.begin() as c:
            c.execute(text("CREATE TABLE t (v INTEGER)"))
        kept = KeptConnections(e, 1)

        def count(conn: Connection) -> int:
            return int(conn.execute(text("SELECT count(*) FROM t")).scalar_one())

        assert kept.run(count) == 0
        for n in (1, 2):
            with e.begin() as c:
                c.execute(text("INSERT INTO t VALUES (1)"))
            assert kept.run(count) == n
        kept.close()
    finally:
        e.dispose()
