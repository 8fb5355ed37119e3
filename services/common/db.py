"""Database plumbing shared by the services: engines, schemas, migrations, bulk writes.

Each service owns one schema. On PostgreSQL that is a real schema (`records`, `scoring`);
on the embedded SQLite default each service has its own file, so the schema name is
translated away. Writers serialise on one lock per service (an advisory lock on
PostgreSQL, BEGIN IMMEDIATE on SQLite) so that ids and the audit hash chain (whose sequence
is also the change-feed cursor) are assigned in commit order.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


MAX_ID = 2**63 - 1  # BIGINT, the type of every id column


def parse_id(text: str) -> int | None:
    """A row id sent as text: 1 to 19 ASCII digits within BIGINT, else None (no such row).
    str.isdigit alone admits '²' and '٣', which int() then refuses or reads."""
    if not (0 < len(text) <= 19 and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def encode_id_token(kind: str, last_id: int) -> str:
    """A keyset page token: the last row id shown, tagged with the listing's kind."""
    return base64.urlsafe_b64encode(f"{kind}:{last_id}".encode()).decode()


def decode_id_token(kind: str, token: str) -> int | None:
    """The last id of a token encode_id_token issued for `kind`; None for anything else."""
    try:
        tag, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):  # not base64, not UTF-8
        return None
    return parse_id(value) if tag == kind else None


def is_postgres(bind: Engine | Connection | Session) -> bool:
    return bind.get_bind().dialect.name == "postgresql" if isinstance(bind, Session) else (
        bind.dialect.name == "postgresql"
    )


def make_engine(url: str, schema: str, *, pool_size: int = 10) -> Engine:
    """An engine for one service's schema; SQLite gets WAL and immediate transactions."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, hide_parameters=True,
            connect_args={"isolation_level": None, "check_same_thread": False, "timeout": 30},
            execution_options={"schema_translate_map": {schema: None}},
        )
        _sqlite_pragmas(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # No server-side prepared statements: a generic plan cached while a table was still small
    # keeps scanning it sequentially after it has grown (seen in the ingestion benchmark).
    # hide_parameters: a database error's text (logged with its traceback) would otherwise
    # carry the statement's values, i.e. request data.
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                         hide_parameters=True, connect_args={"prepare_threshold": None})


@contextmanager
def read_session(factory: sessionmaker[Session], *, snapshot: bool = False
                 ) -> Iterator[Session]:
    """A session for reads. On PostgreSQL its transaction is READ ONLY (and REPEATABLE READ
    with `snapshot`: all its statements see one snapshot) and ends with COMMIT: a write
    attempted in it fails instead of slipping past the writer lock, and it leaves the
    connection's prepared statements in place, which a ROLLBACK would make psycopg deallocate
    (see snapshot_read). An exception ends it with a ROLLBACK, as any session."""
    with factory() as session:
        if is_postgres(session):
            session.connection().exec_driver_sql(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY" if snapshot
                else "SET TRANSACTION READ ONLY")
        yield session
        session.commit()


def snapshot_read(factory: sessionmaker[Session], read: Callable[[Session], T]) -> T:
    """`read(session)` in a read-only session whose statements all see one snapshot:
    PostgreSQL's REPEATABLE READ READ ONLY (read-only, so it never fails to serialise); on
    SQLite a read transaction in WAL mode is one already.

    On PostgreSQL its statements are also prepared on the server and run prepared again by
    later reads on the same pooled connection: for reads of one fixed shape run very often,
    whose planning costs more than their running (a credit file's: about 1 ms of planning
    each against 0.2 ms), and only look-ups by key, whose plan cannot go stale as tables grow
    (see make_engine). The read ends with COMMIT, since on a ROLLBACK psycopg deallocates
    every statement the connection has prepared (so does any other session's ROLLBACK on
    that connection: the next read prepares again). A migration that changes a column's type
    under running services makes a prepared statement fail ("cached plan must not change
    result type"); that read is run once more, freshly prepared."""
    for attempt in (1, 2):
        try:
            return _snapshot_read_once(factory, read)
        except DBAPIError as exc:
            if attempt == 2 or not stale_prepared_statement(exc):
                raise
            log.info("a prepared statement went stale (schema change); reading again")
    raise AssertionError("unreachable")


def _snapshot_read_once(factory: sessionmaker[Session], read: Callable[[Session], T]) -> T:
    with read_session(factory, snapshot=True) as session:
        if not is_postgres(session):
            return read(session)
        raw = session.connection().connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        raw.prepare_threshold = 0
        try:
            return read(session)
        finally:
            # Before read_session's COMMIT: the commit gives the connection back to the pool,
            # where another thread may take it at once.
            raw.prepare_threshold = None


def stale_prepared_statement(exc: BaseException) -> bool:
    """Whether `exc` (psycopg's, or SQLAlchemy's wrapping it) is the error of a statement
    prepared before a schema change, or of one the server no longer has."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(orig, psycopg.errors.InvalidSqlStatementName):
        return True
    return (isinstance(orig, psycopg.errors.FeatureNotSupported)
            and "cached plan must not change result type" in str(orig))


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    # pysqlite's own transaction handling is off (isolation_level=None); begin explicitly and
    # IMMEDIATE so a writer takes the database lock up front instead of failing on upgrade.
    # An AUTOCOMMIT connection gets none: SQLAlchemy still "begins" it, and a BEGIN here
    # would pin a kept connection's reads to one snapshot for good (KeptConnections).
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get("writer") else "BEGIN")


class KeptConnections:
    """Autocommit connections kept out of the pool for one hot read path (Evaluate's
    lookups): a pooled use costs a checkout, a pre-ping round trip, two isolation switches
    and a reset, about as much as the query. Each connection serves one thread at a time. At
    most `most` are kept (the path's usual concurrency): a use beyond them borrows from the
    pool and gives back, so the engine's other users (the change consumer, Regrade) are
    never starved.

    A connection whose work failed is dropped, never kept. One that died while kept (the
    server restarted: what the pool's pre-ping catches) fails its next use with the
    connection found broken; that use is then run once more on a fresh connection, so callers
    see a failure only if the database is really unreachable. Any other error (a statement
    timeout, a cancel, a lock) is the caller's, not retried."""

    def __init__(self, engine: Engine, most: int) -> None:
        if most < 1:
            raise ValueError("most must be at least 1")
        self.engine, self.most = engine, most
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def run(self, work: Callable[[Connection], T]) -> T:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        while True:
            fresh = conn is None
            if conn is None:
                conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                result = work(conn)
            except BaseException as exc:
                lost = _connection_lost(conn, exc)
                if lost and not conn.invalidated:
                    conn.invalidate()  # not back to the pool: its reset would fail too
                conn.close()
                if fresh or not lost:
                    raise
                conn = None
                continue
            with self._lock:
                keep = not self._closed and len(self._idle) < self.most
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()
            return result

    def close(self) -> None:
        """Gives the kept connections back; uses still running give theirs back when done."""
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
        for conn in idle:
            conn.close()


def _connection_lost(conn: Connection, exc: BaseException) -> bool:
    """Whether `exc` left `conn` unusable: SQLAlchemy saw a disconnect, or the driver's
    connection is broken (hot paths run statements on the driver's own cursor too)."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if conn.invalidated or conn.closed:
        return True
    raw = conn.connection.driver_connection
    return isinstance(raw, psycopg.Connection) and (raw.broken or raw.closed)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def writer(factory: sessionmaker[Session], lock_name: str) -> Iterator[Session]:
    """A write transaction holding the service's writer lock until commit."""
    with factory() as session:
        conn = session.connection(execution_options={"writer": True})
        if is_postgres(conn):
            session.execute(
                text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(lock_name.encode())}
            )
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class SessionLock:
    """A lock one process holds at a time across replicas: a PostgreSQL session advisory lock
    on a connection of its own (released when that connection ends, e.g. the process dies).
    On SQLite, where a single process serves, it is always granted. Blocking calls: run them
    off the event loop; they may come from different threads, never at once."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine, self.key = engine, zlib.crc32(name.encode())
        self.postgres = is_postgres(engine)
        self._conn: Connection | None = None
        self._mutex = threading.Lock()
        # The lock's backend process while held: writes can check it in their own
        # transaction (see holds) and so never land after the lock has passed on.
        self.pid: int | None = None

    def try_acquire(self) -> bool:
        if not self.postgres:
            return True
        with self._mutex:
            try:
                if self._conn is None:
                    # Autocommit: holding the lock must not keep a transaction open for hours.
                    self._conn = self.engine.connect().execution_options(
                        isolation_level="AUTOCOMMIT")
                held, pid = self._conn.execute(
                    text("SELECT pg_try_advisory_lock(:k), pg_backend_pid()"),
                    {"k": self.key}).one()
                if held:
                    self.pid = int(pid)
                return bool(held)
            except Exception:
                self._drop()  # a dead connection: the next try starts on a fresh one
                raise

    def alive(self) -> bool:
        """Whether the lock is still held: False once its connection has gone."""
        if not self.postgres:
            return True
        with self._mutex:
            if self._conn is None:
                return False
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:  # the session, and so the lock, may be gone
                self._drop()
                return False

    def holds(self, conn: Connection | Session) -> bool:
        """Whether the lock is held, asked on `conn` (e.g. inside a write transaction)."""
        if not self.postgres:
            return True
        if self.pid is None:
            return False
        # A one-number advisory key shows as classid 0 (high half), objid (low half).
        return bool(conn.execute(text(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND pid = :pid AND classid = 0 AND objid = :k AND objsubid = 1)"),
            {"pid": self.pid, "k": self.key}).scalar())

    def release(self) -> None:
        with self._mutex:
            if self._conn is None:
                return
            # A failure means the connection is gone, and the lock with it.
            with suppress(Exception):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self._drop()

    def _drop(self) -> None:
        conn, self._conn, self.pid = self._conn, None, None
        if conn is not None:
            # Never back into the pool: a session that held the lock is not reused.
            conn.invalidate()
            conn.close()


def skip_row_reference_checks(session: Session) -> bool:
    """Switches off PostgreSQL's per-row foreign-key triggers for the rest of this transaction
    (`session_replication_role = replica`, as pg_restore and logical replication do); returns
    whether it did. Only for a bulk writer that assigned every reference itself under its
    writer lock and then proves them with `missing_ids`, one query per batch: the per-row
    checks cost about 6 µs per key per row (two keys: ~12 µs a record, measured with COPY).
    Needs a superuser or, from PostgreSQL 15, `GRANT SET ON PARAMETER session_replication_role`;
    without it the triggers stay on and nothing else changes."""
    conn = session.connection()
    if not is_postgres(conn):
        return False
    info = conn.connection.info  # per database connection, so the probe runs once on each
    if "may_skip_ri" not in info:
        # Parameter privileges exist from PostgreSQL 15; before, only a superuser may.
        probe = ("SELECT has_parameter_privilege('session_replication_role', 'SET')"
                 if (conn.dialect.server_version_info or (0,)) >= (15,) else
                 "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        info["may_skip_ri"] = bool(conn.execute(text(probe)).scalar())
    if not info["may_skip_ri"]:
        return False
    conn.execute(text("SET LOCAL session_replication_role = replica"))
    return True


def missing_ids(session: Session, table: Table, ids: set[int]) -> set[int]:
    """Which of `ids` have no row in `table` (as this transaction sees it)."""
    found: set[int] = set()
    for cond in where_in(session, table.c.id, sorted(ids)):
        found.update(session.execute(select(table.c.id).where(cond)).scalars())
    return ids - found


def where_in(session: Session, column: Any, values: Sequence[Any]) -> Iterator[Any]:
    """Predicates selecting `column IN values`: one `= ANY(array)` on PostgreSQL (one bind,
    one plan), chunks below SQLite's bound-parameter cap elsewhere."""
    if not values:
        return
    if is_postgres(session):
        yield column == any_(bindparam("values", list(values), type_=ARRAY(column.type)))
        return
    for i in range(0, len(values), 900):
        yield column.in_(values[i:i + 900])


def next_id(session: Session, table: Table, column: str = "id") -> int:
    """The next free id of `table`; only valid under the writer lock."""
    current = session.execute(select(func.max(table.c[column]))).scalar()
    return int(current or 0) + 1


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Inserts many rows by the engine's fast path: COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    conn = session.connection()
    if not is_postgres(conn):
        session.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    # JSON columns get their JSON text, everything else psycopg adapts.
    json_at = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    qualified = f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'
    cols = ", ".join(f'"{c}"' for c in columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    # Rows often share the very same list or dict (e.g. a rule's legal basis): encode once.
    encoded: dict[int, str] = {}

    def as_json(value: Any) -> str:
        key = id(value)
        if key not in encoded:
            encoded[key] = _json_text(value)
        return encoded[key]

    # One C-level getter per batch instead of a per-column Python loop per row.
    values = itemgetter(*columns) if len(columns) > 1 else (lambda r: (r[columns[0]],))
    # Binary COPY when every column's type is known: less to format here and to parse there.
    types = [_copy_type(table.c[c].type) for c in columns]
    binary = None not in types
    statement = f"COPY {qualified} ({cols}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")
    try:
        with raw.cursor() as cur, cur.copy(statement) as copy:
            if binary:
                copy.set_types(types)
            write = copy.write_row
            if not json_at:
                for row in rows:
                    write(values(row))
            else:
                for row in rows:
                    out = list(values(row))
                    for i in json_at:
                        out[i] = as_json(out[i])
                    write(out)
    except psycopg.IntegrityError as exc:
        # Callers handle constraint races the same way on every engine.
        raise IntegrityError(statement, None, exc) from exc


_JSON_TEXTS: dict[tuple[Any, ...], str] = {}


def _json_text(value: Any) -> str:
    """JSON text of a column value; flat dicts of scalars (e.g. a record's facts, which
    repeat across records) are remembered by content, in a bounded cache."""
    if type(value) is not dict:
        return json.dumps(value, ensure_ascii=False)
    # Types are part of the key: True == 1 == 1.0 as keys, not as JSON.
    key = (*value.items(), *map(type, value.values()))
    try:
        return _JSON_TEXTS[key]
    except KeyError:
        pass
    except TypeError:  # a list or dict inside: not hashable, not remembered
        return json.dumps(value, ensure_ascii=False)
    if len(_JSON_TEXTS) >= 16_384:  # about 10 MB at most
        _JSON_TEXTS.clear()
    text = _JSON_TEXTS[key] = json.dumps(value, ensure_ascii=False)
    return text


def _copy_type(t: Any) -> str | None:
    """The PostgreSQL type a column's values are sent as in binary COPY, None if unknown.
    JSON goes as text: json's binary form is its text."""
    if isinstance(t, JSON | String):
        return "text"
    if isinstance(t, BigInteger):
        return "int8"
    if isinstance(t, Integer):
        return "int4"
    if isinstance(t, Boolean):
        return "bool"
    if isinstance(t, DateTime):
        return "timestamptz" if t.timezone else "timestamp"
    if isinstance(t, Date):
        return "date"
    return None


def migrate(engine: Engine, script_location: Path, schema: str, revision: str = "head", *,
            down: bool = False, today: date | None = None) -> None:
    """Brings the schema to an Alembic revision, by default the newest (creating the schema on
    PostgreSQL); `down` goes back to an older one. `today`: the service's date, for the data
    migrations that depend on it (config attribute "today")."""
    with engine.begin() as conn:
        if is_postgres(conn):
            # Replicas starting together migrate one at a time (held to commit); the others
            # then find the schema at head. Unlocked, they collided in the catalog and most
            # exited with a traceback on a first deploy.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                         {"key": f"credit.migrate.{schema}"})
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        cfg = Config()
        cfg.set_main_option("script_location", str(script_location))
        cfg.attributes["connection"] = conn
        cfg.attributes["schema"] = schema
        cfg.attributes["today"] = today
        (command.downgrade if down else command.upgrade)(cfg, revision)


def run_migrations(metadata: MetaData, schema: str,
                   version_table: str = "alembic_version") -> None:
    """The body of every service's Alembic env.py (called by `migrate` through Alembic)."""
    from alembic import context

    connection = context.config.attributes["connection"]
    postgres = connection.dialect.name == "postgresql"
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table,
        version_table_schema=schema if postgres else None,
        include_schemas=True,
        render_as_batch=not postgres,
    )
    with context.begin_transaction():
        context.run_migrations()
