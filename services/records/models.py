"""The records schema: entities, their dishonesty records, workflows and audit trail.

Ids are assigned by the writer under the service's writer lock (see services.common.db), so
they are dense and in commit order. The audit log is also the transactional outbox: every
change is one entry, written in the transaction that makes it, and its sequence number is the
change-feed cursor.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import service_metadata

SCHEMA = "records"

# SQLite only aliases rowid for INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


def _pk() -> Mapped[int]:
    return mapped_column(Id, primary_key=True, autoincrement=False)


def _entity_fk() -> Mapped[int]:
    return mapped_column(Id, ForeignKey("entities.id"), index=True)


class Entity(Base):
    __tablename__ = "entities"
    id: Mapped[int] = _pk()
    # USCC for organisations; "P" + HMAC-SHA256 of the resident ID for persons.
    entity_key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    # USCC, or the masked resident ID; never a clear personal ID.
    display_id: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    industry: Mapped[str] = mapped_column(String(1))
    established_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Record(Base):
    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("source", "source_record_id"),
        Index("ix_records_entity_decided", "entity_id", "decided_on"),
    )
    id: Mapped[int] = _pk()
    entity_id: Mapped[int] = mapped_column(Id, ForeignKey("entities.id"))
    source: Mapped[str] = mapped_column(String(32))
    source_record_id: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    # SHA-256 of the canonical submission: the identical record again is a no-op.
    content_hash: Mapped[str] = mapped_column(String(64))
    decided_on: Mapped[date] = mapped_column(Date)
    decision_number: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    violation: Mapped[str] = mapped_column(String(64))
    facts: Mapped[dict[str, Any]]
    listed: Mapped[bool] = mapped_column(Boolean)
    source_level: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(16))
    published: Mapped[bool] = mapped_column(Boolean)
    publication_start: Mapped[date] = mapped_column(Date)
    # Exclusive end of the period in force (also for unpublished 轻微 records).
    publication_end: Mapped[date | None] = mapped_column(Date)
    repair_eligible_from: Mapped[date] = mapped_column(Date)
    # Measures, legal basis and repair requirements: shared by many records, stored once.
    texts_id: Mapped[int] = mapped_column(Id, ForeignKey("rule_texts.id"))
    notes: Mapped[list[Any]]
    repaired_on: Mapped[date | None] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    disputed: Mapped[bool] = mapped_column(Boolean)
    # Set once the change feed announced the end of the publication period.
    end_announced: Mapped[bool] = mapped_column(Boolean, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RuleText(Base):
    """The texts a rule attaches to a record (measures, legal basis, repair requirements).

    A handful of combinations cover millions of records, so each is stored once.
    """

    __tablename__ = "rule_texts"
    id: Mapped[int] = _pk()
    # SHA-256 of the canonical JSON of the three lists.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    measures: Mapped[list[Any]]
    legal_basis: Mapped[list[Any]]
    requirements: Mapped[list[Any]]


class RecordVersion(Base):
    """A superseded version of a corrected record."""

    __tablename__ = "record_versions"
    id: Mapped[int] = _pk()
    record_id: Mapped[int] = mapped_column(Id, ForeignKey("records.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any]]
    superseded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    superseded_by: Mapped[str] = mapped_column(String(80))


class Repair(Base):
    __tablename__ = "repairs"
    id: Mapped[int] = _pk()
    record_id: Mapped[int] = mapped_column(Id, ForeignKey("records.id"), index=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    state: Mapped[str] = mapped_column(String(16))
    applied_on: Mapped[date] = mapped_column(Date)
    acceptance_due: Mapped[date] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    decision_due: Mapped[date | None] = mapped_column(Date)
    extended: Mapped[bool] = mapped_column(Boolean)
    decided_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    proof: Mapped[str] = mapped_column(Text)
    commitment_letter: Mapped[bool] = mapped_column(Boolean)


class Objection(Base):
    __tablename__ = "objections"
    id: Mapped[int] = _pk()
    record_id: Mapped[int] = mapped_column(Id, ForeignKey("records.id"), index=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str] = mapped_column(String(16))
    grounds: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))
    filed_on: Mapped[date] = mapped_column(Date)
    due: Mapped[date] = mapped_column(Date)
    resolved_on: Mapped[date | None] = mapped_column(Date)
    resolution: Mapped[str] = mapped_column(Text)


class Commitment(Base):
    __tablename__ = "commitments"
    id: Mapped[int] = _pk()
    entity_id: Mapped[int] = _entity_fk()
    department: Mapped[str] = mapped_column(String(40), index=True)
    source: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text)
    registered_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    resolved_on: Mapped[date | None] = mapped_column(Date)
    record_id: Mapped[int | None] = mapped_column(Id, ForeignKey("records.id"))


class Shield(Base):
    __tablename__ = "shields"
    id: Mapped[int] = _pk()
    entity_id: Mapped[int] = _entity_fk()
    department: Mapped[str] = mapped_column(String(40))
    court_ruling: Mapped[str] = mapped_column(String(200))
    started_on: Mapped[date] = mapped_column(Date)
    lifted_on: Mapped[date | None] = mapped_column(Date)


class AnnualReport(Base):
    __tablename__ = "annual_reports"
    __table_args__ = (UniqueConstraint("entity_id", "year"),)
    id: Mapped[int] = _pk()
    entity_id: Mapped[int] = mapped_column(Id, ForeignKey("entities.id"))
    year: Mapped[int] = mapped_column(Integer)
    filed_on: Mapped[date] = mapped_column(Date)


class AgencyRegistration(Base):
    __tablename__ = "agency_registrations"
    id: Mapped[int] = _pk()
    entity_id: Mapped[int] = mapped_column(Id, ForeignKey("entities.id"), unique=True)
    registered_on: Mapped[date] = mapped_column(Date)
    # Principals as entity keys of persons (keyed hashes) and their masked ids.
    principal_keys: Mapped[list[Any]]
    principal_display_ids: Mapped[list[Any]]
    staff_count: Mapped[int] = mapped_column(Integer)


class AuditEntry(Base):
    """Append-only, hash-chained: hash = SHA-256(prev_hash | seq | fields...).

    Also the transactional outbox of the change feed (WatchChanges reads it by seq; `action`
    is the event's kind). Until migration 0003 the feed had a table of its own, with the same
    sequence: each change wrote one row to each.
    """

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    entity_key: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(80))
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The record a change concerns (a repair's or objection's record, too), as the feed
    # reports it; not part of the hashed statement, which names its own object.
    record_id: Mapped[int | None] = mapped_column(BigInteger)
