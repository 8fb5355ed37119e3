"""The scoring schema: the current grade of every entity, its history and feed cursors.

The scoring service owns this schema (PostgreSQL schema `scoring`, or its own SQLite file);
it only reads the records database. The entity attributes the tiered lists filter on (kind,
name, region, industry, the sources with records in force) are copied into each grade row
when it is graded: the lists and draws then need no cross-database join, and every change to
an entity's file re-grades it through the change feed, which refreshes the copy.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
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
    # The tiered list pages by (grade, region_code, entity_key), one range per grade.
    __table_args__ = (Index("ix_grades_grade_region_key", "grade", "region_code", "entity_key"),)
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
    # Copied from the records entity when graded (see the module docstring).
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    display_id: Mapped[str] = mapped_column(String(32))  # masked for persons
    region_code: Mapped[str] = mapped_column(String(6))
    industry: Mapped[str] = mapped_column(String(1))
    # Bit i set: records in force from features.SOURCES[i].
    sources: Mapped[int] = mapped_column(Integer)


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
    """How far a consumer of the records change feed (the records audit seq) has applied it."""

    __tablename__ = "consumer_cursor"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    # The audit-chain hash of the event at `seq` (ChangeEvent.hash): the feed checks it on
    # resume, so a restored records database cannot pass for the one the cursor was taken on.
    hash: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InspectionPlanRow(Base):
    """A stored 双随机 plan: its published document is what anyone recomputes."""

    __tablename__ = "inspection_plans"
    __table_args__ = (UniqueConstraint("department", "request_id"),
                      Index("ix_inspection_plans_department", "department", "seq"))
    # Orders plans (the previous plan of a department is its highest seq below).
    seq: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(String(40), unique=True)
    department: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the draw request, to tell a retry from a reused request id.
    request_hash: Mapped[str] = mapped_column(String(64))
    task_name: Mapped[str] = mapped_column(String(200))
    task_date: Mapped[date] = mapped_column(Date)
    plan_hash: Mapped[str] = mapped_column(String(64))
    previous_plan_id: Mapped[str | None] = mapped_column(String(40))
    document: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The document's randomly drawn keys, which the yearly cap counts without parsing it.
    random_keys: Mapped[list[str] | None] = mapped_column(JSON)


class InspectionResultRow(Base):
    """The published outcome (一公开) of one planned inspection."""

    __tablename__ = "inspection_results"
    plan_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("inspection_plans.plan_id"), primary_key=True)
    entity_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    inspected_on: Mapped[date] = mapped_column(Date)
    record_id: Mapped[str | None] = mapped_column(String(40))
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
