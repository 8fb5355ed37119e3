"""The grade store: the scoring schema's engine, its writer lock and the bulk grade writer.

`write_grades` is set-based on both engines: the rows go into a temporary staging table
(COPY on PostgreSQL, executemany on SQLite), then one INSERT … SELECT appends history for the
entities whose grade or score changed and one INSERT … ON CONFLICT DO UPDATE … WHERE changed
upserts the grades. Unchanged entities are not rewritten at all, so a daily full re-grade
costs writes only for what moved.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import BindParameter

from services.common.db import is_postgres, make_engine, session_factory, writer
from services.common.db import migrate as migrate_schema
from services.scoring.models import SCHEMA, ConsumerCursor, Grade, GradeHistory, Json

__all__ = ["CURSOR", "LOCK_NAME", "GradeRow", "GradeStore", "WriteResult", "open_grade_store",
           "store_cursor", "write_grades"]

MIGRATIONS = Path(__file__).parent / "migrations"
LOCK_NAME = "credit.scoring.writer"

_GRADES: Table = Grade.__table__  # type: ignore[assignment]
_HISTORY: Table = GradeHistory.__table__  # type: ignore[assignment]


class GradeRow(NamedTuple):
    """One entity's evaluation as the bulk writer takes it."""

    entity_key: str
    entity_id: int
    grade: str
    score: float
    score_grade: str
    decided_by: str
    reasons: tuple[str, ...]  # reason codes, largest points lost first (at most 4)
    model_version: str
    policy_version: str
    # Entity attributes copied for the tiered lists (models.Grade).
    kind: str
    name: str
    display_id: str
    region_code: str
    industry: str
    sources: int


_COLUMNS = GradeRow._fields
# What makes a grade row "changed"; as_of, graded_at and cause only describe the evaluation.
_CONTENT = tuple(c for c in _COLUMNS if c != "entity_key")

# Per transaction, without a schema: a temporary table lives in the session's own namespace.
_STAGE = Table(
    "grade_stage", MetaData(),
    Column("entity_key", String(80), nullable=False),
    Column("entity_id", BigInteger, nullable=False),
    Column("grade", String(1), nullable=False),
    Column("score", Float, nullable=False),
    Column("score_grade", String(1), nullable=False),
    Column("decided_by", String(40), nullable=False),
    Column("reasons", Json, nullable=False),
    Column("model_version", String(100), nullable=False),
    Column("policy_version", String(100), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("display_id", String(32), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("industry", String(1), nullable=False),
    Column("sources", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
assert tuple(_STAGE.c.keys()) == _COLUMNS


class WriteResult(NamedTuple):
    written: int  # grade rows inserted or changed
    history: int  # history rows appended (new entities and changed grades or scores)


@dataclass
class GradeStore:
    engine: Engine
    _factory: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self._factory = session_factory(self.engine)

    @contextmanager
    def sessions(self) -> Iterator[Session]:
        with self._factory() as session:
            yield session

    def writer(self) -> AbstractContextManager[Session]:
        """A write transaction holding the scoring writer lock: concurrent writers (shards of
        a bulk job, the change-feed consumer) then never interleave between reading a grade
        for its history row and replacing it."""
        return writer(self._factory, LOCK_NAME)


def open_grade_store(url: str, migrate: bool = True, *, pool_size: int = 10) -> GradeStore:
    engine = make_engine(url, SCHEMA, pool_size=pool_size)
    if migrate:
        migrate_schema(engine, MIGRATIONS, SCHEMA)
    return GradeStore(engine)


def write_grades(session: Session, rows: Sequence[GradeRow], cause: str, as_of: date, *,
                 graded_at: datetime | None = None,
                 unless_graded_since: datetime | None = None,
                 confirm: bool = False) -> WriteResult:
    """Upserts `rows` and appends history for every entity whose grade or score changed
    (or that had none). Idempotent: the same rows again write nothing. Call it inside
    `GradeStore.writer()`; entity keys must be unique within one call.

    `unless_graded_since`: entities whose stored grade was written at or after it are left
    alone. A bulk run passes the time it began reading: a grade the change feed wrote since
    comes from newer records than the run's snapshot and must not be overwritten by it.
    `confirm`: an unchanged grade gets `graded_at` too (no history row): the change feed's
    writes say "evaluated on current records at this time", which a bulk run that read
    earlier must then respect."""
    if not rows:
        return WriteResult(0, 0)
    if len({r.entity_key for r in rows}) != len(rows):
        raise ValueError("write_grades: duplicate entity keys in one call")
    if len(cause) > 40:
        raise ValueError(f"write_grades: cause {cause!r} is longer than 40 characters")
    graded_at = graded_at or datetime.now(UTC)
    postgres = is_postgres(session)
    conn = session.connection()
    drop = "DROP TABLE IF EXISTS " + ("pg_temp" if postgres else "temp") + ".grade_stage"
    conn.exec_driver_sql(drop)
    _STAGE.create(conn)
    _fill_stage(session, rows, postgres)
    s, g = _STAGE.c, _GRADES.c
    if unless_graded_since is not None:
        session.execute(delete(_STAGE).where(s.entity_key.in_(
            select(g.entity_key).where(g.graded_at >= bindparam(
                "since", unless_graded_since, type_=DateTime(timezone=True))))))
    evaluation: dict[str, BindParameter[Any]] = {
        "as_of": bindparam("as_of", as_of, type_=Date()),
        "graded_at": bindparam("graded_at", graded_at, type_=DateTime(timezone=True)),
        "cause": bindparam("cause", cause, type_=String()),
    }
    # History first: it needs the old grade, which the upsert replaces.
    changed = (
        select(s.entity_key, g.grade, s.grade, s.score, evaluation["cause"], s.model_version,
               s.policy_version, evaluation["as_of"], evaluation["graded_at"])
        .select_from(_STAGE.outerjoin(_GRADES, g.entity_key == s.entity_key))
        .where(or_(g.entity_key.is_(None), g.grade != s.grade, g.score != s.score))
    )
    # The cursor is closed at once (no rows): keep its rowcount readable.
    counted = {"preserve_rowcount": True}
    history = session.execute(insert(_HISTORY).from_select(
        ["entity_key", "previous_grade", "grade", "score", "cause", "model_version",
         "policy_version", "as_of", "graded_at"], changed), execution_options=counted)
    # WHERE true: SQLite's parser needs it between INSERT … SELECT and ON CONFLICT. In key
    # order, the key indexes are walked in sequence rather than at random (bulk re-grade).
    source = (select(*(s[c] for c in _COLUMNS), *evaluation.values()).where(true())
              .order_by(s.entity_key))
    dialect_insert = postgresql.insert if postgres else sqlite.insert
    upsert = dialect_insert(_GRADES).from_select([*_COLUMNS, *evaluation], source)
    upsert = upsert.on_conflict_do_update(
        index_elements=[g.entity_key],
        set_={c: upsert.excluded[c] for c in (*_CONTENT, *evaluation)},
        where=or_(*(g[c].is_distinct_from(upsert.excluded[c]) for c in _CONTENT)),
    )
    written = session.execute(upsert, execution_options=counted)
    if confirm:
        session.execute(update(_GRADES).where(g.entity_key.in_(select(s.entity_key)))
                        .values(graded_at=bindparam("confirmed_at", graded_at,
                                                    type_=DateTime(timezone=True))))
    conn.exec_driver_sql(drop)
    return WriteResult(int(written.rowcount), int(history.rowcount))  # type: ignore[attr-defined]


def _fill_stage(session: Session, rows: Sequence[GradeRow], postgres: bool) -> None:
    # A handful of reason combinations cover millions of rows: encode each once. Default
    # json.dumps settings, as SQLAlchemy's JSON type writes them, so texts compare equal.
    encoded: dict[tuple[str, ...], str] = {}

    def reasons(codes: tuple[str, ...]) -> str:
        text = encoded.get(codes)
        if text is None:
            text = encoded[codes] = json.dumps(list(codes))
        return text

    conn = session.connection()
    if not postgres:
        marks = ", ".join("?" * len(_COLUMNS))
        conn.exec_driver_sql(f"INSERT INTO temp.grade_stage VALUES ({marks})",
                             [(*r[:6], reasons(r.reasons), *r[7:]) for r in rows])
        return
    raw: Any = conn.connection.driver_connection
    cols = ", ".join(_COLUMNS)
    with raw.cursor() as cur, cur.copy(f"COPY grade_stage ({cols}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row((*r[:6], reasons(r.reasons), *r[7:]))


# The change-feed consumer's cursor row (ConsumerCursor.name).
CURSOR = "records-feed"


def store_cursor(session: Session, seq: int, event_hash: str | None) -> None:
    """Moves the consumer's cursor to event `seq` (with its hash, ChangeEvent.hash) in the
    caller's grade-store transaction."""
    cursor = session.get(ConsumerCursor, CURSOR)
    now = datetime.now(UTC)
    if cursor is None:
        session.add(ConsumerCursor(name=CURSOR, seq=seq, hash=event_hash, updated_at=now))
    else:
        cursor.seq, cursor.hash, cursor.updated_at = seq, event_hash, now
