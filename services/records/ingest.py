"""Ingestion: validate, classify and store a batch of records in one transaction.

Idempotent on (source, source_record_id): the identical record again is a no-op; different
content from the owning department is a correction (the old version is kept); anyone else
gets ALREADY_EXISTS. A bad record is rejected on its own; the rest of the batch proceeds.
The batch is written with the engine's bulk path (COPY on PostgreSQL).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from credit.v1 import records_pb2
from services.common.auth import Principal
from services.common.db import bulk_insert, next_id
from services.common.errors import ServiceError
from services.records import departments
from services.records.models import AnnualReport, Entity, Record, RecordVersion
from services.records.rules import (
    Category,
    Classification,
    Context,
    LegalBasis,
    PriorRecord,
    RuleViolation,
    classify,
)
from services.records.rules.national import add_months
from services.records.store import Change, Store, now, publish
from services.records.submission import Invalid, SubjectIn, Submission, decode_submission

_RECORDS = Record.__table__
_ENTITIES = Entity.__table__
_VERSIONS = RecordVersion.__table__
# An unpublished 轻微 record still counts for this long (the 轻微 maximum, 国办发〔2025〕22号 二).
UNPUBLISHED_EFFECT_MONTHS = 3


@dataclass
class Result:
    index: int
    source_record_id: str
    outcome: str  # created | unchanged | corrected | rejected
    record_id: int | None = None
    entity_key: str = ""
    error: ServiceError | None = None
    record: dict[str, Any] | None = None


@dataclass
class _Existing:
    id: int
    department: str
    content_hash: str
    version: int
    entity_id: int
    row: dict[str, Any] | None = None


@dataclass
class Prepared:
    """A decoded batch: every record has its result; the valid ones await the writer."""

    results: list[Result]
    valid: list[tuple[Result, Submission]]


def ingest(store: Store, principal: Principal,
           batch: Sequence[records_pb2.RecordSubmission], *, base_index: int = 0) -> list[Result]:
    """Validates, classifies and stores `batch` in one transaction; a result per record."""
    return commit(store, principal, prepare(store, principal, batch, base_index=base_index))


def prepare(store: Store, principal: Principal, batch: Sequence[records_pb2.RecordSubmission],
            *, base_index: int = 0) -> Prepared:
    """Decodes and authorises a batch; needs no database, so it can overlap a write."""
    today = store.today()
    results: list[Result] = []
    valid: list[tuple[Result, Submission]] = []
    for i, pb in enumerate(batch):
        res = Result(base_index + i, pb.source_record_id, "rejected")
        results.append(res)
        try:
            sub = decode_submission(pb, store.protector, today)
        except Invalid as exc:
            res.error = ServiceError.invalid_argument(*exc.violations)
            continue
        res.entity_key = sub.subject.ref.key
        if not departments.may_write(principal, sub.source):
            res.error = ServiceError.permission_denied(
                f"{principal.name} may not submit {sub.source} records")
            continue
        valid.append((res, sub))
    return Prepared(results, valid)


def commit(store: Store, principal: Principal, prepared: Prepared) -> list[Result]:
    """Classifies and stores a prepared batch in one writer transaction."""
    if prepared.valid:
        with store.writer() as session:
            _write(session, principal, prepared.valid, None)
    return prepared.results


def write_batch(store: Store, session: Session, principal: Principal,
                batch: Sequence[records_pb2.RecordSubmission], *, note: str) -> list[Result]:
    """Ingests inside the caller's writer transaction (workflows that create records)."""
    prepared = prepare(store, principal, batch)
    if prepared.valid:
        _write(session, principal, prepared.valid, note)
    return prepared.results


def _write(session: Session, principal: Principal, valid: list[tuple[Result, Submission]],
           note: str | None) -> None:
    at = now()
    entities = _resolve_entities(session, [s.subject for _, s in valid], at)
    existing = _existing(session, [s for _, s in valid])
    history = _history(session, [e["id"] for e in entities.values()])
    reports = _annual_reports(session, [e["id"] for e in entities.values()
                                        if e["kind"] == "credit_service_agency"])
    record_id = next_id(session, _RECORDS)  # type: ignore[arg-type]
    new_rows: list[dict[str, Any]] = []
    corrections: list[tuple[_Existing, dict[str, Any]]] = []
    changes: list[Change] = []
    actor = principal.name
    for res, sub in valid:
        entity = entities[sub.subject.ref.key]
        key = (sub.source, sub.source_record_id)
        prior = existing.get(key)
        if problem := _entity_conflict(entity, sub):
            res.error = ServiceError.invalid_argument(problem)
            continue
        if prior is not None:
            if prior.content_hash == sub.content_hash:
                res.outcome, res.record_id = "unchanged", prior.id
                continue
            # Only the owning department reaches here (may_write), so a clash is an id reused
            # for another entity.
            if prior.entity_id != entity["id"]:
                res.error = ServiceError.already_exists(
                    f"record {sub.source}/{sub.source_record_id} already exists for another "
                    "entity")
                continue
        ctx = Context(
            decided_on=sub.decided_on,
            history=tuple(p for rid, p in history[entity["id"]]
                          if p.decided_on <= sub.decided_on and (prior is None or rid != prior.id)),
            entity_kind=entity["kind"],
            annual_reports=reports.get(entity["id"], frozenset()),
        )
        facts = sub.facts
        if sub.source == "credit_service_agency":
            # Art. 13 reports are due only for years the agency existed.
            facts = {**facts, "established_on": entity["established_on"]}
        try:
            cls = classify(sub.source, facts, ctx)
        except RuleViolation as exc:
            res.error = ServiceError.invalid_argument((_facts_path(sub.source, exc.field),
                                                       exc.reason))
            continue
        row = _row(sub, cls, entity["id"], at, note)
        if prior is None:
            row["id"] = record_id
            record_id += 1
            new_rows.append(row)
            res.outcome = "created"
            existing[key] = _Existing(row["id"], row["department"], sub.content_hash, 1,
                                      entity["id"], row)
        else:
            row["id"] = prior.id
            row["version"] = prior.version + 1
            row.pop("created_at")
            corrections.append((prior, row))
            res.outcome = "corrected"
            existing[key] = _Existing(prior.id, prior.department, sub.content_hash,
                                      row["version"], entity["id"], row)
        res.record_id, res.record = row["id"], row
        history[entity["id"]].append((row["id"], _prior(row)))
        changes.append(Change(
            sub.subject.ref.key, f"record_{res.outcome}", row["id"], actor, "record",
            str(row["id"]),
            {"source": sub.source, "source_record_id": sub.source_record_id,
             "content_hash": sub.content_hash, "category": row["category"],
             "source_level": row["source_level"], **({"note": note} if note else {})},
        ))
    bulk_insert(session, _RECORDS, new_rows)  # type: ignore[arg-type]
    _apply_corrections(session, corrections, actor, at)
    publish(session, changes, at)


def _facts_path(source: str, field: str) -> str:
    if field.startswith("entity."):
        return "record.subject." + field.removeprefix("entity.")
    if field == "publication_months":
        return "record.publication_months"
    return f"record.{source}.{field}"


def _entity_conflict(entity: dict[str, Any], sub: Submission) -> tuple[str, str] | None:
    if entity["kind"] != sub.subject.kind:
        return ("record.subject.kind",
                f"the entity is registered as {entity['kind']}, not {sub.subject.kind}")
    if sub.decided_on < entity["established_on"]:
        return ("record.decided_on",
                f"{sub.decided_on} is before the entity was established "
                f"({entity['established_on']})")
    return None


def _row(sub: Submission, cls: Classification, entity_id: int, at: datetime,
         note: str | None) -> dict[str, Any]:
    end = cls.publication_end
    if cls.listed and end is None:
        end = add_months(cls.publication_start, UNPUBLISHED_EFFECT_MONTHS)
    notes = list(cls.notes) + ([note] if note else [])
    return {
        "entity_id": entity_id,
        "source": sub.source,
        "source_record_id": sub.source_record_id,
        "department": departments.owner(sub.source),
        "version": 1,
        "content_hash": sub.content_hash,
        "decided_on": sub.decided_on,
        "decision_number": sub.decision_number,
        "summary": sub.summary,
        "violation": sub.violation,
        "facts": _jsonable(sub.facts),
        "listed": cls.listed,
        "source_level": cls.source_level,
        "category": cls.category.value if cls.category else None,
        "published": cls.published,
        "publication_start": cls.publication_start,
        "publication_end": end,
        "repair_eligible_from": cls.repair_eligible_from,
        "measures": _shared(cls.measures),
        "legal_basis": _basis(cls.legal_basis),
        "requirements": _shared(cls.repair_requirements),
        "notes": _shared(tuple(notes)),
        "repaired_on": None,
        "withdrawn_on": None,
        "disputed": False,
        "end_announced": False,
        "created_at": at,
        "updated_at": at,
    }


@lru_cache(maxsize=4096)
def _shared(items: tuple[str, ...]) -> list[str]:
    # One list object per distinct value, so the bulk writer encodes it once; never mutated.
    return list(items)


@lru_cache(maxsize=1024)
def _basis(items: tuple[LegalBasis, ...]) -> list[dict[str, Any]]:
    return [{"document": b.document, "provision": b.provision, "source_line": b.source_line,
             "citation": b.cite()} for b in items]


def _jsonable(facts: dict[str, Any]) -> dict[str, Any]:
    def conv(v: Any) -> Any:
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v
    return {k: conv(v) for k, v in facts.items()}


def _prior(row: dict[str, Any]) -> PriorRecord:
    return PriorRecord(
        source=row["source"], source_level=row["source_level"], violation=row["violation"],
        decided_on=row["decided_on"],
        category=Category(row["category"]) if row["category"] else None,
    )


def _resolve_entities(session: Session, subjects: list[SubjectIn],
                      at: datetime) -> dict[str, dict[str, Any]]:
    """Entity rows by key; unknown subjects are created from their first submission."""
    keys = {s.ref.key for s in subjects}
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(keys)):
        for row in session.execute(
            select(Entity.id, Entity.entity_key, Entity.kind, Entity.established_on)
            .where(Entity.entity_key.in_(chunk))
        ):
            found[row.entity_key] = dict(row._mapping)
    missing = [s for s in {s.ref.key: s for s in reversed(subjects)}.values()
               if s.ref.key not in found]
    if missing:
        first = next_id(session, _ENTITIES)  # type: ignore[arg-type]
        rows = [entity_row(s, first + i, at) for i, s in enumerate(missing)]
        bulk_insert(session, _ENTITIES, rows)  # type: ignore[arg-type]
        for r in rows:
            found[r["entity_key"]] = {k: r[k] for k in ("id", "entity_key", "kind",
                                                        "established_on")}
    return found


def entity_row(s: SubjectIn, entity_id: int, at: datetime) -> dict[str, Any]:
    return {
        "id": entity_id, "entity_key": s.ref.key, "kind": s.kind, "name": s.name,
        "display_id": s.ref.display_id, "region_code": s.region_code,
        "industry": s.industry, "established_on": s.established_on,
        "created_at": at, "updated_at": at,
    }


def _existing(session: Session, subs: list[Submission]) -> dict[tuple[str, str], _Existing]:
    out: dict[tuple[str, str], _Existing] = {}
    by_source: dict[str, list[str]] = defaultdict(list)
    for s in subs:
        by_source[s.source].append(s.source_record_id)
    for source, ids in by_source.items():
        for chunk in _chunks(ids):
            for r in session.execute(
                select(Record.id, Record.source_record_id, Record.department,
                       Record.content_hash, Record.version, Record.entity_id)
                .where(Record.source == source, Record.source_record_id.in_(chunk))
            ):
                out[(source, r.source_record_id)] = _Existing(
                    r.id, r.department, r.content_hash, r.version, r.entity_id)
    return out


def _history(session: Session, entity_ids: list[int]) -> dict[int, list[tuple[int, PriorRecord]]]:
    out: dict[int, list[tuple[int, PriorRecord]]] = defaultdict(list)
    for chunk in _chunks(entity_ids):
        for r in session.execute(
            select(Record.id, Record.entity_id, Record.source, Record.source_level,
                   Record.violation, Record.decided_on, Record.category)
            .where(Record.entity_id.in_(chunk), Record.listed.is_(True),
                   Record.withdrawn_on.is_(None))
        ):
            out[r.entity_id].append((r.id, PriorRecord(
                source=r.source, source_level=r.source_level, violation=r.violation,
                decided_on=r.decided_on, category=Category(r.category) if r.category else None)))
    return out


def _annual_reports(session: Session, entity_ids: list[int]) -> dict[int, frozenset[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for chunk in _chunks(entity_ids):
        for r in session.execute(select(AnnualReport.entity_id, AnnualReport.year)
                                 .where(AnnualReport.entity_id.in_(chunk))):
            out[r.entity_id].add(r.year)
    return {k: frozenset(v) for k, v in out.items()}


def _apply_corrections(session: Session, corrections: list[tuple[_Existing, dict[str, Any]]],
                       actor: str, at: datetime) -> None:
    if not corrections:
        return
    version_id = next_id(session, _VERSIONS)  # type: ignore[arg-type]
    for i, (prior, row) in enumerate(corrections):
        old = session.get(Record, prior.id)
        assert old is not None
        snapshot = {c.name: _jsonable({"v": getattr(old, c.name)})["v"]
                    for c in _RECORDS.columns if c.name not in ("created_at", "updated_at")}
        session.add(RecordVersion(id=version_id + i, record_id=prior.id, version=old.version,
                                  content_hash=old.content_hash, snapshot=snapshot,
                                  superseded_at=at, superseded_by=actor))
        session.flush()
        session.execute(update(Record).where(Record.id == prior.id)
                        .values({k: v for k, v in row.items() if k != "id"}))
        session.expire(old)


def _chunks(items: Sequence[Any], size: int = 900) -> list[Sequence[Any]]:
    # SQLite caps bound parameters per statement; keep IN lists well below it.
    return [items[i:i + size] for i in range(0, len(items), size)]
