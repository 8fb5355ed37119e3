"""The scoring schema: the current grade of every entity, its history and feed cursors.

The scoring service owns this schema (PostgreSQL schema `scoring`, or its own SQLite file);
it only reads the records database. Region and industry are not copied here: the gateway
joins records for them, so they can never go stale in two places.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Date, DateTime, Float, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import service_metadata

SCHEMA = "scoring"

# SQLite only aliases rowid (and autoincrements) for INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")
# JSONB on PostgreSQL: it has equality, which the bulk upsert uses to skip unchanged rows.
Json = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)
    type_annotation_map: ClassVar[dict[Any, Any]] = {list[Any]: Json}


class Grade(Base):
    """The current grade of one entity; rewritten only when its content changes."""

    __tablename__ = "grades"
    entity_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    # The records id, so that bulk jobs can join by integer (ids are never reused).
    entity_id: Mapped[int] = mapped_column(BigInteger, index=True)
    grade: Mapped[str] = mapped_column(String(1))
    score: Mapped[float] = mapped_column(Float)
    score_grade: Mapped[str] = mapped_column(String(1))
    decided_by: Mapped[str] = mapped_column(String(40))
    # Up to 4 reason codes (characteristic names), largest points lost first.
    reasons: Mapped[list[Any]]
    model_version: Mapped[str] = mapped_column(String(100))
    policy_version: Mapped[str] = mapped_column(String(100))
    # Of the evaluation that produced the current content (an identical re-grade keeps them).
    as_of: Mapped[date] = mapped_column(Date)
    graded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cause: Mapped[str] = mapped_column(String(40))  # "bulk", "event:<kind>", ...


class GradeHistory(Base):
    """Appended whenever an entity's grade or score changes (its first grade included), so
    a grade is never silently overwritten."""

    __tablename__ = "grade_history"
    __table_args__ = (Index("ix_grade_history_entity", "entity_key", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    entity_key: Mapped[str] = mapped_column(String(80))
    previous_grade: Mapped[str | None] = mapped_column(String(1))  # None: first grade
    grade: Mapped[str] = mapped_column(String(1))
    score: Mapped[float] = mapped_column(Float)
    cause: Mapped[str] = mapped_column(String(40))
    model_version: Mapped[str] = mapped_column(String(100))
    policy_version: Mapped[str] = mapped_column(String(100))
    as_of: Mapped[date] = mapped_column(Date)
    graded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsumerCursor(Base):
    """How far a consumer of the records change feed (outbox seq) has applied it."""

    __tablename__ = "consumer_cursor"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
