"""Rows → protobuf messages, including the 两书同达 repair notice text."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from credit.v1 import common_pb2, records_pb2
from services.common.codes import region_only
from services.common.workdays import WorkCalendar
from services.records import models, workflows
from services.records.ingest import RuleTexts
from services.records.queries import CreditFile, RecordView
from services.records.submission import KIND_ENUM, SOURCE_ENUM

CATEGORY_ENUM: dict[str, Any] = {
    "minor": common_pb2.CATEGORY_MINOR,
    "general": common_pb2.CATEGORY_GENERAL,
    "serious": common_pb2.CATEGORY_SERIOUS,
}
CATEGORY_NAMES = {v: k for k, v in CATEGORY_ENUM.items()}
CATEGORY_CN = {"minor": "轻微", "general": "一般", "serious": "严重"}
STATUS_ENUM = {
    "active": records_pb2.RECORD_STATUS_ACTIVE,
    "expired": records_pb2.RECORD_STATUS_EXPIRED,
    "repaired": records_pb2.RECORD_STATUS_REPAIRED,
    "withdrawn": records_pb2.RECORD_STATUS_WITHDRAWN,
    "not_listed": records_pb2.RECORD_STATUS_NOT_LISTED,
    "pending": records_pb2.RECORD_STATUS_PENDING,
}
STATUS_NAMES = {v: k for k, v in STATUS_ENUM.items()}
OUTCOME_ENUM = {
    "created": records_pb2.OUTCOME_CREATED,
    "unchanged": records_pb2.OUTCOME_UNCHANGED,
    "corrected": records_pb2.OUTCOME_CORRECTED,
    "rejected": records_pb2.OUTCOME_REJECTED,
}


def iso(value: date | datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def legal_basis(items: list[dict[str, Any]]) -> list[common_pb2.LegalBasis]:
    return [common_pb2.LegalBasis(document=b["document"], provision=b["provision"],
                                  source_line=b["source_line"], citation=b["citation"])
            for b in items]


def entity(e: models.Entity) -> common_pb2.Entity:
    return common_pb2.Entity(
        entity_key=e.entity_key, kind=KIND_ENUM[e.kind], name=e.name, display_id=e.display_id,
        region_code=e.region_code, industry=e.industry, established_on=iso(e.established_on))


def mask_person_name(name: str) -> str:
    """张三 → 张*: the public view keeps a person's surname only."""
    return name[:1] + "*" * max(1, len(name) - 1)


def fill_record(out: records_pb2.Record, v: RecordView, *, public: bool = False) -> None:
    """Writes a record into `out` (e.g. an element of a file's records): built in place, a
    large file's records are not copied into it again."""
    r = v.record
    person = public and v.entity_kind == "person"
    out.record_id = str(r.id)
    out.entity_key = "" if person else v.entity_key
    out.source = SOURCE_ENUM[r.source]
    out.source_record_id = r.source_record_id
    out.department = r.department
    out.version = r.version
    out.decided_on = iso(r.decided_on)
    out.decision_number = r.decision_number
    out.summary = "" if person else r.summary
    out.violation = r.violation
    out.source_level = r.source_level
    out.category = CATEGORY_ENUM.get(r.category or "", 0)
    out.listed = r.listed
    out.published = r.published
    out.publication_start = iso(r.publication_start)
    out.publication_end = iso(r.publication_end) if r.published else ""
    out.repair_eligible_from = iso(r.repair_eligible_from)
    out.MergeFrom(_rule_part(v.measures, v.legal_basis))
    if not public:
        out.notes.extend(_notes(r.notes))
        out.facts_json = _facts_json(r.facts)
    out.status = STATUS_ENUM[v.status]
    out.disputed = r.disputed
    out.shielded = bool(v.shielded)
    out.repaired_on = iso(r.repaired_on)
    out.withdrawn_on = iso(r.withdrawn_on)
    out.entity_name = mask_person_name(v.entity_name) if person else v.entity_name
    out.entity_display_id = (region_only(v.entity_display_id) if person
                             else v.entity_display_id)
    out.region_code = v.region_code
    out.industry = v.industry


# A rule text's measures and legal basis as a message, by the identity of the texts' lists:
# the read side keeps one list per rule text, shared by all its records (queries.rule_texts),
# and holding it here keeps its id from being reused while cached.
_RULE_PARTS: dict[int, tuple[list[str], list[dict[str, Any]], records_pb2.Record]] = {}


def _rule_part(measures: list[str], basis: list[dict[str, Any]]) -> records_pb2.Record:
    hit = _RULE_PARTS.get(id(basis))
    if hit is None or hit[0] is not measures or hit[1] is not basis:
        if len(_RULE_PARTS) > 4096:  # rule texts are few; bound it anyway
            _RULE_PARTS.clear()
        part = records_pb2.Record(measures=measures, legal_basis=legal_basis(basis))
        hit = _RULE_PARTS[id(basis)] = (measures, basis, part)
    return hit[2]


@lru_cache(maxsize=4096)
def _facts_json(stored: str) -> str:
    """A record's facts as clients get them: one canonical JSON text (sorted keys, UTF-8),
    whatever the stored text's form (its key order and escapes depend on the engine and on
    the write path); computed once per distinct stored text, since facts repeat."""
    return json.dumps(json.loads(stored), ensure_ascii=False, sort_keys=True)


@lru_cache(maxsize=4096)
def _notes(text: str | None) -> tuple[str, ...]:
    """A record's notes from their JSON text; records of one rule share the same notes."""
    return tuple(json.loads(text)) if text else ()


def repair_notice(row: dict[str, Any], texts: RuleTexts) -> records_pb2.RepairNotice:
    notice = records_pb2.RepairNotice()
    fill_repair_notice(notice, row, texts)
    return notice


def fill_repair_notice(notice: records_pb2.RepairNotice, row: dict[str, Any],
                       texts: RuleTexts, *, brief: bool = False) -> None:
    """Writes a listed record's notice into `notice` (e.g. a field of a stream result);
    `brief`: without measures and legal basis (RESULT_VIEW_BRIEF)."""
    start, repair_from = row["publication_start"].isoformat(), row["repair_eligible_from"]
    end = row["publication_end"].isoformat() if row["published"] else ""
    # Everything but the dates repeats across records: copy a prebuilt message and text.
    head, tail = _notice_base(texts, row["category"], row["source_level"], brief, notice)
    notice.published = row["published"]
    notice.publication_start = start
    notice.publication_end = end
    notice.repair_eligible_from = repair_from = repair_from.isoformat()
    # The last day of publication, as a notice states it (publication_end is exclusive).
    last = (row["publication_end"] - timedelta(days=1)).isoformat() if end else ""
    period = f"自{start}起公示至{last}" if end else "不予公示"
    notice.text = f"{head}{period}。自{repair_from}{tail}"


_NOTICE_BASES: dict[tuple[str, str, str, bool],
                    tuple[records_pb2.RepairNotice, str, str]] = {}


def _notice_base(texts: RuleTexts, category: str, level: str, brief: bool,
                 into: records_pb2.RepairNotice) -> tuple[str, str]:
    """Copies the shared part of a notice into `into`; returns the text around the dates."""
    key = (texts.digest, category, level, brief)
    base = _NOTICE_BASES.get(key)
    if base is None:
        if len(_NOTICE_BASES) > 4096:  # rule editions and levels are few; bound it anyway
            _NOTICE_BASES.clear()
        message = records_pb2.RepairNotice(
            requirements=texts.requirements, category=CATEGORY_ENUM[category],
            source_level=level)
        if not brief:
            message.measures.extend(texts.measures)
            message.legal_basis.extend(legal_basis(texts.legal_basis))
        base = _NOTICE_BASES[key] = (
            message,
            f"信用修复告知书：你（单位）的失信信息已认定为{CATEGORY_CN[category]}失信信息"
            f"（{level}），",
            f"起可申请信用修复，申请材料：{'、'.join(texts.requirements)}。修复申请由认定部门"
            "办理（谁认定、谁修复），可通过“信用中国”网站或直接向认定部门提出。")
    into.CopyFrom(base[0])
    return base[1], base[2]


def repair(r: models.Repair, calendar: WorkCalendar) -> records_pb2.Repair:
    return records_pb2.Repair(
        repair_id=str(r.id), record_id=str(r.record_id), department=r.department, state=r.state,
        applied_on=iso(r.applied_on), acceptance_due=iso(r.acceptance_due),
        accepted_on=iso(r.accepted_on), decision_due=iso(r.decision_due), extended=r.extended,
        decided_on=iso(r.decided_on), reason=r.reason, proof=r.proof,
        commitment_letter=r.commitment_letter,
        # Computed on read: a year the calendar no longer knows blanks it, not the whole file.
        response_due=iso(workflows.response_due(calendar, r)))


def objection(o: models.Objection) -> records_pb2.Objection:
    return records_pb2.Objection(
        objection_id=str(o.id), record_id=str(o.record_id), department=o.department,
        target=o.target, grounds=o.grounds, state=o.state, filed_on=iso(o.filed_on),
        due=iso(o.due), resolved_on=iso(o.resolved_on), resolution=o.resolution)


def commitment(c: models.Commitment, entity_key: str) -> records_pb2.Commitment:
    return records_pb2.Commitment(
        commitment_id=str(c.id), entity_key=entity_key, department=c.department,
        content=c.content, registered_on=iso(c.registered_on), due_on=iso(c.due_on),
        state=c.state, resolved_on=iso(c.resolved_on),
        record_id=str(c.record_id) if c.record_id else "")


def shield(s: models.Shield, entity_key: str) -> records_pb2.Shield:
    return records_pb2.Shield(
        shield_id=str(s.id), entity_key=entity_key, department=s.department,
        court_ruling=s.court_ruling, started_on=iso(s.started_on), lifted_on=iso(s.lifted_on),
        state="lifted" if s.lifted_on else "active")


def annual_report(a: models.AnnualReport, entity_key: str) -> records_pb2.AnnualReport:
    return records_pb2.AnnualReport(
        entity_key=entity_key, year=a.year, filed_on=iso(a.filed_on),
        late=a.filed_on > date(a.year + 1, 6, 30))


def credit_file(f: CreditFile, calendar: WorkCalendar) -> records_pb2.CreditFile:
    key = f.entity.entity_key
    out = records_pb2.CreditFile(
        entity=entity(f.entity), as_of=iso(f.as_of),
        repairs=[repair(r, calendar) for r in f.repairs],
        objections=[objection(o) for o in f.objections],
        commitments=[commitment(c, key) for c in f.commitments],
        shields=[shield(s, key) for s in f.shields],
        annual_reports=[annual_report(a, key) for a in f.annual_reports],
        audit=[records_pb2.AuditEntry(seq=a.seq, at=iso(a.at), actor=a.actor, action=a.action,
                                      object_type=a.object_type, object_id=a.object_id,
                                      detail_json=a.detail, hash=a.hash) for a in f.audit],
    )
    add = out.records.add
    for v in f.records:
        fill_record(add(), v)
    return out
