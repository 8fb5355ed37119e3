"""The records store: one object that owns the engine, the clock and the write path helpers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from services.common.codes import PersonalIdProtector, china_today
from services.common.db import (
    make_engine,
    migrate,
    read_session,
    session_factory,
    snapshot_read,
    writer,
)
from services.common.workdays import WorkCalendar, default_calendar
from services.records import audit
from services.records.audit import Change as Change  # publish() takes them: re-exported
from services.records.models import SCHEMA, Entity

MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")
# A throwaway key for tools that read but never hash (e.g. audit verification).
_READ_ONLY_KEY = b"\0" * 32


@dataclass
class Store:
    engine: Engine
    protector: PersonalIdProtector
    calendar: WorkCalendar
    clock: Callable[[], date] = field(default=china_today)
    # Committed rule-text ids by digest (see ingest.rule_texts); per store, per database.
    text_ids: dict[str, int] = field(default_factory=dict)
    _factory: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self._factory = session_factory(self.engine)

    def today(self) -> date:
        return self.clock()

    def sessions(self) -> AbstractContextManager[Session]:
        """A session for reads (see read_session): writes go through `writer`."""
        return read_session(self._factory)

    def snapshot(self, read: Callable[[Session], T]) -> T:
        """`read(session)` on one read-only snapshot, its statements prepared (see
        snapshot_read): for the credit file, read by key many times a second and consistent
        in itself."""
        return snapshot_read(self._factory, read)

    def writer(self) -> AbstractContextManager[Session]:
        """A write transaction holding the records writer lock (see services.common.db)."""
        return writer(self._factory, "credit.records.writer")


def open_store(url: str, *, pii_key: bytes = _READ_ONLY_KEY, migrate_schema: bool = True,
               calendar: WorkCalendar | None = None, clock: Callable[[], date] | None = None,
               pool_size: int = 10) -> Store:
    engine = make_engine(url, SCHEMA, pool_size=pool_size)
    clock = clock or china_today
    if migrate_schema:
        migrate(engine, MIGRATIONS, SCHEMA, today=clock())
    return Store(engine, PersonalIdProtector(pii_key), calendar or default_calendar(), clock)


def now() -> datetime:
    return datetime.now(UTC)


def publish(session: Session, changes: Sequence[Change], at: datetime | None = None) -> None:
    """Writes the audit entries for `changes`, inside the caller's writer: in the same
    transaction as the changes, so the audit log is also the change feed's outbox."""
    audit.append(session, changes, at or now())


_ENTITY_BY_KEY = select(Entity).where(Entity.entity_key == bindparam("key"))


def entity_by_key(session: Session, key: str) -> Entity | None:
    return session.execute(_ENTITY_BY_KEY, {"key": key}).scalar_one_or_none()
