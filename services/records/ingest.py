"""Ingestion: validate, classify and store a batch of records in one transaction.

Idempotent on (source, source_record_id): the identical record again is a no-op; different
content from the owning department is a correction (the old version is kept); anyone else
gets ALREADY_EXISTS. A bad record is rejected on its own; the rest of the batch proceeds.
The batch is written with the engine's bulk path (COPY on PostgreSQL).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import String, bindparam, func, select, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credit.v1 import records_pb2
from services.common.auth import Principal
from services.common.db import (
    bulk_insert,
    is_postgres,
    missing_ids,
    next_id,
    skip_row_reference_checks,
    where_in,
)
from services.common.errors import ServiceError
from services.records import departments
from services.records.audit import feed_tip
from services.records.models import (
    AnnualReport,
    AuditEntry,
    Entity,
    Record,
    RecordVersion,
    RuleText,
)
from services.records.rules import (
    Category,
    Classification,
    Context,
    LegalBasis,
    PriorRecord,
    RuleViolation,
    classify,
)
from services.records.rules.national import period_end
from services.records.store import Change, Store, now, publish
from services.records.submission import (
    Invalid,
    SubjectIn,
    Submission,
    decode_submission,
    legacy_content_hash,
)

_RECORDS = Record.__table__
_ENTITIES = Entity.__table__
_VERSIONS = RecordVersion.__table__
_TEXTS = RuleText.__table__
# An unpublished 轻微 record still counts for this long (the 轻微 maximum, 国办发〔2025〕22号 二).
UNPUBLISHED_EFFECT_MONTHS = 3


@dataclass(slots=True)  # one per record: slots make them cheaper to build
class Result:
    index: int
    source_record_id: str
    outcome: str  # created | unchanged | corrected | rejected
    record_id: int | None = None
    entity_key: str = ""
    error: ServiceError | None = None
    record: dict[str, Any] | None = None
    texts: RuleTexts | None = None


@dataclass(frozen=True)
class RuleTexts:
    """What a classification attaches to a record besides its own facts; shared, not copied."""

    measures: list[str]
    legal_basis: list[dict[str, Any]]
    requirements: list[str]
    digest: str


@lru_cache(maxsize=4096)
def rule_texts(measures: tuple[str, ...], basis: tuple[LegalBasis, ...],
               requirements: tuple[str, ...]) -> RuleTexts:
    basis_rows = [{"document": b.document, "provision": b.provision,
                   "source_line": b.source_line, "citation": b.cite()} for b in basis]
    lists = (list(measures), basis_rows, list(requirements))
    digest = hashlib.sha256(json.dumps(lists, ensure_ascii=False, sort_keys=True).encode())
    return RuleTexts(*lists, digest=digest.hexdigest())


@dataclass(slots=True)
class _Existing:
    id: int | None  # None: created earlier in the same batch, id assigned when written
    department: str
    content_hash: str
    version: int
    entity_key: str  # "": an entity outside the batch (see _existing)
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
    """Classifies and stores a prepared batch.

    The batch is planned (look-ups, classification, rows) on a read snapshot WITHOUT the
    writer lock, so several writers can plan at once; under the lock only the entities whose
    credit file changed since the snapshot (seen on the change feed) are planned again, then ids
    are assigned and rows written. A unique-key race falls back to planning under the lock.
    """
    if not prepared.valid:
        return prepared.results
    at = now()
    with store.sessions() as session:
        plan = _plan(session, prepared.valid, None, at, snapshot=True)
    try:
        with store.writer() as session:
            created = _apply(session, principal, plan, None, at, store.text_ids, bulk=True)
    except IntegrityError:
        # Another writer took one of our keys between snapshot and lock: redo it all locked.
        # Or a cached rule-text id has gone (a restored database): look them all up again.
        store.text_ids.clear()
        with store.writer() as session:
            created = _apply(session, principal, _plan(session, prepared.valid, None, at),
                             None, at, store.text_ids, bulk=True)
    store.text_ids.update(created)  # committed now, so safe to remember
    return prepared.results


def write_one(store: Store, session: Session, principal: Principal,
              record: records_pb2.RecordSubmission, *, note: str) -> Result:
    """Ingests one record inside the caller's writer transaction (workflows that create or
    correct a record); a rejection is raised as its ServiceError."""
    prepared = prepare(store, principal, [record])
    if prepared.valid:
        at = now()
        # Text ids created here commit with the caller's transaction; they are not cached.
        _apply(session, principal, _plan(session, prepared.valid, note, at), note, at,
               store.text_ids)
    result = prepared.results[0]
    if result.error is not None:
        raise result.error
    return result


@dataclass(slots=True)
class _Planned:
    res: Result
    sub: Submission
    row: dict[str, Any] | None = None  # None: rejected or unchanged
    prior: _Existing | None = None
    texts: RuleTexts | None = None


@dataclass
class _Plan:
    # Change-feed tip read before the snapshot; None when planned under the writer lock.
    snapshot_seq: int | None
    entities: dict[str, dict[str, Any]]  # by key; "id" None = to be created
    subjects: dict[str, SubjectIn]  # the first subject of each entity to create
    items: list[_Planned]


def _plan(session: Session, valid: list[tuple[Result, Submission]], note: str | None,
          at: datetime, *, snapshot: bool = False) -> _Plan:
    """Looks up and classifies `valid`; writes nothing."""
    snapshot_seq = None
    if snapshot:
        # Read first: any change committed after this is visible as a newer audit entry.
        snapshot_seq = feed_tip(session)
    subjects: dict[str, SubjectIn] = {}
    for _, sub in valid:
        subjects.setdefault(sub.subject.ref.key, sub.subject)
    entities = _lookup_entities(session, list(subjects))
    for key, subject in subjects.items():
        entities.setdefault(key, {"id": None, "entity_key": key, "kind": subject.kind,
                                  "established_on": subject.established_on})
    known = [e["id"] for e in entities.values() if e["id"] is not None]
    existing = _existing(session, [s for _, s in valid], entities)
    history = _history(session, known)
    reports = _annual_reports(session, [e["id"] for e in entities.values()
                                        if e["id"] is not None
                                        and e["kind"] == "credit_service_agency"])
    by_key: dict[str, list[tuple[int | tuple[str, str], PriorRecord]]] = {
        k: list(history.get(e["id"], ())) for k, e in entities.items()}
    items = [_plan_one(_Planned(res, sub), entities[sub.subject.ref.key], existing,
                       by_key[sub.subject.ref.key], reports, note, at)
             for res, sub in valid]
    return _Plan(snapshot_seq, entities,
                 {k: s for k, s in subjects.items() if entities[k]["id"] is None}, items)


def _plan_one(item: _Planned, entity: dict[str, Any],
              existing: dict[tuple[str, str], _Existing],
              history: list[tuple[int | tuple[str, str], PriorRecord]],
              reports: dict[int, frozenset[int]], note: str | None,
              at: datetime) -> _Planned:
    res, sub = item.res, item.sub
    res.outcome, res.error, res.record, res.record_id = "rejected", None, None, None
    key = (sub.source, sub.source_record_id)
    prior = existing.get(key)
    if problem := _entity_conflict(entity, sub):
        res.error = ServiceError.invalid_argument(problem)
        return item
    if prior is not None:
        if (prior.content_hash == sub.content_hash
                or prior.content_hash == legacy_content_hash(sub)):  # stored before v2
            res.outcome, item.prior = "unchanged", prior
            return item
        # Only the owning department reaches here (may_write), so a clash is an id reused
        # for another entity.
        if prior.entity_key != sub.subject.ref.key:
            res.error = ServiceError.already_exists(
                f"record {sub.source}/{sub.source_record_id} already exists for another entity")
            return item
    # A record's identity in `history`: its id, or for one first seen in this batch its
    # (source, source_record_id). A correction is classified without its own earlier version.
    ident: int | tuple[str, str] = key if prior is None or prior.id is None else prior.id
    ctx = Context(
        decided_on=sub.decided_on,
        history=tuple(p for rid, p in history
                      if p.decided_on <= sub.decided_on
                      and (prior is None or rid != ident)) if history else (),
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
        return item
    row = _row(sub, cls, entity["id"], at, note)
    texts = rule_texts(cls.measures, cls.legal_basis, cls.repair_requirements)
    item.row, item.prior, item.texts, res.texts = row, prior, texts, texts
    if prior is None:
        res.outcome = "created"
        existing[key] = _Existing(None, row["department"], sub.content_hash, 1,
                                  sub.subject.ref.key, row)
    else:
        row["version"] = prior.version + 1
        res.outcome = "corrected"
        existing[key] = _Existing(prior.id, prior.department, sub.content_hash,
                                  row["version"], sub.subject.ref.key, prior.row or row)
    res.record = row
    if prior is not None:  # the superseded version no longer counts for later records
        history[:] = [(rid, p) for rid, p in history if rid != ident]
    history.append((ident, PriorRecord(
        sub.source, cls.source_level, sub.violation, sub.decided_on, cls.category)))
    return item


def _apply(session: Session, principal: Principal, plan: _Plan, note: str | None,
           at: datetime, text_ids: dict[str, int], *, bulk: bool = False) -> dict[str, int]:
    """Writes a plan under the writer lock, first re-planning what went stale; returns the
    rule-text ids it created (valid once the transaction commits). `bulk`: the transaction
    is the batch's own, so its references may be checked per batch instead of per row."""
    if plan.snapshot_seq is not None:
        stale = _changed_since(session, plan.snapshot_seq, list(plan.entities))
        stale |= set(_lookup_entities(session, list(plan.subjects)))  # created meanwhile
        if stale:
            redo = [(it.res, it.sub) for it in plan.items if it.sub.subject.ref.key in stale]
            fresh = _plan(session, redo, note, at)
            replaced = iter(fresh.items)
            plan.items = [next(replaced) if it.sub.subject.ref.key in stale else it
                          for it in plan.items]
            plan.entities.update(fresh.entities)
            plan.subjects = {k: s for k, s in plan.subjects.items() if k not in stale}
            plan.subjects.update(fresh.subjects)
    if plan.subjects:
        first = next_id(session, _ENTITIES)  # type: ignore[arg-type]
        rows = [entity_row(s, first + i, at) for i, s in enumerate(plan.subjects.values())]
        bulk_insert(session, _ENTITIES, rows)  # type: ignore[arg-type]
        for r in rows:
            plan.entities[r["entity_key"]]["id"] = r["id"]
    created = _resolve_texts(session, [it.texts for it in plan.items if it.texts], text_ids)
    ids = {**text_ids, **created}
    record_id = next_id(session, _RECORDS)  # type: ignore[arg-type]
    new_rows: list[dict[str, Any]] = []
    corrections: list[tuple[int, dict[str, Any]]] = []
    for it in plan.items:
        if it.row is None:
            continue
        it.row["entity_id"] = plan.entities[it.sub.subject.ref.key]["id"]
        assert it.texts is not None
        it.row["texts_id"] = ids[it.texts.digest]
        if it.res.outcome == "created":
            it.row["id"] = record_id
            record_id += 1
            new_rows.append(it.row)
        else:
            assert it.prior is not None
            target = it.prior.id if it.prior.id is not None else it.prior.row["id"]  # type: ignore[index]
            it.row["id"] = target
            corrections.append((target, it.row))
    changes: list[Change] = []
    actor = principal.name
    for it in plan.items:
        res, sub = it.res, it.sub
        if res.outcome == "unchanged":
            assert it.prior is not None
            res.record_id = (it.prior.id if it.prior.id is not None
                             else it.prior.row["id"])  # type: ignore[index]
        if (row := it.row) is None:
            continue
        res.record_id = row["id"]
        changes.append(Change(sub.subject.ref.key, f"record_{res.outcome}", row["id"], actor,
                              "record", str(row["id"]), record_detail(sub, row, note)))
    if bulk and skip_row_reference_checks(session):
        _check_references(session, new_rows + [row for _, row in corrections])
    bulk_insert(session, _RECORDS, new_rows)  # type: ignore[arg-type]
    _apply_corrections(session, corrections, principal.name, at)
    publish(session, changes, at)
    return created


def _check_references(session: Session, rows: list[dict[str, Any]]) -> None:
    """What the skipped foreign-key triggers would have checked, for the whole batch at once:
    every entity and rule text the rows point at exists (ids come from look-ups and inserts
    under the writer lock, and the texts cache; a stale cache, say, is caught here)."""
    for table, column in ((_ENTITIES, "entity_id"), (_TEXTS, "texts_id")):
        if missing := missing_ids(session, table, {r[column] for r in rows}):  # type: ignore[arg-type]
            raise IntegrityError(f"records.{column} references missing rows",
                                 sorted(missing)[:10], Exception("dangling reference"))


def record_detail(sub: Submission, row: dict[str, Any], note: str | None
                  ) -> dict[str, Any] | str:
    """The audit detail of a stored record; without a note, its canonical JSON built directly
    (the generic encoder costs more than the rest of the audit entry)."""
    if note:
        return {"source": sub.source, "source_record_id": sub.source_record_id,
                "content_hash": sub.content_hash, "category": row["category"],
                "source_level": row["source_level"], "note": note}
    # Keys in canonical (sorted) order; the id and hash need no escaping (submission checks
    # the id's alphabet, the hash is hex), the rest goes through the JSON encoder once each.
    return (f'{{"category":{_json(row["category"])},"content_hash":"{sub.content_hash}",'
            f'"source":"{sub.source}","source_level":{_json(row["source_level"])},'
            f'"source_record_id":"{sub.source_record_id}"}}')


@lru_cache(maxsize=1024)
def _json(value: str | None) -> str:
    return json.dumps(value, ensure_ascii=False)


def _resolve_texts(session: Session, needed: list[RuleTexts],
                   known: dict[str, int]) -> dict[str, int]:
    """Ids of the rule texts not in `known`: found in the table, or inserted."""
    missing = {t.digest: t for t in needed if t.digest not in known}
    if not missing:
        return {}
    found: dict[str, int] = {}
    for cond in where_in(session, RuleText.digest, sorted(missing)):
        for row in session.execute(select(RuleText.id, RuleText.digest).where(cond)):
            found[row.digest] = row.id
    new = [t for d, t in missing.items() if d not in found]
    if new:
        first = next_id(session, _TEXTS)  # type: ignore[arg-type]
        rows: list[dict[str, Any]] = [
            {"id": first + i, "digest": t.digest, "measures": t.measures,
             "legal_basis": t.legal_basis, "requirements": t.requirements}
            for i, t in enumerate(new)]
        bulk_insert(session, _TEXTS, rows)  # type: ignore[arg-type]
        found.update({t.digest: first + i for i, t in enumerate(new)})
    return found


def _changed_since(session: Session, seq: int, keys: list[str]) -> set[str]:
    """Entities of `keys` with a change after `seq`: their credit file changed."""
    # Under the writer lock the tip cannot move, and sequence numbers have no gaps: the
    # changes since the snapshot are exactly (seq, tip], what other writers committed while
    # this batch was planned. Read by that closed range of the primary key, they are few and
    # the plan stays an index range scan however stale the statistics (an open `seq > :seq`
    # was planned as a scan of the whole log); filtering them by `= ANY(keys)` in SQL had the
    # planner estimate each of the batch's keys and probe the entity-key index for each.
    tip = feed_tip(session)
    if tip <= seq:
        return set()
    recent = session.execute(select(AuditEntry.entity_key).distinct()
                             .where(AuditEntry.seq > seq, AuditEntry.seq <= tip)).scalars()
    return set(recent).intersection(keys)


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
        end = period_end(cls.publication_start, UNPUBLISHED_EFFECT_MONTHS)
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
        "facts": sub.stored_facts,
        "listed": cls.listed,
        "source_level": cls.source_level,
        "category": cls.category.value if cls.category else None,
        "published": cls.published,
        "publication_start": cls.publication_start,
        "publication_end": end,
        "repair_eligible_from": cls.repair_eligible_from,
        "notes": _shared((*cls.notes, note) if note else cls.notes),
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


def _lookup_entities(session: Session, keys: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for cond in where_in(session, Entity.entity_key, sorted(keys)):
        for row in session.execute(
            select(Entity.id, Entity.entity_key, Entity.kind, Entity.established_on).where(cond)
        ):
            found[row.entity_key] = dict(row._mapping)
    return found


def entity_row(s: SubjectIn, entity_id: int, at: datetime) -> dict[str, Any]:
    return {
        "id": entity_id, "entity_key": s.ref.key, "kind": s.kind, "name": s.name,
        "display_id": s.ref.display_id, "region_code": s.region_code,
        "industry": s.industry, "established_on": s.established_on,
        "created_at": at, "updated_at": at,
    }


def _existing(session: Session, subs: list[Submission],
              entities: dict[str, dict[str, Any]]) -> dict[tuple[str, str], _Existing]:
    """Stored records under the batch's (source, source_record_id) keys. Their entity is
    named by key when it is one of the batch's `entities`, else "" (another entity): no join
    with the entities table, whose hash join the planner picks as the tables grow."""
    key_by_id = {e["id"]: k for k, e in entities.items() if e["id"] is not None}
    out: dict[tuple[str, str], _Existing] = {}
    by_source: dict[str, list[str]] = defaultdict(list)
    for s in subs:
        by_source[s.source].append(s.source_record_id)
    for source, ids in by_source.items():
        for query in _existing_queries(session, source, ids):
            for r in session.execute(query):
                out[(source, r.source_record_id)] = _Existing(
                    r.id, r.department, r.content_hash, r.version,
                    key_by_id.get(r.entity_id, ""))
    return out


def _existing_queries(session: Session, source: str, ids: list[str]) -> list[Any]:
    columns = (Record.id, Record.source_record_id, Record.department, Record.content_hash,
               Record.version, Record.entity_id)
    if not is_postgres(session):
        return [select(*columns).where(Record.source == source, cond)
                for cond in where_in(session, Record.source_record_id, ids)]
    # One unique-index probe per id, whatever the statistics say: with `= ANY(ids)` and
    # statistics older than the last bulk load, the planner scans every index entry of the
    # source and filters (per batch, so ingestion slowed down as the table grew).
    wanted = (func.unnest(bindparam("ids", ids, type_=ARRAY(String))).table_valued("v")
              .render_derived(name="wanted"))
    probe = (select(*columns).where(Record.source == source,
                                    Record.source_record_id == wanted.c.v)
             .limit(1).lateral())
    return [select(probe).select_from(wanted).join(probe, true())]


def _history(session: Session, entity_ids: list[int]) -> dict[int, list[tuple[int, PriorRecord]]]:
    """Stored records of the entities, unlisted ones included, as the batch's own history has
    them: an HR 免予 / 不予处罚 is unlisted yet rules out a later first-offence exemption
    (吉人社规〔2024〕4号 第九条). Each rule picks what it counts (category None = unlisted)."""
    out: dict[int, list[tuple[int, PriorRecord]]] = defaultdict(list)
    for cond in where_in(session, Record.entity_id, entity_ids):
        for r in session.execute(
            select(Record.id, Record.entity_id, Record.source, Record.source_level,
                   Record.violation, Record.decided_on, Record.category)
            .where(cond, Record.withdrawn_on.is_(None))
        ):
            out[r.entity_id].append((r.id, PriorRecord(
                source=r.source, source_level=r.source_level, violation=r.violation,
                decided_on=r.decided_on, category=Category(r.category) if r.category else None)))
    return out


def _annual_reports(session: Session, entity_ids: list[int]) -> dict[int, frozenset[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for cond in where_in(session, AnnualReport.entity_id, entity_ids):
        for r in session.execute(select(AnnualReport.entity_id, AnnualReport.year)
                                 .where(cond)):
            out[r.entity_id].add(r.year)
    return {k: frozenset(v) for k, v in out.items()}


def _apply_corrections(session: Session, corrections: list[tuple[int, dict[str, Any]]],
                       actor: str, at: datetime) -> None:
    if not corrections:
        return
    session.flush()
    version_id = next_id(session, _VERSIONS)  # type: ignore[arg-type]
    for i, (record_id, row) in enumerate(corrections):
        old = session.get(Record, record_id)
        assert old is not None
        snapshot = {c.name: _jsonable({"v": getattr(old, c.name)})["v"]
                    for c in _RECORDS.columns if c.name not in ("created_at", "updated_at")}
        session.add(RecordVersion(id=version_id + i, record_id=record_id, version=old.version,
                                  content_hash=old.content_hash, snapshot=snapshot,
                                  superseded_at=at, superseded_by=actor))
        session.flush()
        # A correction changes what was found, not what happened to the finding since:
        # a repair, a withdrawal or an open objection stays, and an announced end stays
        # announced unless the period's end moved.
        kept = {"repaired_on": old.repaired_on, "withdrawn_on": old.withdrawn_on,
                "disputed": old.disputed,
                "end_announced": old.end_announced
                and old.publication_end == row["publication_end"]}
        session.execute(update(Record).where(Record.id == record_id).values(
            {**{k: v for k, v in row.items() if k not in ("id", "created_at")}, **kept}))
        session.expire(old)
